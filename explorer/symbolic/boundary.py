"""Symbolic parameters: Z3 finds where a property starts to fail, as a formula and a witness on each side.

A parameter declared symbolic (`r = param(2, symbolic=True, bounds=(1, 5))`) becomes a Z3 integer.
Two methods compute the *violating condition*, the parameter values for which some run breaks an
invariant:

- `method="explicit"` (the default, and the only one for actor specs): the parametric explicit
  search of `paramsearch.py`; states stay concrete, each branch on a parameter forks with a path
  condition, the violating condition is the disjunction of the conditions of the failing paths.
  Exhaustive when the state space is finite (a `depth` bound is optional).
- `method="bmc"`: the bounded unrolling of the spec's Z3 relation (`--engine bmc`'s encoding),
  the parameters as unknowns; a claim bounded by `depth`, for plain specs whose fields map to Z3.
- `method="sweep"`: no Z3 condition, the explicit engine at every point of the box (any spec, timed
  ones and float parameters included); the formula is only fitted to the points (`verified` false).
- `method="timing"`: a plain timed spec's delays (`unknowns`: ttl, max_pause, drift) as Z3 reals
  over all values >= 0, by explorer.timed.boundary (quantifier elimination over the paths' timing
  constraints); the formula says when `prop` holds ("ttl > max_pause + drift").

Z3 then enumerates the points of the parameter box that satisfy the condition (one query per
point, each blocking the last); the simplest linear inequality `a·p > c` (small integer
coefficients) separating them from the safe points is reported, and Z3 checks that it is
equivalent to the violating condition's negation on the whole box. Parameters that shape the
state (an actor spec's `n`, read by `nodes()`) stay concrete: they are swept over their bounds
(or `over={"n": [2, 3]}`), and their values become variables of the formula, so `r + w > n` is
found, not written in the spec. Points where the spec refuses its parameters (a SpecError when
built, e.g. r > n) are outside the box.
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from ..dsl.params import param
from ..errors import SpecError, UsageError
from ..trace.model import Trace
from .engine import Unrolling
from .paramsearch import ParamSearch
from .relation import SymbolicModel


def symbolic_param(default: int, *, bounds: tuple[int, int] | None = None, **kw: Any) -> param:
    """Declares an int parameter `explore boundary` treats as a Z3 unknown in `bounds` (inclusive).

    The same as `param(default, symbolic=True, bounds=...)`, kept as a shorter spelling.
    """
    return param(default, symbolic=True, bounds=bounds, **kw)


@dataclass
class Boundary:
    """Where the invariants hold, over a box of parameter values: a formula, the points, two witnesses."""

    names: tuple[str, ...]  # the variables of the formula (symbolic params, then the swept ones)
    formula: str | None  # e.g. "r + w > n": the invariants hold iff it is true (within `depth` for bmc)
    unsafe: list[dict[str, int]]
    safe: list[dict[str, int]]
    depth: int | None
    method: str = "explicit"
    unsafe_witness: dict[str, int] | None = None
    unsafe_trace: Trace | None = None
    unsafe_property: str | None = None
    safe_witness: dict[str, int] | None = None
    verified: bool = False  # Z3 showed the formula equivalent to "no invariant fails" on the whole box
    complete: bool = True
    elapsed_s: float = 0.0
    queries: int = 0
    runs: int = 0  # explicit-engine runs of the sweep method
    states: int = 0
    invalid: list[dict[str, int]] = field(default_factory=list)  # points the spec refuses
    notes: list[str] = field(default_factory=list)
    bounds: dict[str, tuple[int, int]] = field(default_factory=dict)  # the Z3 unknowns
    swept: dict[str, list[int]] = field(default_factory=dict)  # the concrete params repeated over
    timed: Any = None  # method "timing": explorer.timed.boundary.Boundary (the Z3 condition over reals)

    def holds_at(self, point: dict[str, Any]) -> bool:
        if self.timed is not None:  # real-valued unknowns: the Z3 condition decides any point
            return self.timed.holds_at(point)
        return point not in self.unsafe

    def as_json(self) -> dict[str, Any]:
        return {"result": "boundary" if self.formula is not None else "no_formula",
                "params": list(self.names), "unknowns": {k: list(v) for k, v in self.bounds.items()},
                "swept": self.swept, "formula": self.formula, "method": self.method, "depth": self.depth,
                "verified": self.verified, "complete": self.complete,
                "unsafe_points": len(self.unsafe), "safe_points": len(self.safe), "invalid_points": len(self.invalid),
                "unsafe_witness": self.unsafe_witness, "unsafe_property": self.unsafe_property,
                "unsafe_trace_length": len(self.unsafe_trace.steps) if self.unsafe_trace else None,
                "safe_witness": self.safe_witness, "z3_queries": self.queries, "explicit_runs": self.runs, "states": self.states,
                "elapsed_s": round(self.elapsed_s, 3), "notes": self.notes}


def symbolic_params_of(spec_cls: type) -> dict[str, tuple[int, int]]:
    """Returns {name: (lo, hi)} for the spec's parameters declared symbolic."""
    out = {}
    for name, p in spec_cls._param_defs.items():
        if not getattr(p, "symbolic", False):
            continue
        bounds = getattr(p, "bounds", None)
        if bounds is None and p.choices is not None and all(type(c) is int for c in p.choices):
            bounds = (min(p.choices), max(p.choices))
        if bounds is None or type(p.default) is not int:
            raise SpecError(f"symbolic parameter {name} needs int bounds",
                            hint=f"{name} = param({p.default!r}, symbolic=True, bounds=(1, 5))")
        lo, hi = int(bounds[0]), int(bounds[1])
        if lo > hi:
            raise SpecError(f"symbolic parameter {name}: bounds=({lo}, {hi}) is empty", hint="write (lo, hi), lo <= hi")
        out[name] = (lo, hi)
    return out


