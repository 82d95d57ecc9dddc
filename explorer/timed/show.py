"""The time of each step of a trace, as renderers print it ("t = 10.1"), without importing Z3 for untimed traces."""
from __future__ import annotations

from typing import Any


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
