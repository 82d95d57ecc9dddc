"""Parametric explicit search: the explicit engine's concrete states, with symbolic parameters left as Z3 unknowns.

`explore boundary` needs, for every value of the symbolic parameters at once, the runs that break an
invariant. The state stays concrete (so actor specs with networks and histories work, unlike in
`--engine bmc`); only the parameters are Z3 integers. Each action runs under a `SymRun`: wherever
Python branches on a parameter (`if self.acks == self.world.write_quorum()`), the run forks.

The box of parameter values is finite and listed (find_boundary builds the spec at each point), so
a path condition is kept as the *set of points* it holds on, a bitmask: each Z3 term the spec
branches on (`2 == w`) is evaluated once at every point, and a branch is feasible iff the AND of two
ints is not 0. (The first version asked Z3's solver per branch and kept conjunctions of literals:
quorum n = 2..4 took 40 s of CPU, most of it Z3 calls and re-expanding states reached under
conditions that were not supersets of earlier ones.) A search node is a state with the points that
reach it: each state remembers the points it was queued for and is queued again only for new ones;
a state reached again at the same depth before it is expanded merges its points into that node.
An invariant that fails on a path marks its points unsafe, and the search goes on only for the
others. When the spec declares interchangeable nodes (`Replica(symmetric="r")`), states are
replaced by one representative per orbit (`_Representative`): quorum n = 5 has 7.7k states
instead of hundreds of thousands.

What it proves: the unsafe points are exactly the points of the box for which some reachable state
breaks an invariant, when the search is complete (no `max_nodes`/`depth` cut); `condition()` is
that set as a Z3 formula, which find_boundary checks its fitted inequality against.
"""
from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import z3

from ..dsl import choice
from ..dsl.choice import Disabled
from ..dsl.model import _Ctx, user_frame
from ..dsl.values import FrozenContentDict, FrozenDict, FrozenList, FrozenSet, UnfreezableValue, freeze, stable_hash
from ..engine.symmetry import _abstract, _contains, _rename
from ..errors import SpecError
from . import values as symvalues
from .values import SInt, Sym, SymbolicUnsupported, SymRun, concrete


@dataclass
class ParamSearchResult:
    """The violating conditions found (property, Z3 Bool over the parameters) and the search's size."""

    violations: list[tuple[str, Any]] = field(default_factory=list)
    nodes: int = 0  # (state, condition) pairs expanded
    distinct_states: int = 0
    complete: bool = True
    elapsed_s: float = 0.0
    unsafe_mask: int = 0  # the box points (bit i: points[i]) where some invariant fails
    masks: Any = None

    def condition(self) -> Any:
        """Returns the Z3 condition under which some invariant fails: exactly the unsafe points."""
        return self.masks.formula(self.unsafe_mask) if self.masks is not None else z3.BoolVal(False)

    def unsafe_points(self) -> list[dict[str, int]]:
        return [p for i, p in enumerate(self.masks.points) if self.unsafe_mask >> i & 1]


class _Off:
    pass


_OFF = _Off()
_FROZEN = (FrozenDict, FrozenList, FrozenSet)


class _Masks:
    """What each Z3 term over the parameters is at every point of the box, as a bitmask (bit i: point i).

    The box is finite and listed (find_boundary builds the spec at every point to find the valid
    ones), so "is this branch feasible under this path condition" is an AND of two ints instead of a
    solver call. A term is evaluated once, by substituting each point and simplifying; terms are
    keyed by their AST pointer (Z3 hash-conses terms, and `keep` holds them so no pointer is reused),
    which is ~15x cheaper than `get_id()`.
    """

    def __init__(self, names: list[str], points: list[dict[str, int]]):
        self.vars = {n: z3.Int(n) for n in names}
        self.subs = [[(self.vars[n], z3.IntVal(p[n])) for n in names] for p in points]
        self.full = (1 << len(points)) - 1
        self.points = points
        self._bools: dict[int, int] = {}
        self._ints: dict[int, list[int]] = {}
        self.keep: list[Any] = []

    def of(self, e: Any) -> int:
        """The points where the Bool term `e` is true."""
        key = e.ast.value
        hit = self._bools.get(key)
        if hit is None:
            self.keep.append(e)
            hit = 0
            for i, sub in enumerate(self.subs):
                v = z3.simplify(z3.substitute(e, *sub))
                if z3.is_true(v):
                    hit |= 1 << i
                elif not z3.is_false(v):
                    raise SymbolicUnsupported(f"the condition {e} has no truth value at {self.points[i]}")
            self._bools[key] = hit
        return hit

    def values(self, e: Any) -> list[int]:
        """The value of the Int term `e` at each point."""
        key = e.ast.value
        hit = self._ints.get(key)
        if hit is None:
            self.keep.append(e)
            hit = []
            for i, sub in enumerate(self.subs):
                v = z3.simplify(z3.substitute(e, *sub))
                if not z3.is_int_value(v):
                    raise SymbolicUnsupported(f"the integer {e} has no value at {self.points[i]}")
                hit.append(v.as_long())
            self._ints[key] = hit
        return hit

    def formula(self, mask: int) -> Any:
        """The Z3 condition true exactly on the points of `mask` (a disjunction of points)."""
        pts = [p for i, p in enumerate(self.points) if mask >> i & 1]
        if not pts:
            return z3.BoolVal(False)
        return z3.Or(*[z3.And(*[self.vars[n] == p[n] for n in self.vars]) for p in pts])


