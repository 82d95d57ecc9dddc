"""Parametric explicit search: the explicit engine's concrete states, with symbolic parameters left as Z3 unknowns.

`explore boundary` needs, for every value of the symbolic parameters at once, the runs that break an
invariant. The state stays concrete (so actor specs with networks and histories work, unlike in
`--engine bmc`); only the parameters are Z3 integers. Each action runs under a `SymRun`: wherever
Python branches on a parameter (`if self.acks == self.world.write_quorum()`), the run forks and the
path condition records the branch, Z3 pruning the branches no parameter value allows. A search node
is a state with the condition under which it is reachable; a state reached again under a condition
that includes no new literal is not expanded again. An invariant that fails on a path gives a
*violating condition*, a formula over the parameters; it is added negated to the solver, so the
search only goes on for the parameter values not yet known to fail.

What it proves: the disjunction of the violating conditions holds exactly for the parameter values
(inside the domain given) for which some reachable state breaks an invariant, when the search is
complete (no `max_nodes`/`depth` cut).
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
from ..dsl.values import UnfreezableValue, freeze
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

    def condition(self) -> Any:
        """Returns the Z3 condition under which some invariant fails."""
        return z3.Or(*[c for _, c in self.violations]) if self.violations else z3.BoolVal(False)


class _Off:
    pass


class _CachedRun(SymRun):
    """A SymRun whose branch feasibility checks are memoised per (path condition, branch) across runs.

    Many states branch on the same condition under the same path condition (`2 == w` once two
    acks arrived); the cache keeps one Z3 query per pair. It is cleared when the solver learns a
    new violating condition. Keys are Z3 term ids, kept valid by `keep` holding the terms.
    """

    cache: dict
    keep: dict
    values_of: Callable[[Any], list[int]]

    def concretise_int(self, s: Any) -> int:
        """Forks over the values an integer term over the parameters takes on the box (e.g. 4 - cost)."""
        e = s.ex
        if z3.is_int_value(e):
            return e.as_long()
        options = [v for v in self.values_of(e) if self._feasible(e == v)]
        if not options:
            raise Disabled()
        v = options[self._decide(len(options))] if len(options) > 1 else options[0]
        self.pc.append(e == v)
        return v

    def _feasible(self, extra: Any) -> bool:
        for e in (*self.pc, extra):
            self.keep.setdefault(e.get_id(), e)
        key = (frozenset(e.get_id() for e in self.pc), extra.get_id())
        hit = self.cache.get(key)
        if hit is None:
            hit = self.cache[key] = self.solver.check(*self.pc, extra) != z3.unsat
        return hit


_OFF = _Off()


class ParamSearch:
    """Breadth-first search over (concrete state, parameter condition) pairs of one built model."""

    def __init__(self, model: Any, bounds: dict[str, tuple[int, int]], domain: Any,
                 points: list[dict[str, int]] | None = None):
        if getattr(model, "interpreted_only", False):  # explorer.timed: time passes after each step (zones)
            raise SpecError(f"{model.name} is a timed spec ({type(model).__name__}): `explore boundary` does not "
                            "yet let time pass between steps with symbolic parameters",
                            hint="sweep the timing parameters with --param and the explicit engine instead")
        self.model = model
        self.vars = {name: z3.Int(name) for name in bounds}
        for name, v in self.vars.items():  # the spec and its world share this dict
            model.params[name] = SInt(v)
        self.solver = z3.Solver()
        self.solver.add(domain)
        self.int_bounds = {v.get_id(): bounds[n] for n, v in self.vars.items()}
        self._keep: dict[int, Any] = {}  # literals by id: keeps the ids in search keys from being reused
        self._feas: dict[tuple, bool] = {}  # (path condition ids, branch id) -> feasible
        self.points = points if points is not None else [
            dict(zip(bounds, v, strict=True)) for v in itertools.product(*[range(lo, hi + 1) for lo, hi in bounds.values()])]
        self._values: dict[int, list[int]] = {}

    def _values_of(self, e: Any) -> list[int]:
        """The values an integer term over the parameters takes on the points of the box, in order."""
        hit = self._values.get(e.get_id())
        if hit is None:
            self._keep.setdefault(e.get_id(), e)
            vals = set()
            for p in self.points:
                v = z3.simplify(z3.substitute(e, *[(self.vars[n], z3.IntVal(p[n])) for n in self.vars]))
                if not z3.is_int_value(v):
                    raise SymbolicUnsupported(f"the integer {e} has no value at {p}")
                vals.add(v.as_long())
            hit = self._values[e.get_id()] = sorted(vals)
        return hit

    def _runs(self, what: str, where: str | None, pc: tuple, body: Callable[[], Any]) -> Iterator[tuple[SymRun, Any]]:
        """Runs `body()` once per path (choose() options and parameter branches) under condition `pc`."""
        files = getattr(self.model, "_files", set())
        prefix: list[int] | None = []
        while prefix is not None:
            run = _CachedRun(prefix, self.solver, pc=list(pc), int_bounds=dict(self.int_bounds))
            run.cache, run.keep, run.values_of = self._feas, self._keep, self._values_of
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
                if self.solver.check(*run.pc) == z3.unsat:
                    out = _OFF
                else:
                    raise SpecError(f"{what} raised {type(e).__name__}: {e} with symbolic parameters "
                                    f"(where {' and '.join(map(str, run.pc)) or 'nothing is assumed'})",
                                    where=user_frame(e, files) or where) from e
            finally:
                symvalues._current[0] = None
                choice._current[0] = None
            if out is not _OFF:
                yield run, out
            prefix = run.next_prefix()

    def _freeze(self, value: Any, name: str, who: str) -> Any:
        try:
            return freeze(concrete(value))
        except UnfreezableValue:
            raise SpecError(f"{who} sets self.{name} to a value that cannot be part of a state") from None

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
            new[i] = self._freeze(v, k, f"action {a.name}")
        return tuple(new)

    def _holds(self, p: Any, state: tuple) -> bool:
        r = p.fn(self.model.view(state))
        if r is None:
            raise SpecError(f"{p.kind} {p.name} returned None", where=p.where)
        return False if isinstance(r, str) else bool(r)

    def _alive(self, pc: tuple) -> bool:
        """Says whether some parameter value not yet known to fail satisfies `pc` (memoised)."""
        key = (frozenset(e.get_id() for e in pc), None)
        hit = self._feas.get(key)
        if hit is None:
            hit = self._feas[key] = self.solver.check(*pc) != z3.unsat
        return hit

    def run(self, *, max_nodes: int | None = None, depth: int | None = None) -> ParamSearchResult:
        t0 = time.perf_counter()
        res = ParamSearchResult()
        queue: deque[tuple[tuple, tuple, int]] = deque()
        seen: dict[tuple, list[frozenset]] = {}
        keep = self._keep

        def add(state: tuple, pc: list, d: int) -> None:
            for e in pc:
                keep.setdefault(e.get_id(), e)
            key = frozenset(e.get_id() for e in pc)
            keys = seen.setdefault(state, [])
            if any(k <= key for k in keys):
                return
            keys.append(key)
            queue.append((state, tuple(pc), d))

        name = self.model.name
        for run, st in self._runs(f"{name}.init()", None, (), self._init):
            add(st, run.pc, 0)
        blocked = False
        while queue:
            if max_nodes is not None and res.nodes >= max_nodes:
                res.complete = False
                break
            state, pc, d = queue.popleft()
            if blocked and not self._alive(pc):
                continue  # every parameter value that reaches this node is already known to fail
            res.nodes += 1
            for p in self.model.invariants:
                for run, ok in self._runs(f"invariant {p.name}", p.where, pc, lambda p=p, st=state: self._holds(p, st)):
                    if not ok:
                        cond = z3.And(*run.pc) if run.pc else z3.BoolVal(True)
                        res.violations.append((p.name, cond))
                        self.solver.add(z3.Not(cond))
                        self._feas.clear()
                        blocked = True
            if blocked and not self._alive(pc):
                continue
            if depth is not None and d >= depth:
                res.complete = False
                continue
            for a in self.model.actions:
                for run, nxt in self._runs(f"action {a.name}", a.where, pc, lambda a=a, st=state: self._step(a, st)):
                    add(nxt, run.pc, d + 1)
        res.distinct_states = len(seen)
        res.elapsed_s = time.perf_counter() - t0
        return res


__all__ = ["ParamSearch", "ParamSearchResult"]
