"""The timing boundary of a timed spec: for which delays (ttl, pause, drift, ...) a property fails, as a formula.

    from explorer.timed.boundary import timing_boundary
    b = timing_boundary("specs/redis_lock.py", "mutual_exclusion", symbolic=("ttl", "max_pause", "drift"),
                        params={"variant": "no_fencing", "timing": True})
    b.unsafe_text        # 'ttl <= max_pause + drift'   (found, not written in the spec)

How, and why it is exact for specs whose events are bounded:
1. The spec runs with the symbolic parameters as Z3 reals and with an untimed zone (`FreeZone`), which
   only remembers which timers are armed: every order of events the discrete logic allows is
   explored, and each step still records its timer operations, whose bounds are now Z3 terms
   (`ttl - drift`). A symbolic parameter may appear only in timer bounds: a spec that branches
   on one fails with Z3's "cannot be cast to a concrete Boolean" (reported as a usage error).
2. Every path from the initial state to the first state that violates the property is collected
   (depth-first, without merging states: the timing of a path depends on all of it).
3. A path is possible at parameter values p iff its timing constraints (explorer.timed.schedule,
   with the bounds as terms) have a solution t: the unsafe region is the disjunction over paths of
   "exists t. C(t, p)", and Z3's quantifier elimination turns it into a formula over p alone.
4. That formula is simplified, and the simplest linear inequality with coefficients in {-1, 0, 1}
   that Z3 proves equivalent to it (within the domain: parameters >= 0, every timer's lo >= 0 and
   hi >= lo) is reported, with one witness point on each side.
The result is exact for the explored paths; paths are finite when each process has finitely many
events (redis_lock: each client takes the lock once), which `max_paths` guards.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import z3

from ..errors import ActionError, UsageError
from .schedule import constraints
from .spec import FIELD, TimedModel, TimedSpec
from .zone import is_symbolic


@dataclass(frozen=True)
class FreeZone:
    """An untimed stand-in for Zone: which timers are armed, no timing (every order is allowed)."""

    armed_names: tuple[str, ...] = ()
    settled: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        return self.armed_names

    @property
    def timers(self) -> tuple:
        return ()

    def armed(self, name: str) -> bool:
        return name in self.armed_names

    def start(self, name: str, lo: Any, hi: Any) -> FreeZone:
        return FreeZone(tuple(sorted(set(self.armed_names) | {name})), False)

    def fire(self, name: str) -> FreeZone:
        return FreeZone(tuple(n for n in self.armed_names if n != name), False)

    def cancel(self, name: str) -> FreeZone:
        return self.fire(name)

    def settle(self) -> FreeZone:
        return FreeZone(self.armed_names, True)


class _FreeModel(TimedModel):
    """The spec with FreeZone: every order its discrete logic allows, timer operations recorded."""

    def _run_init(self):
        self._base["_zone_cls"] = FreeZone
        return super()._run_init()


@dataclass
class Boundary:
    """Where a property of a timed spec fails, over its symbolic timing parameters."""

    prop: str
    params: tuple[str, ...]
    unsafe: Any  # a Z3 formula over the parameters: the property fails iff it holds (within `domain`)
    domain: Any
    unsafe_text: str  # the fitted inequality when one was proved equivalent, else the simplified formula
    fitted: bool
    paths: int  # violating paths examined
    unsafe_witness: dict[str, Fraction] | None = None
    safe_witness: dict[str, Fraction] | None = None
    notes: list[str] = field(default_factory=list)
    safe_text: str = ""  # when the property holds: the fitted inequality negated ('ttl > max_pause + drift')

    def holds_at(self, point: dict[str, Any]) -> bool:
        """Says whether the property holds at a point (every symbolic parameter given a number)."""
        at = z3.simplify(z3.substitute(self.unsafe, *[(z3.Real(n), z3.RealVal(str(point[n]))) for n in self.params]))
        if not (z3.is_true(at) or z3.is_false(at)):
            raise UsageError(f"the timing boundary has no truth value at {point}: give every one of {self.params}")
        return z3.is_false(at)


def timing_boundary(spec: Any, prop: str, *, symbolic: tuple[str, ...], params: dict[str, Any] | None = None,
                    max_paths: int = 20_000) -> Boundary:
    """Computes the parameter region where `prop` fails (see the module docstring)."""
    cls = _load(spec)
    syms = {name: z3.Real(name) for name in symbolic}
    for name in symbolic:
        if name not in cls._param_defs:
            raise UsageError(f"{cls.__name__} has no parameter {name!r} to treat as symbolic")
    try:
        model = _FreeModel(cls, {**(params or {}), **syms})
        paths = _violating_paths(model, prop, max_paths)
    except (z3.Z3Exception, ActionError) as e:  # an action raises ActionError from the Z3Exception
        if not isinstance(e, z3.Z3Exception) and not isinstance(e.__cause__, z3.Z3Exception):
            raise
        raise UsageError(f"a symbolic parameter of {cls.__name__} is used outside timer bounds: {e}",
                         hint="timing_boundary treats only delays (set_timer(after=...)) symbolically") from None
    domain = _domain(syms.values(), paths)
    disjuncts = []
    for steps in paths:
        ts, cs = constraints([], steps)
        disjuncts.append(z3.Exists(ts, z3.And(*cs)) if cs else z3.BoolVal(True))
    unsafe = _eliminate(disjuncts, domain)
    text, fitted, safe_text = _fit(unsafe, domain, list(syms.values()))
    b = Boundary(prop, tuple(symbolic), unsafe, domain, text, fitted, len(paths), safe_text=safe_text)
    prefer = {n: cls._param_defs[n].default for n in symbolic}  # witnesses near the spec's defaults
    b.unsafe_witness = _witness(z3.And(domain, unsafe), syms, prefer)
    b.safe_witness = _witness(z3.And(domain, z3.Not(unsafe)), syms, prefer)
    return b


def _load(spec: Any) -> type[TimedSpec]:
    if isinstance(spec, (str, Path)):
        from ..dsl.loader import load_spec

        spec = load_spec(spec)
    if not (isinstance(spec, type) and issubclass(spec, TimedSpec)):
        raise UsageError(f"timing_boundary needs a TimedSpec, not {getattr(spec, '__name__', spec)!r}")
    return spec


def _violating_paths(model: _FreeModel, prop: str, max_paths: int) -> list[list[list[tuple]]]:
    """Timer operations of every path to the first state violating `prop` (deduplicated)."""
    if prop not in {p.name for p in model.invariants}:
        raise UsageError(f"{model.name} has no invariant {prop!r}",
                         hint="invariants: " + ", ".join(p.name for p in model.invariants))
    zi = model.fields.index(FIELD)
    found: set[tuple] = set()
    count = 0
    stack = []
    for state, _step in model.initial_states():
        if state[zi].armed_names:
            raise UsageError("timing_boundary: timers armed in init() are not supported; arm them in an action")
        stack.append((state, ()))
    while stack:
        state, ops = stack.pop()
        if not _holds(model, state, prop):
            found.add(ops)
            continue
        for nxt, step in model.successors(state):
            count += 1
            if count > max_paths * 50:
                raise UsageError(f"timing_boundary: more than {max_paths} paths; bound the number of events")
            stack.append((nxt, ops + (tuple(tuple(op) for op in step.info.get("timing", ())),)))
    return [[list(step) for step in ops] for ops in sorted(found, key=repr)]


def _holds(model: _FreeModel, state: tuple, prop: str) -> bool:
    return all(r.holds for name, r in model.check_invariants(state) if name == prop)


def _domain(syms: Any, paths: list) -> Any:
    cs = [s >= 0 for s in syms]
    seen: set[str] = set()  # by s-expression: z3's pretty printer is slow
    for steps in paths:
        for ops in steps:
            for op in ops:
                if op[0] == "start":
                    lo, hi = op[2], op[3]
                    for c in ([_term(lo) >= 0] + ([] if hi is None else [_term(hi) >= _term(lo)])):
                        key = c.sexpr()
                        if key not in seen:
                            seen.add(key)
                            cs.append(c)
    return z3.And(*cs)


def _term(x: Any) -> Any:
    return x if is_symbolic(x) else z3.RealVal(str(x))


def _eliminate(disjuncts: list, domain: Any) -> Any:
    """Quantifier elimination per path (smaller problems than one big disjunction), then their union."""
    out = []
    for d in disjuncts:
        g = z3.Goal()
        g.add(domain, d)
        r = z3.Then("qe2", "simplify")(g)  # qe2 (model-based projection): 30 ms a path here, "qe" took 12 s
        out.append(z3.Or(*[z3.And(*sub) for sub in r]) if len(r) else z3.BoolVal(False))
    return z3.simplify(z3.Or(*out)) if out else z3.BoolVal(False)


def _equivalent(a: Any, b: Any, domain: Any) -> bool:
    s = z3.Solver()
    s.add(domain, z3.Xor(a, b))
    return s.check() == z3.unsat


def _fit(unsafe: Any, domain: Any, syms: list) -> tuple[str, bool, str]:
    """The simplest `sum(a_i p_i) >= 0` (or > 0) equivalent to `unsafe` within the domain, as text;
    then whether one was found, and the text of its negation (when the property holds)."""
    if _equivalent(unsafe, z3.BoolVal(False), domain):
        return "false (the property holds for every value)", True, "true"
    if _equivalent(unsafe, z3.BoolVal(True), domain):
        return "true (the property fails for every value)", True, "false"
    best = None
    for coeffs in itertools.product((-1, 0, 1), repeat=len(syms)):
        if not any(coeffs):
            continue
        lhs = z3.Sum([c * s for c, s in zip(coeffs, syms, strict=True) if c])
        for strict in (False, True):
            cand = lhs > 0 if strict else lhs >= 0
            if _equivalent(unsafe, cand, domain):
                k = sum(map(abs, coeffs))
                if best is None or k < best[0]:
                    best = (k, coeffs, strict)
    if best is None:
        return str(unsafe), False, f"Not({unsafe})"
    _k, coeffs, strict = best
    pos = [str(s) for c, s in zip(coeffs, syms, strict=True) if c < 0]
    neg = [str(s) for c, s in zip(coeffs, syms, strict=True) if c > 0]
    # sum(neg) - sum(pos) >= 0  reads  sum(pos) <= sum(neg)
    left, right = " + ".join(pos) or "0", " + ".join(neg) or "0"
    return f"{left} {'<' if strict else '<='} {right}", True, f"{left} {'>=' if strict else '>'} {right}"


def _witness(formula: Any, syms: dict[str, Any], prefer: dict[str, Any]) -> dict[str, Fraction] | None:
    opt = z3.Optimize()
    opt.add(formula)
    for name, s in syms.items():  # the spec's defaults where possible, else round values
        d = prefer.get(name)
        if isinstance(d, (int, float, Fraction)) and d == d and d not in (float("inf"), float("-inf")):
            opt.add_soft(s == z3.RealVal(str(d)), weight=2)
        opt.add_soft(s == z3.ToInt(s))
    if opt.check() != z3.sat:
        return None
    m = opt.model()
    out = {}
    for name, s in syms.items():
        v = m.eval(s, model_completion=True)
        out[name] = Fraction(v.numerator_as_long(), v.denominator_as_long())
    return out
