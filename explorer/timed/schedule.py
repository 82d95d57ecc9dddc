"""Concrete times for the steps of a timed trace, found by Z3.

The search works with zones, which say *that* an order of events is possible. A counterexample
should also say *when* each step happens. Every step i gets a real variable t_i (t_0 = 0 is the
initial state), and the timing the steps recorded (`info["timing"]`, see explorer.timed.spec) gives:

    t_(i-1) <= t_i                                  time never goes back
    lo <= t_j - t_i <= hi                           timer armed at step i (lo, hi) fires at step j
    t_k - t_i <= hi     for every step k while armed  timers are urgent: nothing happens past a deadline
    t_j - t_i <= c  or  >= c                        a clock read at step j of a mark set at step i

This is the same semantics as the zones (a difference-constraint system), so the constraints are
satisfiable exactly when the zone search found the order possible; `times_of` checks that they are.
Among the solutions, Z3 (Optimize) prefers a gap of `gap` between consecutive steps after the first
(soft constraints: steps that must coincide still do) and then the earliest end, so a trace reads
"t = 10.0: lease expires", "t = 10.1: c1 acquires" rather than many steps at one instant.
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import z3

from .zone import exact, is_symbolic


class TimingError(Exception):
    """The recorded timing of a trace admits no schedule (which the zone search should exclude)."""


def constraints(initial_timers: Sequence[tuple[str, Any, Any]], steps: Sequence[Sequence[tuple]]):
    """Returns (variables, constraints) for a trace: `steps[k]` is the timing ops of step k+1."""
    t = [z3.Real(f"t{i}") for i in range(len(steps) + 1)]
    cs: list[Any] = [t[0] == 0]
    armed: dict[str, tuple[int, Fraction | None, Fraction | None]] = {}
    for name, lo, hi in initial_timers:
        armed[name] = (0, _num(lo), _num(hi))
    for k, ops in enumerate(steps, start=1):
        cs.append(t[k - 1] <= t[k])
        for _name, (i, _lo, hi) in armed.items():  # urgency of timers armed before this step
            if hi is not None:
                cs.append(t[k] - t[i] <= _q(hi))
        for op in ops:
            kind, name = op[0], op[1]
            if kind == "start":
                armed[name] = (k, _num(op[2]), _num(op[3]))
            elif kind == "fire":
                i, lo, hi = armed.pop(name)
                cs.append(t[k] - t[i] >= _q(lo))
                if hi is not None:
                    cs.append(t[k] - t[i] <= _q(hi))
            elif kind == "cancel":
                armed.pop(name, None)
            elif kind in ("le", "ge"):  # a local clock read's branch: the mark's real clock against a bound
                i = armed[name][0]
                c = _q(_num(op[2]))
                cs.append(t[k] - t[i] <= c if kind == "le" else t[k] - t[i] >= c)
            elif kind == "rename":  # a message copy renumbered (actors with a delay bound): same clock
                armed[op[2]] = armed.pop(name)
    return t, cs


def solve(initial_timers: Sequence[tuple[str, Any, Any]], steps: Sequence[Sequence[tuple]],
          gap: Fraction | None = None) -> list[Fraction]:
    """Returns t_0..t_n (exact) for a trace's timing, or raises TimingError when none exists."""
    t, cs = constraints(initial_timers, steps)
    plain = z3.Solver()
    plain.add(*cs)
    if plain.check() != z3.sat:
        raise TimingError("no timing allows this order of events")
    if gap is None:
        gap = default_gap(initial_timers, steps)
    opt = z3.Optimize()
    opt.add(*cs)
    for k in range(2, len(t)):  # the first step may happen at 0, with the initial state
        opt.add_soft(t[k] - t[k - 1] >= _q(gap))
    opt.minimize(t[-1])
    if opt.check() != z3.sat:  # cannot happen: the hard part alone is sat
        raise TimingError("no timing allows this order of events")
    m = opt.model()
    return [_frac(m.eval(x, model_completion=True)) for x in t]


def default_gap(initial_timers: Sequence[tuple], steps: Sequence[Sequence[tuple]]) -> Fraction:
    """A gap small next to every timer bound: a tenth of the smallest positive one, at most 0.1."""
    nums = [_num(x) for _n, lo, hi in initial_timers for x in (lo, hi)]
    nums += [_num(x) for ops in steps for op in ops if op[0] == "start" for x in op[2:4]]
    pos = [x for x in nums if x is not None and x > 0]
    return min([Fraction(1, 10)] + [x / 10 for x in pos])


def times_of(trace: Any) -> list[float] | None:
    """Computes (once) and stores `info["time"]` on every step of a timed trace; None for an untimed one.

    Returns [t_0, t_1, ..., t_n] as floats (t_0 is the initial state, always 0).
    """
    steps = trace.steps
    if not any("timing" in s.info for s in steps) and not _initial_timers(trace):
        return None
    if steps and all("time" in s.info for s in steps):
        return [0.0] + [float(s.info["time"]) for s in steps]
    exact_times = solve(_initial_timers(trace), [list(s.info.get("timing", ())) for s in steps])
    out = [float(x) for x in exact_times]
    for s, x in zip(steps, out[1:], strict=True):
        s.info["time"] = x
    return out


def time_label(step: Any) -> str:
    """Returns "t = 10.1" for a step with a time, "" otherwise."""
    x = step.info.get("time") if hasattr(step, "info") else None
    return "" if x is None else f"t = {_fmt(x)}"


def _fmt(x: float) -> str:
    return f"{x:.1f}" if abs(x - round(x, 1)) < 1e-9 else f"{x:g}"


def _initial_timers(trace: Any) -> list[tuple[str, Any, Any]]:
    z = (trace.initial or {}).get("timers")
    timers = getattr(z, "timers", None)
    if timers is None and hasattr(z, "fields"):  # read back from JSON
        timers = dict(z.fields).get("timers")
    return [tuple(t) for t in timers or ()]


def _num(x: Any) -> Fraction | None:
    if x is None or is_symbolic(x):  # a Z3 term: a symbolic parameter (explorer.timed.boundary)
        return x
    if isinstance(x, str):
        return Fraction(x)
    return exact(x)


def _q(x: Fraction) -> Any:
    return x if is_symbolic(x) else z3.Q(x.numerator, x.denominator)


def _frac(v: Any) -> Fraction:
    if z3.is_rational_value(v):
        return Fraction(v.numerator_as_long(), v.denominator_as_long())
    return Fraction(str(v.as_decimal(12)).rstrip("?"))