@dataclass(frozen=True)
class _Not:
    """A negated literal, for messages only (building z3.Not at every false branch costs more)."""

    e: Any

    def __str__(self) -> str:
        return f"Not({self.e})"


class _MaskRun(SymRun):
    """A SymRun whose path condition is the set of box points it holds on (`mask`), not a solver query.

    `lits` records the branch literals taken (for messages); `pc` stays empty, so nothing on this
    path calls Z3's solver.
    """

    masks: _Masks
    mask: int
    lits: list

    def _feasible(self, extra: Any) -> bool:
        return bool(self.mask & self.masks.of(extra))

    def assume(self, b: Any) -> None:
        m = self.mask & self.masks.of(b.ex)
        if not m:
            raise Disabled()
        self.mask = m
        self.lits.append(b.ex)

    def branch(self, b: Any) -> bool:
        e = b.ex
        mt = self.masks.of(e)
        t, f = self.mask & mt, self.mask & ~mt
        if t and f:
            value = self._decide(2) == 0
        elif t or f:
            value = bool(t)
        else:
            raise Disabled()  # the path itself holds on no point
        self.mask = t if value else f
        self.lits.append(e if value else _Not(e))
        return value

    def concretise_int(self, s: Any) -> int:
        """Forks over the values an integer term over the parameters takes on the path's points (e.g. 4 - cost)."""
        e = s.ex
        if z3.is_int_value(e):
            return e.as_long()
        by_value: dict[int, int] = {}
        for i, v in enumerate(self.masks.values(e)):
            if self.mask >> i & 1:
                by_value[v] = by_value.get(v, 0) | 1 << i
        if not by_value:
            raise Disabled()
        options = sorted(by_value)
        v = options[self._decide(len(options))] if len(options) > 1 else options[0]
        self.mask = by_value[v]
        self.lits.append(e == v)
        return v


class _Representative:
    """Maps a state to one permutation of it, the same for most states of its orbit, when the spec
    declares interchangeable nodes (`Replica(symmetric="r")`, as `--symmetry` reads them).

    The ids of a group are sorted by a profile: the node's own fields and every other value that
    mentions it (messages in flight, with the id itself marked and the other ids of the group blanked
    out); ties keep their order. Any permutation is a sound representative (the spec declared that
    renaming the ids maps runs to runs and keeps the invariants); sorting by so full a profile makes it
    the same one for nearly the whole orbit without trying the orders of tied ids, which is what
    makes engine.symmetry's exact canonical form slow on quorum.py (every replica holds version 1).
    """

    def __init__(self, model: Any):
        from ..engine.symmetry import SymmetricFingerprinter, declares_symmetry, symmetry_groups

        groups = symmetry_groups(model) if declares_symmetry(model) else []
        self.sym = SymmetricFingerprinter(model, groups) if groups else None
        self._cache: dict[tuple, tuple] = {}
        self._items: dict[tuple, list] = {}  # (field, dict item) -> its marks

    def __call__(self, state: tuple) -> tuple:
        sym = self.sym
        if sym is None:
            return state
        hit = self._cache.get(state)
        if hit is not None:
            return hit
        out = state
        for gi, g in enumerate(sym.groups):
            owned = sym.owned[gi]
            skip = {i for t in owned.values() for i in t} if owned else set()
            marks: dict[Any, list[int]] = {x: [] for x in g}
            for i, v in enumerate(out):
                if i in skip or not sym._holds_ids(v):
                    continue
                for item in (v.items() if type(v) is FrozenDict else (v,)):
                    for x, h in self._marked(i, item):
                        if x in marks:
                            marks[x].append(h)
            keys = sorted((stable_hash((sym._profile(out, gi, x), tuple(sorted(marks[x])))), k) for k, x in enumerate(g))
            out = sym._apply(out, gi, g, [k for _, k in keys])
        if len(self._cache) > 500_000:
            self._cache.clear()
        self._cache[state] = out
        return out

    def _marked(self, i: int, item: Any) -> list[tuple[Any, int]]:
        """For each id `item` mentions: a hash of the item with that id marked and the others blanked."""
        key = (i, item)
        hit = self._items.get(key)
        if hit is None:
            ids = self.sym.id_set
            hit = [(x, stable_hash((i, _abstract(_rename(item, {x: _SELF}), ids))))
                   for x in sorted(ids, key=str) if _contains(item, {x})]
            if len(self._items) > 200_000:
                self._items.clear()
            self._items[key] = hit
        return hit