def structural_params(spec_cls: type, params: dict[str, Any], bounds: dict[str, tuple[int, int]]) -> set[str]:
    """Returns the symbolic params that change an actor spec's nodes: they cannot be unknowns, only swept.

    A param is structural when two of its values (the others at their defaults) give different node
    ids or node classes; reading it in `nodes()` only to validate it does not make it structural.
    """
    if not hasattr(spec_cls, "nodes"):
        return set()
    out = set()
    for name, (lo, hi) in bounds.items():
        shapes = set()
        for v in range(lo, hi + 1):
            try:
                model = spec_cls.build_model({**params, name: v})
            except (SpecError, UsageError):
                continue
            bp = model._base.get("_blueprint", {})
            shapes.add(tuple((k, c.__qualname__) for k, c in bp.items()))
        if len(shapes) > 1:
            out.add(name)
    return out


def _valid_points(spec_cls: type, params: dict[str, Any], bounds: dict[str, tuple[int, int]]):
    """Splits the box into the points the spec accepts and those it refuses when built."""
    valid, invalid = [], []
    for values in itertools.product(*[range(lo, hi + 1) for lo, hi in bounds.values()]):
        point = dict(zip(bounds, values, strict=True))
        try:
            spec_cls.build_model({**params, **point})
        except (SpecError, UsageError):
            invalid.append(point)
        else:
            valid.append(point)
    return valid, invalid


def _point(pv: dict[str, Any], point: dict[str, int]) -> Any:
    return z3.And(*[pv[n] == point[n] for n in pv])


def _enumerate(cond: Any, domain: Any, pv: dict[str, Any]) -> tuple[list[dict[str, int]], int]:
    """Z3 lists the points of `domain` satisfying `cond`, one query per point, each blocking the last."""
    s = z3.Solver()
    s.add(domain, cond)
    out, queries = [], 0
    while True:
        queries += 1
        if s.check() != z3.sat:
            return out, queries
        m = s.model()
        point = {n: m.eval(v, model_completion=True).as_long() for n, v in pv.items()}
        out.append(point)
        s.add(z3.Not(_point(pv, point)))


def _unsafe_points(spec_cls: type, params: dict[str, Any], bounds: dict[str, tuple[int, int]], depth: int,
                   spec_file: str | None) -> tuple[list[dict[str, int]], int, Any, Any]:
    """BMC method: the points of `bounds` where an invariant fails within `depth` steps."""
    model = spec_cls.build_model(params)
    sm = SymbolicModel(model, symbolic_params=bounds)
    un = Unrolling(sm)
    s = z3.Solver()
    s.add(*sm.param_constraints(), *un.ranges(0), un.init())
    for k in range(depth):
        s.add(*un.ranges(k + 1), un.trans(k, stutter=True))  # a run may end before `depth`
    bad = z3.Or(*[z3.Not(un.all_inv(k)) for k in range(depth + 1)])
    s.add(bad)
    unsafe, queries = [], 0
    pv = sm.param_vars
    while True:
        queries += 1
        if s.check() != z3.sat:
            break
        m = s.model()
        point = {n: m.eval(v, model_completion=True).as_long() for n, v in pv.items()}
        unsafe.append(point)
        s.add(z3.Or(*[v != point[n] for n, v in pv.items()]))
    cond = z3.Or(*[_point(pv, p) for p in unsafe]) if unsafe else z3.BoolVal(False)
    return unsafe, queries, cond, pv


