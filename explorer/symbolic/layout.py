"""How a spec's state maps onto Z3 variables: one leaf per scalar field, one per key of a dict field.

The shape of each field is discovered from the spec itself: a bounded explicit exploration collects
the values every field takes (the initial states at least), then the symbolic run of every action
closes the domains (a write of a value never seen before adds it and the relation is derived again),
so the domains are an inductive over-approximation of the reachable values. A leaf's kind follows
from its values:

    all bool   -> Z3 Bool                 all int -> Z3 Int (arithmetic stays symbolic)
    all str    -> enumeration (an Int code in [0, |domain|))
    otherwise  -> opaque enumeration: None, tuples, sets, mixed types; concretised when read

A dict field whose key set is the same in every state it was seen in gets one leaf per key. A dict
field whose key set varies (an actor spec's network: message -> copies in flight) is *sparse*: one
leaf per key of the universe of keys seen (in states and in writes), whose domain holds `ABSENT`
for "not in the dict"; the universe is closed like the domains, by deriving again when a write adds
a key.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import z3

from ..dsl.values import FrozenDict, freeze
from ..errors import SpecError
from .lazy import ABSENT
from .values import Domain, SBool, SEnum, SInt

MAX_DOMAIN = 5000  # distinct values one leaf may take before it is refused
MAX_KEYS = 256  # keys in the universe of one sparse dict field before it is refused


@dataclass
class Leaf:
    """One Z3 variable of the state: field (and key), kind, and domain for enumerations."""

    field: str
    key: Any  # _NOKEY for a scalar field
    kind: str  # bool | int | enum | opaque
    dom: Domain | None = None
    bounds: tuple[int, int] | None = None  # int leaves: the range seen, kept only if every action keeps it

    @property
    def name(self) -> str:
        return self.field if self.key is _NOKEY else f"{self.field}[{self.key!r}]"

    def var(self, suffix: str = "") -> Any:
        """A fresh Z3 variable for this leaf (enumeration codes are bit-vectors: the problem stays SAT)."""
        n = self.name + suffix
        if self.kind == "bool":
            return z3.Bool(n)
        if self.kind == "int":
            return z3.Int(n)
        return z3.BitVec(n, self.width)

    @property
    def width(self) -> int:
        return max(1, (len(self.dom) - 1).bit_length())

    def const(self, code: int) -> Any:
        return z3.BitVecVal(code, self.width)

    def range(self, v: Any) -> Any:
        """The constraint that keeps an enumeration code inside its domain (None for Bool/Int)."""
        if self.kind in ("enum", "opaque") and len(self.dom) < (1 << self.width):
            return z3.ULT(v, len(self.dom))
        if self.kind == "int" and self.bounds is not None:
            return z3.And(v >= self.bounds[0], v <= self.bounds[1])
        return None

    def wrap(self, ex: Any) -> Any:
        """Returns the symbolic value an action sees for this leaf's term."""
        if self.kind == "bool":
            return SBool(ex, ("bool", ex.get_id(), None))
        if self.kind == "int":
            return SInt(ex)
        return SEnum(ex, self.dom)

    def encode(self, v: Any) -> Any:
        """Returns the Z3 constant of a concrete value (adding it to the domain if new)."""
        if self.kind == "bool":
            return z3.BoolVal(v)
        if self.kind == "int":
            return z3.IntVal(v)
        return self.const(self.dom.add(v))

    def decode(self, model: z3.ModelRef, ex: Any) -> Any:
        val = model.eval(ex, model_completion=True)
        if self.kind == "bool":
            return z3.is_true(val)
        if self.kind == "int":
            return val.as_long()
        c = val.as_long()
        if not 0 <= c < len(self.dom):
            raise SpecError(f"internal: code {c} outside the domain of {self.name}")
        return self.dom.values[c]


class _NoKey:
    def __repr__(self) -> str:
        return "<scalar>"


_NOKEY = _NoKey()


