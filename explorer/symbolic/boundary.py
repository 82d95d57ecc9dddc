"""Symbolic parameters: Z3 finds where a property starts to fail, as a formula and a witness on each side.

A parameter declared symbolic (`r = symbolic_param(2, bounds=(1, 5))`, or any `param` whose
`symbolic` attribute is true) becomes a Z3 integer inside the bounded unrolling of the spec's
relation. Z3 then enumerates the parameter points for which some run of at most `depth` steps
breaks an invariant (one query per point, each blocking the last), and the simplest linear
inequality `a·p > c` (small integer coefficients) that separates them from the rest of the box is
reported, checked once more by Z3. Structural parameters that shape the state (the number of
replicas, `n`) stay concrete: `over={"n": [2, 3, 4]}` repeats the search for each value and fits
one formula over all of them, so `r + w > n` is found, not written in the spec.

What it proves: for every point on the safe side, no invariant fails within `depth` steps (a
bounded claim, like `--engine bmc`); every point on the unsafe side has a counterexample, and one
of them is returned as a concrete, replayable trace.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import z3

from ..dsl.params import param
from ..errors import SpecError, UsageError
from ..trace.model import Trace
from .engine import Unrolling, _trace_from_model
from .relation import SymbolicModel


@dataclass
class symbolic_param(param):  # noqa: N801 - reads as a declaration, like param
    """Declares an int parameter that `--engine bmc` treats as a Z3 unknown in `bounds` (inclusive)."""

    bounds: tuple[int, int] | None = None
    symbolic: bool = True


@dataclass
class Boundary:
    """Where the invariants hold, over a box of parameter values: a formula, the points, two witnesses."""

    names: tuple[str, ...]  # the variables of the formula (symbolic params, then the `over` ones)
    formula: str | None  # e.g. "r + w > n": the invariants hold within `depth` steps iff it is true
    unsafe: list[dict[str, int]]
    safe: list[dict[str, int]]
    depth: int
    unsafe_witness: dict[str, int] | None = None
    unsafe_trace: Trace | None = None
    safe_witness: dict[str, int] | None = None
    elapsed_s: float = 0.0
    queries: int = 0
    notes: list[str] = field(default_factory=list)

    def holds_at(self, point: dict[str, int]) -> bool:
        return point not in self.unsafe

    def as_json(self) -> dict[str, Any]:
        return {"params": list(self.names), "formula": self.formula, "depth": self.depth,
                "unsafe_points": len(self.unsafe), "safe_points": len(self.safe),
                "unsafe_witness": self.unsafe_witness, "safe_witness": self.safe_witness,
                "z3_queries": self.queries, "notes": self.notes}


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
                            hint=f"{name} = symbolic_param({p.default!r}, bounds=(1, 5)), or choices=range(1, 6)")
        out[name] = (int(bounds[0]), int(bounds[1]))
    return out


def _unsafe_points(spec_cls: type, params: dict[str, Any], bounds: dict[str, tuple[int, int]], depth: int,
                   spec_file: str | None) -> tuple[list[dict[str, int]], dict | None, Trace | None, int, Any]:
    """Enumerates with Z3 the points of `bounds` where an invariant fails within `depth` steps."""
    model = spec_cls.build_model(params)
    sm = SymbolicModel(model, symbolic_params=bounds)
    un = Unrolling(sm)
    s = z3.Solver()
    s.add(*sm.param_constraints(), *un.ranges(0), un.init())
    for k in range(depth):
        s.add(*un.ranges(k + 1), un.trans(k, stutter=True))  # a run may end before `depth`
    bad = z3.Or(*[z3.Not(un.all_inv(k)) for k in range(depth + 1)])
    s.add(bad)
    unsafe, witness, trace, queries = [], None, None, 0
    pv = sm.param_vars
    while True:
        queries += 1
        if s.check() != z3.sat:
            break
        m = s.model()
        point = {n: m.eval(v, model_completion=True).as_long() for n, v in pv.items()}
        unsafe.append(point)
        if witness is None:
            witness = point
        s.add(z3.Or(*[v != point[n] for n, v in pv.items()]))
    if witness is not None:  # the shortest counterexample at the witness point, replayed concretely
        cm = spec_cls.build_model({**params, **witness})
        from .engine import bmc

        r = bmc(cm, depth, spec_file=spec_file)
        trace = r.violations[0].trace if r.violations else None
    return unsafe, witness, trace, queries, sm


def find_boundary(spec_cls: type, *, params: dict[str, Any] | None = None,
                  bounds: dict[str, tuple[int, int]] | None = None, over: dict[str, Sequence[int]] | None = None,
                  depth: int, spec_file: str | None = None, max_coef: int = 2) -> Boundary:
    """Finds the boundary between parameter values where the invariants hold within `depth` steps and not.

    `bounds` defaults to the spec's symbolic parameters; `over` lists values of concrete parameters to
    repeat the search for (they become variables of the formula).
    """
    t0 = time.perf_counter()
    params = dict(params or {})
    bounds = dict(bounds if bounds is not None else symbolic_params_of(spec_cls))
    if not bounds:
        raise UsageError(f"{spec_cls.__name__} declares no symbolic parameter",
                         hint="declare one, e.g. r = symbolic_param(2, bounds=(1, 5)), or pass bounds=")
    over = dict(over or {})
    names = tuple(bounds) + tuple(over)
    unsafe: list[dict[str, int]] = []
    safe: list[dict[str, int]] = []
    b = Boundary(names, None, unsafe, safe, depth)
    for combo in itertools.product(*[list(v) for v in over.values()]) if over else [()]:
        fixed = dict(zip(over, combo, strict=True))
        u, w, trace, q, _ = _unsafe_points(spec_cls, {**params, **fixed}, bounds, depth, spec_file)
        b.queries += q
        u = [{**p, **fixed} for p in u]
        unsafe.extend(u)
        for values in itertools.product(*[range(lo, hi + 1) for lo, hi in bounds.values()]):
            p = {**dict(zip(bounds, values, strict=True)), **fixed}
            if p not in u:
                safe.append(p)
        if w is not None and b.unsafe_trace is None:
            b.unsafe_witness, b.unsafe_trace = {**w, **fixed}, trace
    b.formula = _fit(names, safe, unsafe, max_coef)
    if safe:
        b.safe_witness = min(safe, key=lambda p: sum(p[n] for n in bounds))  # the cheapest safe choice
    if b.formula is None:
        b.notes.append("no linear inequality with coefficients up to "
                       f"{max_coef} separates the safe points from the unsafe ones")
    b.elapsed_s = time.perf_counter() - t0
    return b


def _fit(names: tuple[str, ...], safe: list[dict], unsafe: list[dict], max_coef: int) -> str | None:
    """Returns the simplest `a·p > c` true exactly on the safe points (fewest terms, then smallest |a|)."""
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
    return _render(names, coefs, c)


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


__all__ = ["Boundary", "find_boundary", "symbolic_param", "symbolic_params_of"]