def find_boundary(spec_cls: type, *, params: dict[str, Any] | None = None,
                  bounds: dict[str, tuple[int, int]] | None = None, over: dict[str, Sequence[int]] | None = None,
                  depth: int | None = None, spec_file: str | None = None, max_coef: int = 2,
                  method: str = "explicit", max_nodes: int | None = None, trace: bool = True,
                  unknowns: Sequence[str] | None = None, prop: str | None = None) -> Boundary:
    """Finds the boundary between parameter values where the invariants hold and where they do not.

    `bounds` overrides the spec's declared symbolic parameters and their bounds; `over` lists
    values of concrete parameters to repeat the search for (they become variables of the formula).
    An actor spec's symbolic parameters that `nodes()` reads are swept that way automatically.
    `method="timing"` (timed specs): `unknowns` (or the keys of `bounds`) are real-valued delays,
    Z3 unknowns over all values >= 0, and `prop` the invariant (see `timing_route`).
    """
    t0 = time.perf_counter()
    if method == "timing":
        return _timing(spec_cls, dict(params or {}), list(unknowns or bounds or ()), prop, spec_file, trace, t0)
    if method not in ("explicit", "bmc", "sweep"):
        raise UsageError(f"unknown boundary method {method!r} (explicit, bmc, sweep or timing)")
    if method == "bmc" and depth is None:
        raise UsageError("the bmc method needs a bound: depth=K (--depth K)")
    params = dict(params or {})
    declared = {k: v for k, v in symbolic_params_of(spec_cls).items() if k not in params}  # a given value wins
    bounds = dict(bounds if bounds is not None else declared)
    unknown = [n for n in [*bounds, *(over or {})] if n not in spec_cls._param_defs]
    if unknown:
        raise UsageError(f"{spec_cls.__name__} has no parameter {unknown[0]!r}")
    over = {k: list(v) for k, v in (over or {}).items()}
    for n in structural_params(spec_cls, {**params, **{k: v[0] for k, v in over.items()}}, bounds):
        lo, hi = bounds.pop(n)
        over.setdefault(n, list(range(lo, hi + 1)))
    for n in over:
        bounds.pop(n, None)
    if not bounds:
        raise UsageError(f"{spec_cls.__name__} declares no symbolic parameter that can be an unknown",
                         hint="declare one, e.g. r = param(2, symbolic=True, bounds=(1, 5))")
    names = tuple(bounds) + tuple(over)
    b = Boundary(names, None, [], [], depth, method, bounds=dict(bounds), swept=dict(over))
    conds: list[tuple[dict[str, int], Any, Any, Any]] = []  # (fixed, condition, domain, vars) per sweep point
    for combo in itertools.product(*over.values()) if over else [()]:
        fixed = dict(zip(over, combo, strict=True))
        base = {**params, **fixed}
        valid, invalid = _valid_points(spec_cls, base, bounds)
        b.invalid.extend({**p, **fixed} for p in invalid)
        if not valid:
            continue
        if method == "sweep":  # the explicit engine at every point: no Z3 condition, a cross-check
            unsafe = [p for p in valid if _violates(spec_cls, {**base, **p}, depth, spec_file)]
            b.runs += len(valid)
            conds.append((fixed, None, None, None))
        elif method == "bmc":
            unsafe, q, cond, pv = _unsafe_points(spec_cls, {**base, **valid[0]}, bounds, depth, spec_file)
            b.queries += q
            domain = z3.Or(*[_point(pv, p) for p in valid])
        else:
            model = spec_cls.build_model({**base, **valid[0]})
            pv = {n: z3.Int(n) for n in bounds}
            domain = z3.Or(*[_point(pv, p) for p in valid])
            res = ParamSearch(model, bounds, domain, valid).run(max_nodes=max_nodes, depth=depth)
            b.states += res.distinct_states
            b.complete = b.complete and res.complete
            cond = res.condition()
            unsafe, q = _enumerate(cond, domain, pv)
            b.queries += q
        if method != "sweep":
            unsafe = [p for p in unsafe if p in valid]
            conds.append((fixed, cond, domain, pv))
        b.unsafe.extend({**p, **fixed} for p in unsafe)
        b.safe.extend({**p, **fixed} for p in valid if p not in unsafe)
    fit = _fit(names, b.safe, b.unsafe, max_coef)
    if fit is None:
        b.notes.append(f"no linear inequality with coefficients up to {max_coef} separates the safe points "
                       "from the unsafe ones")
    else:
        b.formula = _render(names, *fit) if isinstance(fit, tuple) else fit
        b.verified = method != "sweep" and all(_equivalent(fit, names, fixed, cond, domain, pv)
                                               for fixed, cond, domain, pv in conds)
    if b.safe:
        b.safe_witness = min(b.safe, key=lambda p: (sum(p[n] for n in bounds), tuple(p.values())))
    if b.unsafe:
        b.unsafe_witness = min(b.unsafe, key=lambda p: (sum(p.values()), tuple(p.values())))
        if trace:
            _witness_trace(spec_cls, params, b, spec_file)
    if not b.complete:
        b.notes.append("the search was cut (depth or node bound): the safe side is only safe within it")
    b.elapsed_s = time.perf_counter() - t0
    return b