@dataclass
class Layout:
    """The leaves of every field, in field order."""

    fields: tuple[str, ...]
    dict_keys: dict[str, tuple]  # field -> its keys (fixed, or the universe of a sparse field)
    sparse: frozenset = frozenset()  # dict fields whose key set varies: a leaf per universe key, ABSENT
    counters: frozenset = frozenset()  # sparse fields of positive ints (copies in flight): absent = Int 0
    leaves: list[Leaf] = field(default_factory=list)
    by_field: dict[str, list[int]] = field(default_factory=dict)

    def leaf_values(self, state: tuple) -> list[Any]:
        """Returns the concrete value of every leaf of `state`."""
        out = []
        for f, v in zip(self.fields, state, strict=True):
            keys = self.dict_keys.get(f)
            if keys is None:
                out.append(v)
            elif f in self.sparse:
                none = 0 if f in self.counters else ABSENT
                out.extend(v.get(k, none) for k in keys)
            else:
                out.extend(v[k] for k in keys)
        return out

    def state_of(self, values: list[Any]) -> tuple:
        """Returns the frozen state whose leaves have `values` (the inverse of leaf_values)."""
        out, i = [], 0
        for f in self.fields:
            keys = self.dict_keys.get(f)
            if keys is None:
                out.append(values[i])
                i += 1
            else:
                none = 0 if f in self.counters else ABSENT
                out.append(freeze({k: values[i + j] for j, k in enumerate(keys) if values[i + j] is not none}))
                i += len(keys)
        return tuple(out)

    def check_sizes(self) -> None:
        for leaf in self.leaves:
            if leaf.dom is not None and len(leaf.dom) > MAX_DOMAIN:
                raise SpecError(
                    f"field {leaf.name} takes more than {MAX_DOMAIN} distinct values, too many to map to a "
                    "finite Z3 sort",
                    hint="the symbolic engines need fields with a bounded set of values (an enum, a bool, an "
                    "int, a dict over a fixed key set); bound the field or use the explicit engine")


def discover(model: Any, max_states: int = 2000) -> list[tuple]:
    """Returns up to `max_states` reachable states by BFS (the seeds of the field domains)."""
    seen: dict[tuple, None] = {}
    queue = deque()
    for s, _ in model.initial_states():
        if s not in seen:
            seen[s] = None
            queue.append(s)
    while queue and len(seen) < max_states:
        s = queue.popleft()
        for nxt, _ in model.successors(s):
            if nxt not in seen:
                seen[nxt] = None
                queue.append(nxt)
                if len(seen) >= max_states:
                    break
    return list(seen)


def build_layout(fields: tuple[str, ...], states: list[tuple], opaque: set[str] = frozenset(),
                 seen_extra: dict[str, list] | None = None, extra_keys: dict[str, set] | None = None) -> Layout:
    """Classifies every field from the values it takes in `states` (plus extra values and keys seen in writes)."""
    values: dict[str, list] = {f: [] for f in fields}
    for s in states:
        for f, v in zip(fields, s, strict=True):
            values[f].append(v)
    for f, extra in (seen_extra or {}).items():
        values[f].extend(extra)
    dict_keys: dict[str, tuple] = {}
    sparse: set[str] = set()
    for f in fields:
        vs = values[f]
        if f in opaque or not vs or not all(type(v) is FrozenDict for v in vs):
            continue
        keysets = {frozenset(v.keys()) for v in vs}
        more = (extra_keys or {}).get(f, set())
        universe = set().union(*keysets) | more
        if len(keysets) > 1 or f in (extra_keys or {}):  # keys vary (or a write added or removed one)
            if len(universe) > MAX_KEYS:
                raise SpecError(
                    f"field {f} is a dict whose keys vary over more than {MAX_KEYS} possible keys, too many "
                    "to give each its own Z3 variable",
                    hint="the symbolic engines need a small bounded universe of keys (bound the parameters) "
                    "or use the explicit engine")
            sparse.add(f)
        keys = list(universe)
        try:
            keys.sort()
        except TypeError:
            keys.sort(key=repr)
        dict_keys[f] = tuple(keys)
    counters = {f for f in sparse if f not in opaque and all(
        type(x) is int and x >= 1 for v in values[f] for x in v.values())}
    layout = Layout(tuple(fields), dict_keys, frozenset(sparse), frozenset(counters))
    for f in fields:
        keys = dict_keys.get(f)
        idx = []
        if keys is None:
            idx.append(len(layout.leaves))
            layout.leaves.append(_leaf(f, _NOKEY, values[f], f in opaque))
        else:
            for k in keys:
                idx.append(len(layout.leaves))
                none = 0 if f in counters else ABSENT
                vals = [v.get(k, none) for v in values[f]] + ([none] if f in sparse else [])
                layout.leaves.append(_leaf(f, k, vals, f"{f}[{k!r}]" in opaque))
        layout.by_field[f] = idx
    layout.check_sizes()
    return layout


def _leaf(f: str, key: Any, vs: list, force_opaque: bool) -> Leaf:
    types = {type(v) for v in vs}
    if not force_opaque and types == {bool}:
        return Leaf(f, key, "bool")
    if not force_opaque and types == {int}:
        return Leaf(f, key, "int", bounds=(min(vs), max(vs)))
    kind = "enum" if not force_opaque and types == {str} else "opaque"
    leaf = Leaf(f, key, kind, Domain(f if key is _NOKEY else f"{f}[{key!r}]"))
    for v in vs:
        leaf.dom.add(v)
    leaf.dom.grew = False
    return leaf
