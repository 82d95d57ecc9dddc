"""Symmetry reduction: one state per orbit, by fingerprinting a canonical representative.

A spec declares interchangeable ids: a plain spec with `param(..., symmetric=True)` (the param's
elements, or range(n) for an int), an actor spec with `Node(symmetric="tag")` (nodes of one class
with one tag). Permuting the ids of a group maps reachable states to reachable states; the engine
keeps one state per orbit of that permutation group.

A permutation renames, everywhere in the state, every value equal to an id (dict keys, dict values,
tuple/list/set items, fields of frozen dataclasses such as messages), and for actors moves each
node's fields (`p1.state` -> `p2.state`). Int ids (range(n) from `n = param(3, symmetric=True)`)
cannot be told from counters, so they are renamed only as keys of dict fields: a spec that stores an
int id as a value must use string ids instead. The canonical representative is exact (a function of the
orbit only): ids are sorted by their profile (what each id's own entries hold, with ids inside
replaced by a placeholder); when ids also appear in values, every order of the ids whose profiles
tie is tried and the smallest fingerprint wins. Search engines use `SymmetricFingerprinter` in place
of `Fingerprinter`: the frontier keeps real states, dedup is by the canonical fingerprint, and a trace
is rebuilt by picking, at each step, the successor whose canonical fingerprint is next on the path,
so traces are real executions. This is the interpreted engine's form; the batched engine fingerprints
orbits of whole candidate batches with numpy (engine/batch_symmetry.py): the same renamings, so the
same orbits and counts, through another canonical form.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any

from ..dsl.values import FrozenDict, FrozenList, FrozenSet, stable_hash
from ..errors import UsageError
from .fingerprint import Fingerprinter

_ID = ("\x00symmetric-id",)  # what an id looks like inside a profile
MAX_TIE_PERMUTATIONS = 40320  # 8!: more orders of tied ids than this is refused with a clear message


def declares_symmetry(model: Any) -> bool:
    """True when the spec marks any param or node as interchangeable (even a group of one)."""
    nodes = getattr(model, "_base", {}).get("_node_options") or {}
    if any(getattr(node, "symmetric", None) for node in nodes.values()):
        return True
    spec_cls = getattr(model, "spec_cls", None)
    return any(getattr(p, "symmetric", False) for p in getattr(spec_cls, "_param_defs", {}).values())


def symmetry_groups(model: Any) -> list[tuple[Any, ...]]:
    """Returns the groups of two or more interchangeable ids a model declares (empty when none)."""
    groups: list[tuple[Any, ...]] = []
    nodes = getattr(model, "_base", {}).get("_node_options")
    if nodes:  # actors: Node(symmetric="tag"), grouped by tag and class
        by_tag: dict[tuple[str, type], list[str]] = {}
        for nid, node in nodes.items():
            tag = getattr(node, "symmetric", None)
            if tag:
                by_tag.setdefault((tag, type(node)), []).append(nid)
        groups += [tuple(ids) for ids in by_tag.values() if len(ids) > 1]
    spec_cls = getattr(model, "spec_cls", None)
    for name, p in getattr(spec_cls, "_param_defs", {}).items():
        if getattr(p, "symmetric", False):
            v = model.params[name]
            ids = tuple(range(v)) if isinstance(v, int) and not isinstance(v, bool) else tuple(v)
            if len(ids) > 1:
                groups.append(ids)
    return groups


class SymmetricFingerprinter:
    """Fingerprints of canonical representatives: `of` and `update` as `Fingerprinter` has them."""

    def __init__(self, model: Any, groups: list[tuple[Any, ...]]):
        self.fields = tuple(model.fields)
        self.base = Fingerprinter(self.fields)
        self.salts = self.base.salts
        self.groups = groups
        self.id_set = {x for g in groups for x in g}
        # int ids (n = param(3, symmetric=True) -> 0..n-1) cannot be told from counters inside values:
        # they are renamed only where they are keys of a dict field
        self.keys_only = any(type(x) is int for x in self.id_set)
        # actors: the fields each id owns ("p1.state"), in one suffix order shared by its group
        self.owned: list[dict[Any, tuple[int, ...]] | None] = []
        index = {f: i for i, f in enumerate(self.fields)}
        for g in groups:
            if all(isinstance(x, str) for x in g) and any(f.startswith(f"{g[0]}.") for f in self.fields):
                suffixes = [f[len(g[0]) + 1:] for f in self.fields if f.startswith(f"{g[0]}.")]
                self.owned.append({x: tuple(index[f"{x}.{s}"] for s in suffixes) for x in g})
            else:
                self.owned.append(None)
        self.owned_fields = {i for o in self.owned if o for t in o.values() for i in t}
        self._has_ids: dict[tuple[type, Any], bool] = {}  # value -> does it hold an id anywhere
        self._abs: dict[tuple[type, Any], Any] = {}  # value -> its profile form
        self._fp_cache: dict[tuple, int] = {}  # state -> canonical fingerprint (states recur often)

    # ------------------------------------------------------------------ Fingerprinter's interface
    def of(self, state: tuple) -> int:
        c = self._fp_cache
        fp = c.get(state)
        if fp is None:
            if len(c) > 500_000:
                c.clear()
            fp = c[state] = self.base.of(self.canonical(state))
        return fp

    def update(self, fp: int, old: tuple, new: tuple) -> int:
        return self.of(new)

    # ------------------------------------------------------------------ canonical representative
    def canonical(self, state: tuple) -> tuple:
        """Returns the representative of the state's orbit."""
        for gi, g in enumerate(self.groups):
            state = self._canon_group(state, gi, g)
        return state

    def _abstract(self, v: Any) -> Any:
        if self.keys_only:
            return v
        k = (type(v), v)
        r = self._abs.get(k)
        if r is None:
            if len(self._abs) > 200_000:
                self._abs.clear()
            r = self._abs[k] = _abstract(v, self.id_set)
        return r

    def _holds_ids(self, v: Any) -> bool:
        t = type(v)
        if t is bool or v is None:
            return False
        k = (t, v)
        r = self._has_ids.get(k)
        if r is None:
            if len(self._has_ids) > 200_000:
                self._has_ids.clear()
            r = self._has_ids[k] = _contains(v, self.id_set)
        return r

    def _profile(self, state: tuple, gi: int, x: Any) -> Any:
        owned = self.owned[gi]
        ab = self._abstract
        if owned is not None:
            return tuple(ab(state[i]) for i in owned[x])
        out = []
        for i, v in enumerate(state):
            if type(v) is FrozenDict and x in v:
                out.append((i, ab(v[x])))
        return tuple(out)

    def _canon_group(self, state: tuple, gi: int, g: tuple) -> tuple:
        keyed = [(stable_hash(self._profile(state, gi, x)), k) for k, x in enumerate(g)]
        keyed.sort()
        # ids whose profiles tie form blocks; any order within a block is equally canonical unless
        # ids also occur in values (messages, sets of ids, a leader field): then try them all
        blocks: list[list[int]] = []
        prev = None
        for h, k in keyed:
            if h != prev:
                blocks.append([])
                prev = h
            blocks[-1].append(k)
        order = [k for b in blocks for k in b]
        first = self._apply(state, gi, g, order)
        ties = [b for b in blocks if len(b) > 1]
        if not ties or not self._ids_in_values(state, gi, g):
            return first
        n = math.prod(math.factorial(len(b)) for b in ties)
        if n > MAX_TIE_PERMUTATIONS:
            raise UsageError(f"--symmetry: {n:,} orders of interchangeable ids {list(g)} would have to be tried "
                             f"for one state (ids that look alike also appear inside values)",
                             hint="run without --symmetry, or with fewer interchangeable nodes")
        best, best_fp = first, self.base.of(first)
        for choice in itertools.product(*[itertools.permutations(b) for b in blocks]):
            cand = self._apply(state, gi, g, [k for b in choice for k in b])
            fp = self.base.of(cand)
            if fp < best_fp:
                best, best_fp = cand, fp
        return best

    def _ids_in_values(self, state: tuple, gi: int, g: tuple) -> bool:
        if self.keys_only:
            return False
        ids = self.id_set
        h = self._holds_ids
        for v in state:
            if type(v) is FrozenDict and self.owned[gi] is None:
                if any((not _is_id(k, ids) and h(k)) or h(x) for k, x in v.items()):
                    return True
            elif h(v):
                return True
        return False

    def _apply(self, state: tuple, gi: int, g: tuple, order: list[int]) -> tuple:
        """Renames: the id at position order[k] becomes g[k]."""
        m = {g[old]: g[new] for new, old in enumerate(order)}
        if all(a == b for a, b in m.items()):
            return state
        if self.keys_only:
            out = [FrozenDict({m.get(k, k): x for k, x in v.items()}) if type(v) is FrozenDict else v
                   for v in state]
        else:
            h = self._holds_ids
            out = [_rename(v, m) if h(v) else v for v in state]
        owned = self.owned[gi]
        if owned is not None:
            moved = list(out)
            for a, b in m.items():
                for src, dst in zip(owned[a], owned[b], strict=True):
                    moved[dst] = out[src]
            out = moved
        return tuple(out)