def _timing(spec_cls: type, params: dict[str, Any], unknowns: list[str], prop: str | None, spec_file: str | None,
            trace: bool, t0: float) -> Boundary:
    """The timing route as a Boundary: the formula says when the property holds, over real-valued delays."""
    data, tr, timed = _timing_data(spec_cls, params, unknowns, prop, spec_file, trace)
    b = Boundary(tuple(unknowns), data["formula"], [], [], None, "timing", unsafe_witness=data["unsafe_witness"],
                 unsafe_trace=tr, unsafe_property=data["property"] if tr is not None else None,
                 safe_witness=data["safe_witness"], verified=data["fitted"], notes=list(data["notes"]), timed=timed)
    b.elapsed_s = time.perf_counter() - t0
    return b


def _violates(spec_cls: type, params: dict[str, Any], depth: int | None, spec_file: str | None) -> bool:
    """Says whether the explicit engine finds an invariant violation at one concrete point."""
    from ..api import run_model
    from ..engine.options import Options

    r = run_model(spec_cls.build_model(params), Options(depth=depth, progress=False), spec_file=spec_file)
    if not r.complete and not r.violations:
        raise UsageError(f"the explicit search at {params} did not complete", hint="give --depth")
    return any(v.kind == "invariant" for v in r.violations)


def _witness_trace(spec_cls: type, params: dict[str, Any], b: Boundary, spec_file: str | None) -> None:
    """A concrete shortest counterexample at the unsafe witness, by the explicit engine (a real, replayable run)."""
    from ..api import run_model
    from ..engine.options import Options

    model = spec_cls.build_model({**params, **b.unsafe_witness})
    r = run_model(model, Options(depth=b.depth if b.method == "bmc" else None, progress=False), spec_file=spec_file)
    bad = [v for v in r.violations if v.trace is not None]
    if bad:
        b.unsafe_trace, b.unsafe_property = bad[0].trace, bad[0].property
    else:  # pragma: no cover - the two searches disagree: a bug to report, not to hide
        b.notes.append(f"the explicit engine found no violation at the unsafe witness {b.unsafe_witness}")


def _equivalent(fit: Any, names: tuple[str, ...], fixed: dict[str, int], cond: Any, domain: Any, pv: dict) -> bool:
    """Z3 checks, on the box, that the formula is true exactly where the violating condition is false."""
    if fit == "true":
        f = z3.BoolVal(True)
    elif fit == "false":
        f = z3.BoolVal(False)
    else:
        coefs, c = fit
        terms = [a * (pv[n] if n in pv else z3.IntVal(fixed[n])) for a, n in zip(coefs, names, strict=True) if a]
        f = z3.Sum(*terms) > c
    s = z3.Solver()
    s.add(domain, f == cond)  # the formula says "safe", cond says "fails": they must always differ
    return s.check() == z3.unsat


