"""Timed constructs: timers with bounded delays, leases, pauses and clock drift (docs/symbolic.md "Time").

`TimedSpec` is a plain spec with `set_timer(name, after=(lo, hi))`, `fire(name)`, `cancel_timer(name)`;
the timing lives in a canonical zone (`zone.Zone`) that is part of the state, and `schedule` gives
every step of a timed trace a concrete time with Z3.
"""
from .spec import TimedSpec, up_to, within
from .zone import Zone

# explorer.timed.schedule (concrete times with Z3) is imported where it is needed: it loads z3
__all__ = ["TimedSpec", "Zone", "up_to", "within"]
