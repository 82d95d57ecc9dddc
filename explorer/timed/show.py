"""The time of each step of a trace, as renderers print it ("t = 10.1"), without importing Z3 for untimed traces."""
from __future__ import annotations

from typing import Any

from .clock import MARK_PREFIX  # the clock of a local-clock mark (clock.py imports no Z3)


def is_timed(trace: Any) -> bool:
    """Says whether a trace comes from a timed spec (a step touched a timer, or timers were armed in init)."""
    if any("timing" in s.info or "time" in s.info for s in trace.steps):
        return True
    z = (trace.initial or {}).get("timers")
    return bool(getattr(z, "timers", None) or (hasattr(z, "fields") and dict(z.fields).get("timers")))


def step_times(trace: Any) -> dict[int, str]:
    """Returns {step index: "t = 10.1"} for a timed trace (0 is the initial state), {} for an untimed one.

    The first call solves the trace's timing with Z3 (explorer.timed.schedule) and stores each
    step's time in `step.info["time"]`; later calls and every renderer reuse it.
    """
    if not is_timed(trace):
        return {}
    from .schedule import _fmt, times_of

    times = times_of(trace) or []
    return {i: f"t = {_fmt(x)}" for i, x in enumerate(times)}


def timing_summary(ops: Any) -> str:
    """Returns what a step did to the clocks in words ("election 1 fired; armed election 1 (10..20)").

    A text trace shows this instead of the zone before and after: the zone is exact but a line of
    difference constraints per step, and each step's concrete time ("t = 10.2") already says when.
    The zone itself stays in the JSON and ITF files.
    """
    parts = []
    for op in ops or ():
        kind, name = op[0], str(op[1])
        mark = name.startswith(MARK_PREFIX)
        shown = name[len(MARK_PREFIX):] if mark else name
        if kind == "start":
            lo, hi = op[2], op[3] if len(op) > 3 else None
            if mark:
                parts.append(f"marked {shown} on the local clock")
            else:
                parts.append(f"armed {shown} {_delay(lo, hi)}")
        elif kind == "fire":
            parts.append(f"{shown} fired")
        elif kind == "cancel":
            parts.append(f"forgot mark {shown}" if mark else f"cancelled {shown}")
        elif kind in ("le", "ge"):
            parts.append(f"real time since {shown} {'<=' if kind == 'le' else '>='} {op[2]}")
    return "; ".join(parts)


def armed_summary(zone: Any) -> str | None:
    """Returns the armed timers of a zone as "election 1 (0..20), ..." or None if `zone` is not a Zone."""
    timers = getattr(zone, "timers", None)
    if not isinstance(timers, tuple):
        return None
    if not timers:
        return "(none armed)"
    rows = []
    for name, lo, hi in timers:
        if name.startswith(MARK_PREFIX):
            rows.append(f"mark {name[len(MARK_PREFIX):]}")
        else:
            rows.append(f"{name} {_delay(_num(lo), None if hi is None else _num(hi))}")
    return ", ".join(rows)


def _delay(lo: str, hi: str | None) -> str:
    """A timer's delay as written: "(9)" exactly, "(10..20)" a range, "(0..)" no deadline."""
    return f"({lo})" if hi == lo else f"({lo}..{'' if hi is None else hi})"


def _num(x: Any) -> str:
    return str(int(x)) if x == int(x) else str(float(x))