def _fit(names: tuple[str, ...], safe: list[dict], unsafe: list[dict], max_coef: int) -> Any:
    """Returns the simplest `a·p > c` true exactly on the safe points (fewest terms, then smallest |a|).

    "true" or "false" when one side is empty; (coefs, c) otherwise; None when nothing separates them.
    """
    if not unsafe:
        return "true"
    if not safe:
        return "false"
    cands = []
    for coefs in itertools.product(range(-max_coef, max_coef + 1), repeat=len(names)):
        if not any(coefs):
            continue
        lo_safe = min(sum(c * p[n] for c, n in zip(coefs, names, strict=True)) for p in safe)
        hi_unsafe = max(sum(c * p[n] for c, n in zip(coefs, names, strict=True)) for p in unsafe)
        if lo_safe > hi_unsafe:
            cands.append((sum(1 for c in coefs if c), sum(abs(c) for c in coefs), hi_unsafe != 0,
                          [-c for c in coefs], coefs, hi_unsafe))
    if not cands:
        return None
    *_, coefs, c = min(cands)
    return tuple(coefs), c


def timing_route(spec_cls: type, params: dict[str, Any], unknowns: Sequence[str], prop: str | None,
                 spec_file: str | None = None) -> tuple[dict[str, Any], Trace | None]:
    """`explore boundary --method timing`: explorer.timed's Z3 timing boundary over real-valued delays.

    Returns its JSON object and the explicit engine's counterexample at the unsafe witness.
    """
    data, trace, _ = _timing_data(spec_cls, params, unknowns, prop, spec_file, True)
    return data, trace


def _timing_data(spec_cls: type, params: dict[str, Any], unknowns: Sequence[str], prop: str | None,
                 spec_file: str | None, trace_it: bool) -> tuple[dict[str, Any], Trace | None, Any]:
    from ..timed.boundary import timing_boundary

    invs = [p.name for p in spec_cls._properties if p.kind == "invariant"]
    if prop is None:
        if len(invs) != 1:
            raise UsageError(f"--method timing needs --property NAME: {spec_cls.__name__} has the invariants "
                             f"{', '.join(invs) or 'none'}")
        prop = invs[0]
    if not unknowns:
        raise UsageError("--method timing needs the delays to treat as unknowns: --unknown NAME (repeatable)",
                         hint="e.g. --unknown ttl --unknown max_pause --unknown drift")
    t0 = time.perf_counter()
    b = timing_boundary(spec_cls, prop, symbolic=tuple(unknowns), params=params)
    data = {"result": "boundary", "method": "timing", "property": prop, "params": list(unknowns),
            "formula": b.safe_text, "unsafe_formula": b.unsafe_text, "fitted": b.fitted, "violating_paths": b.paths,
            "unsafe_witness": _numbers(b.unsafe_witness), "safe_witness": _numbers(b.safe_witness),
            "unsafe_trace_length": None, "notes": list(b.notes)}
    trace = None
    if b.unsafe_witness is not None and trace_it:  # a real run at the witness, by the explicit timed search
        from ..api import run_model
        from ..engine.options import Options

        model = spec_cls.build_model({**params, **data["unsafe_witness"]})
        r = run_model(model, Options(progress=False), spec_file=spec_file)
        bad = [v for v in r.violations if v.trace is not None and v.property == prop]
        if bad:
            trace = bad[0].trace
            data["unsafe_trace_length"] = len(trace.steps)
        else:
            data["notes"].append(f"the explicit timed search found no violation of {prop} at the unsafe witness")
    data["elapsed_s"] = round(time.perf_counter() - t0, 3)
    return data, trace, b


def _numbers(point: dict[str, Any] | None) -> dict[str, Any] | None:
    """Fractions as ints or floats, for JSON and for --param-like values."""
    if point is None:
        return None
    return {k: int(v) if v == int(v) else float(v) for k, v in point.items()}


def render_timing(data: dict[str, Any], spec_cls: type, trace: Trace | None, color: bool = False) -> str:
    """Returns the timing boundary as the terminal shows it."""
    from ..trace.text import render_text

    def show(p: dict[str, Any] | None) -> str:
        return " ".join(f"{k}={v}" for k, v in sorted(p.items())) if p else "none"

    lines = [f"Boundary of {spec_cls.__name__}: Z3 unknowns {', '.join(data['params'])} (real-valued delays; "
             f"explorer.timed timing boundary over {data['violating_paths']} violating paths, {data['elapsed_s']:.2f}s)",
             "", f"  {data['property']} holds iff {data['formula']}",
             f"  ({data['property']} fails iff {data['unsafe_formula']})",
             "  (proved equivalent by Z3 within the domain: parameters >= 0, every timer's lo >= 0 and hi >= lo)"
             if data["fitted"] else "  (the simplified Z3 formula: no small linear inequality is equivalent)",
             *data["notes"], "", f"safe witness:   {show(data['safe_witness'])}",
             f"unsafe witness: {show(data['unsafe_witness'])}"
             + (f"  {data['property']} fails in {data['unsafe_trace_length']} steps:" if trace else "")]
    if trace is not None:
        lines += ["", render_text(trace, color=color)]
    return "\n".join(lines)


