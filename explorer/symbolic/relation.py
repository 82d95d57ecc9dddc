"""The transition relation of a spec, derived by running its own Python actions on Z3 terms.

Every action runs under a `SymRun` (the decision oracle of DESIGN section 3, extended to symbolic
branches) on a state whose fields are Z3 variables. Each complete run is one *path*: an action,
the `choose()` decisions it took (what a concrete replay needs), the path condition (its guard)
and the new value of every leaf it changed. The relation is the disjunction of the paths; an
invariant becomes the disjunction of its paths' conditions where it returned true.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import z3

from ..dsl import choice
from ..dsl.choice import Disabled
from ..dsl.model import _Ctx, _label, user_frame
from ..dsl.values import UnfreezableValue, freeze, thaw
from ..errors import SpecError
from . import values as symvalues
from .layout import Leaf, build_layout, discover
from .lazy import ABSENT, LazyDict
from .values import SBool, SEnum, SInt, SymbolicUnsupported, SymRun, concrete

MAX_PATHS = 5_000  # per action or property, a guard against path explosion
MAX_ROUNDS = 40  # derivations in a row that discover new field values before a field is refused


@dataclass
class SymPath:
    """One path through an action: its guard and the leaves it changes."""

    action: str
    choices: tuple[int, ...]
    label: str
    guard: Any  # Z3 Bool over the generic leaf variables
    updates: dict[int, Any]  # leaf index -> Z3 term over the generic leaf variables


class _Reshape(Exception):
    """A write does not fit the field's shape: map it (or one of its leaves) as an opaque value."""

    def __init__(self, name: str):
        self.name = name


class _NewKeys(Exception):
    """A write puts keys outside the field's universe into a dict field: it becomes (or grows as) sparse."""

    def __init__(self, name: str, keys: set):
        self.name = name
        self.keys = keys