def _is_id(v: Any, ids: set) -> bool:
    t = type(v)
    return (t is str or t is int or (t is not bool and isinstance(v, (int, str)))) and v in ids


def _contains(v: Any, ids: set) -> bool:
    if _is_id(v, ids):
        return True
    t = type(v)
    if t is FrozenDict:
        return any(_contains(k, ids) or _contains(x, ids) for k, x in v.items())
    if isinstance(v, (tuple, frozenset)):
        return any(_contains(x, ids) for x in v)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return any(_contains(getattr(v, f.name), ids) for f in dataclasses.fields(v))
    return False


def _abstract(v: Any, ids: set) -> Any:
    """The value with every id replaced by one placeholder (what is the same across an orbit)."""
    if _is_id(v, ids):
        return _ID
    t = type(v)
    if t is FrozenDict:
        return ("dict", frozenset((_abstract(k, ids), _abstract(x, ids)) for k, x in v.items()))
    if t is FrozenSet or t is frozenset:
        return ("set", frozenset(_abstract(x, ids) for x in v))
    if isinstance(v, tuple):
        return (t.__name__, tuple(_abstract(x, ids) for x in v))
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return (t.__name__, tuple(_abstract(getattr(v, f.name), ids) for f in dataclasses.fields(v)))
    return v


def _rename(v: Any, m: dict) -> Any:
    t = type(v)
    if t is str or t is int:
        return m.get(v, v)
    if t is bool or v is None or t is float:
        return v
    if t is FrozenDict:
        return FrozenDict({_rename(k, m): _rename(x, m) for k, x in v.items()})
    if t is FrozenList:
        return FrozenList(_rename(x, m) for x in v)
    if t is FrozenSet:
        return FrozenSet(_rename(x, m) for x in v)
    if t is frozenset:
        return frozenset(_rename(x, m) for x in v)
    if t is tuple:
        return tuple(_rename(x, m) for x in v)
    if isinstance(v, tuple):  # namedtuple
        return t(*(_rename(x, m) for x in v))
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        changes = {f.name: _rename(getattr(v, f.name), m) for f in dataclasses.fields(v) if f.init}
        return dataclasses.replace(v, **changes)
    return v