def render_boundary(b: Boundary, spec_cls: type, color: bool = False) -> str:
    """Returns the boundary as the terminal shows it: the formula, the witnesses, the counterexample."""
    from ..trace.text import render_text

    def show(p: dict[str, int] | None) -> str:
        return " ".join(f"{k}={v}" for k, v in sorted(p.items())) if p else "none"

    unknowns = ", ".join(f"{n} in {lo}..{hi}" for n, (lo, hi) in b.bounds.items())
    swept = "; swept: " + ", ".join(f"{n} in {v}" for n, v in b.swept.items()) if b.swept else ""
    how = {"explicit": "explicit parametric search", "sweep": "sweep: the explicit engine at every point",
           "timing": "real-valued delays >= 0, explorer.timed's Z3 timing boundary"}.get(b.method, f"bmc, depth <= {b.depth}")
    if b.method == "timing":
        unknowns = ", ".join(b.names)
    what_vars = "parameters" if b.method == "sweep" else "Z3 unknowns"
    lines = [f"Boundary of {spec_cls.__name__}: {what_vars} {unknowns}{swept} ({how}, {b.elapsed_s:.2f}s)", ""]
    invs = [p.name for p in spec_cls._properties if p.kind == "invariant"]
    what = invs[0] if len(invs) == 1 else "every invariant"
    bound = f" within {b.depth} steps" if b.depth is not None else ""
    if b.formula is None:
        lines.append(f"  no formula found: {'; '.join(b.notes)}")
        lines.append(f"  unsafe points: {', '.join(show(p) for p in b.unsafe)}")
    else:
        lines.append(f"  {what} holds{bound} iff {b.formula}")
        checked = ("checked by Z3 against the violating condition on every point" if b.verified else
                   f"fitted to {b.runs} explicit runs, one per point; no Z3 condition" if b.method == "sweep"
                   else "NOT confirmed by Z3")
        refused = f", {len(b.invalid)} refused by the spec" if b.invalid else ""
        if b.method == "timing":
            lines.append("  (proved equivalent by Z3 to the violating condition within the domain: parameters >= 0, "
                         "every timer's lo >= 0 and hi >= lo)" if b.verified else "  (no small linear inequality: "
                         "the simplified Z3 formula)")
        else:
            lines.append(f"  ({checked}: {len(b.safe)} safe, {len(b.unsafe)} unsafe{refused})")
    lines += [n for n in b.notes if b.formula is not None]
    lines += ["", f"safe witness:   {show(b.safe_witness)}"]
    if b.unsafe_witness is None:
        lines.append("unsafe witness: none (the invariants hold on the whole box)")
    else:
        steps = f"{b.unsafe_property} fails in {len(b.unsafe_trace.steps)} steps:" if b.unsafe_trace else ""
        lines += [f"unsafe witness: {show(b.unsafe_witness)}  {steps}"]
        if b.unsafe_trace is not None:
            lines += ["", render_text(b.unsafe_trace, color=color)]
    return "\n".join(lines)


def _render(names: tuple[str, ...], coefs: Sequence[int], c: int) -> str:
    """`a·p > c` with the negative terms moved right: (1, 1, -1), 0 -> "r + w > n"."""
    def side(terms: list[tuple[int, str]], const: int) -> str:
        parts = [n if a == 1 else f"{a}*{n}" for a, n in terms]
        if const or not parts:
            parts.append(str(const))
        return " + ".join(parts)

    left = [(a, n) for a, n in zip(coefs, names, strict=True) if a > 0]
    right = [(-a, n) for a, n in zip(coefs, names, strict=True) if a < 0]
    lc, rc = (0, c) if c >= 0 else (-c, 0)
    return f"{side(left, lc)} > {side(right, rc)}"


__all__ = ["Boundary", "find_boundary", "render_boundary", "render_timing", "symbolic_param",
           "symbolic_params_of", "timing_route"]