class SymbolicModel:
    """A spec model's state as Z3 variables, its actions as paths, its invariants as formulas."""

    def __init__(self, model: Any, symbolic_params: dict[str, tuple[int, int]] | None = None,
                 discover_states: int = 2000):
        refuse_unmappable(model)
        self.model = model
        self.fields: tuple[str, ...] = tuple(model.fields)
        self.sym_params = dict(symbolic_params or {})
        self.param_vars = {name: z3.Int(name) for name in self.sym_params}
        seeds = discover(model, discover_states) if discover_states else [s for s, _ in model.initial_states()]
        self._seeds = seeds
        opaque: set[str] = set()
        self._unbounded: set[str] = set()
        self.assumed: set[int] = set()  # leaves whose bounds are caps BMC checks (engine._bmc_run), not facts
        extra_keys: dict[str, set] = {}
        self.layout = build_layout(self.fields, seeds, opaque)
        for _attempt in range(200):
            for leaf in self.layout.leaves:
                if leaf.name in self._unbounded:
                    leaf.bounds = None
            try:
                self._close_domains()
                if self._check_int_bounds():
                    break
            except _Reshape as r:
                if r.name in opaque:
                    raise SpecError(f"field {r.name} cannot be mapped to Z3: its values do not fit one sort") from None
                opaque.add(r.name)
                self.layout = build_layout(self.fields, seeds, opaque, extra_keys=extra_keys)
            except _NewKeys as r:
                extra_keys.setdefault(r.name, set()).update(r.keys)
                self.layout = build_layout(self.fields, seeds, opaque, extra_keys=extra_keys)
        else:  # pragma: no cover - each attempt makes one more field opaque or unbounded, so this is a bug
            raise SpecError("the symbolic engine could not settle the shape of the state")

    def _close_domains(self) -> None:
        """Derives the relation until no action writes a value outside its leaf's domain."""
        for rounds in range(MAX_ROUNDS + 1):
            self.vars = [leaf.var() for leaf in self.layout.leaves]
            self._derive()
            grown = [leaf for leaf in self.layout.leaves if leaf.dom is not None and leaf.dom.grew]
            if not grown:
                return
            self.layout.check_sizes()
            if rounds == MAX_ROUNDS:
                names = ", ".join(leaf.name for leaf in grown)
                raise SpecError(
                    f"field {names} cannot be mapped to a finite Z3 sort: every round of symbolic steps "
                    f"gives it values never seen before ({len(grown[0].dom)} so far)",
                    hint="the symbolic engines need fields with a bounded set of values (an enum, a bool, "
                    "an int, a dict over a fixed key set); an ever-growing log or history is not; "
                    "use the explicit engine with --depth for this spec")

    def _check_int_bounds(self) -> bool:
        """Keeps an int leaf's seen range only when every action path keeps it (an inductive fact).

        Returns False (after dropping the failing ranges) when the relation must be derived again.
        """
        self.assumed = {j for j, leaf in enumerate(self.layout.leaves)
                        if leaf.kind == "int" and leaf.bounds and leaf.field in self.layout.counters}
        bounded = [(j, leaf) for j, leaf in enumerate(self.layout.leaves) if leaf.kind == "int" and leaf.bounds
                   and j not in self.assumed]
        if not bounded:
            return True
        s = self._solver()
        failed = set()
        for p in self.paths:
            for j, leaf in bounded:
                u = p.updates.get(j)
                if u is None or leaf.name in failed:
                    continue
                lo, hi = leaf.bounds
                if s.check(p.guard, z3.Or(u < lo, u > hi)) != z3.unsat:
                    failed.add(leaf.name)
        if not failed:
            return True
        self._unbounded |= failed
        return False

    # ------------------------------------------------------------------ background facts
    def ranges(self, vs: list[Any], assumed: bool = True) -> list[Any]:
        """The domain facts of one frame; `assumed=False` leaves out the counters' assumed caps."""
        out = []
        for j, (leaf, v) in enumerate(zip(self.layout.leaves, vs, strict=True)):
            if not assumed and j in self.assumed:
                continue
            r = leaf.range(v)
            if r is not None:
                out.append(r)
        return out

    def overflow(self, vs: list[Any]) -> Any:
        """The condition that a counter of frame `vs` is above its assumed cap (None without counters).

        A counter (copies of a message in flight) is capped at the most copies the seed states hold,
        which an over-approximating step may exceed. BMC asks this before it adds frame k's caps: when
        it is unsatisfiable, every state reachable in k steps keeps the caps, so they exclude nothing
        reachable; when it is satisfiable, `widen` doubles the caps and the check starts over.
        """
        over = [vs[j] > self.layout.leaves[j].bounds[1] for j in sorted(self.assumed)]
        return z3.Or(*over) if over else None

    def widen(self) -> None:
        for j in self.assumed:
            lo, hi = self.layout.leaves[j].bounds
            self.layout.leaves[j].bounds = (lo, 2 * hi + 1)
        self.vars = [leaf.var() for leaf in self.layout.leaves]
        self._derive()

    def param_constraints(self) -> list[Any]:
        return [z3.And(v >= lo, v <= hi) for (lo, hi), v in
                ((self.sym_params[n], self.param_vars[n]) for n in self.sym_params)]

    def _solver(self) -> z3.Solver:
        s = z3.Solver()
        s.add(*self.ranges(self.vars), *self.param_constraints())
        return s

    # ------------------------------------------------------------------ running Python on terms
    def _instance(self, ctx: _Ctx) -> Any:
        obj = self.model._instance(tuple(range(len(self.fields))), ctx)
        if self.param_vars:
            params = dict(obj.__dict__["_params"])
            for name, v in self.param_vars.items():
                params[name] = SInt(v)
            obj.__dict__["_params"] = params
        return obj

    def _reader(self, mutable: bool) -> Callable[[int, Any], Any]:
        layout, vars_ = self.layout, self.vars

        def read(i: int, _value: Any) -> Any:
            f = self.fields[i]
            keys = layout.dict_keys.get(f)
            idx = layout.by_field[f]
            if keys is None:
                return self._leaf_value(layout.leaves[idx[0]], vars_[idx[0]], mutable)
            leaves = layout.leaves
            thunks = {k: (lambda j=j: self._leaf_value(leaves[j], vars_[j], mutable))
                      for k, j in zip(keys, idx, strict=True)}
            if f not in layout.sparse:
                return LazyDict(thunks, False)
            where = dict(zip(keys, idx, strict=True))
            if f in layout.counters:  # absent = 0 copies: a key is present when its count is positive
                def present(k: Any) -> SBool:  # a leaf test the run decides without Z3 (both ways are in range)
                    v = vars_[where[k]]
                    return SBool(v > 0, ("bool", ("present", v.get_id()), None))

                def count(k: Any) -> Any:
                    return SInt(vars_[where[k]]) if present(k) else ABSENT

                return LazyDict({k: (lambda k=k: count(k)) for k in keys}, True, present)
            return LazyDict(thunks, True, lambda k: leaves[where[k]].wrap(vars_[where[k]]) != ABSENT)

        return read

    @staticmethod
    def _leaf_value(leaf: Leaf, var: Any, mutable: bool) -> Any:
        v = leaf.wrap(var)
        if leaf.kind == "opaque":  # None, tuples, sets...: `is` and isinstance need the real value
            v = v.concretise()
            return thaw(v) if mutable else v
        return v

    def _runs(self, what: str, where: str | None, body: Callable[[SymRun, Any], Any], mutable: bool):
        """Runs `body(run, instance)` once per path; yields (run, outcome) for the enabled ones."""
        solver = self._solver()
        ctx = _Ctx(self.fields, {f: i for i, f in enumerate(self.fields)}, None, self._reader(mutable))
        bounds = {v.get_id(): self.sym_params[n] for n, v in self.param_vars.items()}
        for leaf, v in zip(self.layout.leaves, self.vars, strict=True):
            if leaf.kind == "int" and leaf.bounds is not None:
                bounds[v.get_id()] = leaf.bounds
        files = getattr(self.model, "_files", set())
        prefix: list[int] | None = []
        count = 0
        while prefix is not None:
            count += 1
            if count > MAX_PATHS:
                raise SpecError(f"{what} has more than {MAX_PATHS:,} symbolic paths{self._opaque_note()}",
                                where=where,
                                hint="the symbolic engines fork on every branch over symbolic values and on every "
                                "value of an opaque field they read; use the explicit engine for this spec")
            run = SymRun(prefix, solver, int_bounds=dict(bounds))
            obj = self._instance(ctx)
            run.instance = obj
            symvalues._current[0] = run
            choice._current[0] = run
            try:
                outcome = body(run, obj)
            except Disabled:
                outcome = _DISABLED
            except (_Reshape, _NewKeys, SpecError):
                raise
            except SymbolicUnsupported as e:
                raise SpecError(f"{what} cannot run on symbolic values: {e}",
                                where=user_frame(e, files) or where,
                                hint="the symbolic engines (bmc, induction) need the spec to compare, add and "
                                "branch on its fields; use the explicit engine for this spec") from None
            except Exception as e:  # noqa: BLE001 - user code
                if solver.check(*run.pc) == z3.unsat:
                    outcome = _DISABLED
                else:
                    raise SpecError(
                        f"{what} raised {type(e).__name__}: {e} when run on symbolic values "
                        f"(on the path where {_show_pc(run.pc)})",
                        where=user_frame(e, files) or where,
                        hint="the symbolic engines run each action on every combination of field values "
                        "inside the fields' domains; make it not raise there, or use the explicit engine") from e
            finally:
                symvalues._current[0] = None
                choice._current[0] = None
            if outcome is not _DISABLED:
                yield run, outcome
            prefix = run.next_prefix()

    # ------------------------------------------------------------------ actions
    def _derive(self) -> None:
        for leaf in self.layout.leaves:
            if leaf.dom is not None:
                leaf.dom.grew = False
        self.paths: list[SymPath] = []
        for a in self.model.actions:
            def body(run: SymRun, obj: Any, a=a) -> Any:
                a.fn(obj)
                return self._writes(obj, a.name)  # inside the run: writes may need to concretise

            for run, updates in self._runs(f"action {a.name}", a.where, body, mutable=True):
                guard = z3.And(*run.pc) if run.pc else z3.BoolVal(True)
                self.paths.append(SymPath(a.name, tuple(run.choices), _label(a.name, run.labels), guard, updates))
        self.invariants = {p.name: self._formula(p) for p in self.model.invariants}

    def _writes(self, obj: Any, action: str) -> dict[int, Any]:
        layout = self.layout
        out: dict[int, Any] = {}
        for name, v in obj.__dict__.items():
            if name[0] == "_":
                continue
            idx = layout.by_field.get(name)
            if idx is None:
                raise SpecError(f"action {action} assigns self.{name}, which is not a field of the state")
            keys = layout.dict_keys.get(name)
            if keys is None:
                pairs = [(idx[0], v)]
            else:
                if not isinstance(v, dict):
                    raise _Reshape(name)
                pending = v.pending_keys() if isinstance(v, LazyDict) else set()
                present = {freeze(concrete(k)): k for k in (dict.keys(v) if isinstance(v, LazyDict) else v.keys())}
                new = set(present) - set(keys)
                if new:
                    raise _NewKeys(name, new)
                if name not in layout.sparse and set(present) | pending != set(keys):
                    raise _NewKeys(name, set())  # a key was removed: the field's key set varies
                pairs = [(j, dict.__getitem__(v, present[k]) if k in present else ABSENT)
                         for k, j in zip(keys, idx, strict=True) if k not in pending]
            for j, x in pairs:
                term = self._encode(layout.leaves[j], x, action)
                if not term.eq(self.vars[j]):
                    out[j] = term
        return out

    def _encode(self, leaf: Leaf, x: Any, action: str) -> Any:
        k = leaf.kind
        if x is ABSENT:  # a key deleted from a sparse dict (a counter's absent is 0 copies)
            return z3.IntVal(0) if k == "int" else leaf.const(leaf.dom.add(ABSENT))
        if k == "bool":
            if isinstance(x, SBool):
                return x.ex
            if type(x) is bool:
                return z3.BoolVal(x)
            raise _Reshape(leaf.name)
        if k == "int":
            if isinstance(x, SInt):
                return x.ex
            if type(x) is int:
                return z3.IntVal(x)
            raise _Reshape(leaf.name)
        if k == "enum":
            if isinstance(x, SEnum) and x.dom is leaf.dom:
                return x.ex
            if isinstance(x, SEnum):
                x = x.concretise()
            if type(x) is str:
                return leaf.const(leaf.dom.add(x))
            raise _Reshape(leaf.name)
        try:
            c = freeze(concrete(x))
        except SymbolicUnsupported as e:
            raise SpecError(f"field {leaf.name} cannot be mapped to Z3: action {action} writes a value that "
                            f"holds a symbolic number ({e})",
                            hint="give the field a plain int, bool or string type, or use the explicit engine") \
                from None
        except UnfreezableValue:
            raise SpecError(f"action {action} sets self.{leaf.name} to a value that cannot be part of a state") \
                from None
        return leaf.const(leaf.dom.add(c))

    # ------------------------------------------------------------------ properties
    def _formula(self, p: Any) -> Any:
        def body(run: SymRun, obj: Any) -> Any:
            r = p.fn(obj)
            if r is None:
                raise SpecError(f"{p.kind} {p.name} returned None", where=p.where,
                                hint="return True when it holds, False (or a string saying why) when it does not")
            if isinstance(r, SBool):
                return r.ex
            if r is True:
                return z3.BoolVal(True)
            if r is False or isinstance(r, str):
                return z3.BoolVal(False)
            return z3.BoolVal(bool(r))

        disj = []
        for run, holds in self._runs(f"{p.kind} {p.name}", p.where, body, mutable=False):
            if z3.is_false(holds):
                continue
            disj.append(z3.And(*run.pc, holds) if run.pc else holds)
        return z3.simplify(z3.Or(*disj)) if disj else z3.BoolVal(False)

    # ------------------------------------------------------------------ concrete <-> Z3
    def encode_state(self, state: tuple, vs: list[Any]) -> Any:
        """The constraint that the leaf variables `vs` hold the concrete `state`."""
        eqs = []
        for leaf, v, x in zip(self.layout.leaves, vs, self.layout.leaf_values(state), strict=True):
            if leaf.kind in ("enum", "opaque"):
                c = leaf.dom.code(x)
                if c is None:
                    raise SpecError(f"internal: value {x!r} of {leaf.name} missing from its domain")
                eqs.append(v == c)
            else:
                eqs.append(v == leaf.encode(x))
        return z3.And(*eqs)

    def decode_state(self, m: z3.ModelRef, vs: list[Any]) -> tuple:
        return self.layout.state_of([leaf.decode(m, v) for leaf, v in zip(self.layout.leaves, vs, strict=True)])

    def _opaque_note(self) -> str:
        big = sorted((leaf for leaf in self.layout.leaves if leaf.kind == "opaque"), key=lambda lf: -len(lf.dom))
        if not big:
            return ""
        parts = ", ".join(f"{leaf.name} ({len(leaf.dom)} values)" for leaf in big[:3])
        return f"; fields mapped as opaque values, concretised when read: {parts}"

    def describe(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for leaf in self.layout.leaves:
            kinds[leaf.kind] = kinds.get(leaf.kind, 0) + 1
        return {"leaves": len(self.layout.leaves), "leaf_kinds": kinds, "paths": len(self.paths),
                "seed_states": len(self._seeds)}


def refuse_unmappable(model: Any) -> None:
    """Refuses, up front and by name, the constructs the Z3 relation cannot represent.

    A timed spec lets time pass after each step (zones, `explorer.timed`), which the step-by-step
    relation would skip. Actor specs are mapped: `network` is a sparse dict (message -> copies) over
    the universe of messages seen; one whose messages never stop changing (a Lamport clock in a
    message) is refused later, naming `network`, when its universe does not close.
    """
    if getattr(model, "interpreted_only", False):  # explorer.timed models let time pass after each step
        raise SpecError(
            f"{model.name} is a timed spec ({type(model).__name__}): time passes after every step (zones), "
            "which the symbolic engines' step relation does not model",
            hint="use the explicit engine (--engine explicit, the default): it computes the zones")


class _Disabled:
    pass


_DISABLED = _Disabled()


def _show_pc(pc: list[Any]) -> str:
    if not pc:
        return "nothing was assumed"
    text = " and ".join(str(c) for c in pc[:6])
    return text + (" ..." if len(pc) > 6 else "")