_SELF = ("\x00symmetric-self",)


class ParamSearch:
    """Breadth-first search over (concrete state, set of parameter points) pairs of one built model.

    A node is a state with the points of the box that reach it and were not yet known to reach it:
    each state keeps the union of the points it was expanded for, and is expanded again only for
    points outside that union. So a state is expanded at most once per point and, in practice,
    once or twice in all (the old search kept conjunctions of literals and re-expanded a state for
    each condition that was not a superset of an earlier one).
    """

    def __init__(self, model: Any, bounds: dict[str, tuple[int, int]], domain: Any = None,
                 points: list[dict[str, int]] | None = None, symmetry: bool = True):
        if getattr(model, "interpreted_only", False):  # explorer.timed: time passes after each step (zones)
            raise SpecError(f"{model.name} is a timed spec ({type(model).__name__}): `explore boundary` does not "
                            "yet let time pass between steps with symbolic parameters",
                            hint="--method timing --unknown ttl ... (delays as real Z3 unknowns; plain timed specs), "
                            "or --method sweep (the explicit engine at every point)")
        self.model = model
        self.points = points if points is not None else [
            dict(zip(bounds, v, strict=True)) for v in itertools.product(*[range(lo, hi + 1) for lo, hi in bounds.values()])]
        self.masks = _Masks(list(bounds), self.points)
        self.rep = _Representative(model) if symmetry else (lambda state: state)
        self.vars = self.masks.vars
        for name, v in self.vars.items():  # the spec and its world share this dict
            model.params[name] = SInt(v)

    def _runs(self, what: str, where: str | None, mask: int, body: Callable[[], Any]) -> Iterator[tuple[_MaskRun, Any]]:
        """Runs `body()` once per path (choose() options and parameter branches) for the points of `mask`."""
        files = getattr(self.model, "_files", set())
        prefix: list[int] | None = []
        while prefix is not None:
            run = _MaskRun(prefix, None)
            run.masks, run.mask, run.lits = self.masks, mask, []
            symvalues._current[0] = run
            choice._current[0] = run
            try:
                out = body()
            except Disabled:
                out = _OFF
            except SpecError:
                raise
            except SymbolicUnsupported as e:
                raise SpecError(f"{what} cannot run with symbolic parameters: {e}",
                                where=user_frame(e, files) or where,
                                hint="a symbolic parameter may be compared, added and branched on; "
                                "to store it in the state it must have bounds") from None
            except UnfreezableValue as e:
                if not isinstance(e.value, Sym):
                    raise
                raise SpecError(f"{what} puts the symbolic parameter value {e.value.ex} into a message or another "
                                "frozen value, which `explore boundary`'s Z3 methods cannot hold",
                                where=user_frame(e, files) or where,
                                hint="use --method sweep (the explicit engine at every point), or keep the "
                                "parameter out of messages (read it from self.world where it is needed)") from None
            except Exception as e:  # noqa: BLE001 - user code
                if not run.mask:
                    out = _OFF
                else:
                    raise SpecError(f"{what} raised {type(e).__name__}: {e} with symbolic parameters "
                                    f"(where {' and '.join(map(str, run.lits)) or 'nothing is assumed'})",
                                    where=user_frame(e, files) or where) from e
            finally:
                symvalues._current[0] = None
                choice._current[0] = None
            if out is not _OFF and run.mask:
                yield run, out
            prefix = run.next_prefix()

    def _freeze(self, value: Any, name: str, who: str) -> Any:
        if type(value) in _FROZEN:  # built by freeze(): nothing to concretise
            return value
        try:
            return freeze(concrete(value))
        except UnfreezableValue:
            raise SpecError(f"{who} sets self.{name} to a value that cannot be part of a state") from None

    def _freeze_delta(self, value: dict, prev: FrozenDict, name: str, who: str) -> FrozenDict:
        """Freezes the network, reusing the entries it kept from the state's frozen one as they are.

        A key object of `prev` (alive while `prev` is, so its id is not reused) with an int count is
        frozen and concrete already; only the messages sent by this step go through concrete() (which
        concretises a parameter put in a message) and freeze(). Walking every message in flight at
        every step was half of quorum n = 5's search.
        """
        old = {id(k) for k in prev}
        out = {}
        for k, x in value.items():
            if id(k) not in old or type(x) is not int:
                k, x = self._freeze(k, name, who), self._freeze(x, name, who)
            out[k] = x
        return FrozenDict(out)

    def _init(self) -> tuple:
        m = self.model
        obj = m._instance(None, _Ctx(None, {}, None))
        obj.init()
        return tuple(self._freeze(obj.__dict__[f], f, "init()") for f in m.fields)

    def _step(self, a: Any, state: tuple) -> tuple:
        m = self.model
        obj = m._instance(state, m._ctx_rw)
        a.fn(obj)
        new = list(state)
        index = m._ctx_rw.field_index
        for k, v in obj.__dict__.items():
            if k[0] == "_":
                continue
            i = index.get(k)
            if i is None:
                raise SpecError(f"action {a.name} assigns self.{k}, which is not a field of the state", where=a.where)
            prev = state[i]
            if v is prev:  # a field only read is the state's own frozen, concrete value
                continue
            if type(v) is FrozenContentDict and type(prev) is FrozenDict:  # the actor runtime's network
                new[i] = self._freeze_delta(v, prev, k, f"action {a.name}")
            else:
                new[i] = self._freeze(v, k, f"action {a.name}")
        return tuple(new)

    def _holds(self, p: Any, state: tuple) -> bool:
        r = p.fn(self.model.view(state))
        if r is None:
            raise SpecError(f"{p.kind} {p.name} returned None", where=p.where)
        return False if isinstance(r, str) else bool(r)

    def run(self, *, max_nodes: int | None = None, depth: int | None = None) -> ParamSearchResult:
        t0 = time.perf_counter()
        res = ParamSearchResult(masks=self.masks)
        queue: deque[tuple[tuple, int]] = deque()
        pending: dict[tuple[tuple, int], int] = {}  # a queued (state, depth) -> its points, merged until popped
        seen: dict[tuple, int] = {}  # state -> the points it was queued for
        alive = self.masks.full  # the points not yet known to fail
        rep = self.rep

        def add(state: tuple, mask: int, d: int) -> None:
            state = rep(state)
            covered = seen.get(state, 0)
            new = mask & ~covered & alive
            if new:
                seen[state] = covered | new
                key = (state, d)
                if key in pending:  # reached again, for other points, before it was expanded: one node
                    pending[key] |= new
                else:
                    pending[key] = new
                    queue.append(key)

        name = self.model.name
        for run, st in self._runs(f"{name}.init()", None, alive, self._init):
            add(st, run.mask, 0)
        while queue:
            if max_nodes is not None and res.nodes >= max_nodes:
                res.complete = False
                break
            state, d = key = queue.popleft()
            mask = pending.pop(key) & alive
            if not mask:
                continue  # every point that reaches this node is already known to fail
            res.nodes += 1
            for p in self.model.invariants:
                for run, ok in self._runs(f"invariant {p.name}", p.where, mask, lambda p=p, st=state: self._holds(p, st)):
                    if not ok:
                        res.violations.append((p.name, self.masks.formula(run.mask)))
                        res.unsafe_mask |= run.mask
                        alive &= ~run.mask
            mask &= alive
            if not mask:
                continue
            if depth is not None and d >= depth:
                res.complete = False
                continue
            for a in self.model.actions:
                for run, nxt in self._runs(f"action {a.name}", a.where, mask, lambda a=a, st=state: self._step(a, st)):
                    add(nxt, run.mask, d + 1)
        res.distinct_states = len(seen)
        res.elapsed_s = time.perf_counter() - t0
        return res


__all__ = ["ParamSearch", "ParamSearchResult"]
