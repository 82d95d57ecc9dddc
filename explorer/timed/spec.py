"""`TimedSpec`: a plain spec whose events may be timed by timers with bounded delays.

    class Lease(TimedSpec):
        ttl = param(10.0)

        def init(self):
            self.holder = None

        @action
        def acquire(self):
            require(self.holder is None)
            self.holder = "A"
            self.set_timer("lease", after=self.ttl)     # fires exactly ttl after now

        @action
        def lease_expires(self):
            require(self.holder is not None)
            self.fire("lease")                          # disabled until ttl has passed
            self.holder = None

The explorer still enumerates orders of events; the timing of the armed timers is one more state
field, `timers`, holding a canonical zone (`explorer.timed.zone.Zone`). An order no timing allows is
pruned: `fire` is not enabled before the timer's lower bound, and no event happens after an armed
timer's upper bound unless that timer fired first (timers are urgent). Every step that touches a
timer records what it did in `info["timing"]`, from which `explorer.timed.schedule` computes a
concrete time for every step of a trace.
"""
from __future__ import annotations

import functools
import math
from typing import Any, ClassVar

from ..dsl.choice import Disabled
from ..dsl.model import SpecModel
from ..dsl.spec import Spec
from .clock import MARK_PREFIX, Elapsed, apply_bound
from .zone import Zone, exact, is_symbolic

FIELD = "timers"


def within(duration: Any, drift: Any = 0, rate: Any = 0) -> tuple[Any, Any]:
    """Returns the real-time range of a delay measured on a clock that drifts.

    `drift` is an absolute error bound (time units over the delay), `rate` a relative one (0.01 = 1%):
    the delay lasts between d(1 - rate) - drift and d(1 + rate) + drift, never less than 0.
    """
    d = exact(duration)
    lo = d * (1 - exact(rate)) - exact(drift)
    hi = d * (1 + exact(rate)) + exact(drift)
    if is_symbolic(lo):  # explorer.timed.boundary: lo >= 0 is part of the parameter domain there
        return (lo, hi)
    return (max(lo, exact(0)), hi)


def up_to(bound: Any) -> tuple[Any, Any]:
    """Returns the range of a pause that lasts at most `bound` (None: any length)."""
    return (0, bound)


def _bounds(name: str, after: Any) -> tuple[Any, Any]:
    """Returns (lo, hi) of a timer's `after`: a number or a (lo, hi) pair; hi None or inf = no deadline."""
    if isinstance(after, (tuple, list)):
        if len(after) != 2:
            raise ValueError(f"timer {name!r}: after={after!r}: give a number or a (lo, hi) pair")
        lo, hi = after
    else:
        lo, hi = after, after
    return lo, (None if hi is None or (isinstance(hi, float) and math.isinf(hi)) else hi)


def _show(x: Any) -> Any:
    """A bound as the trace records it: an exact number as a string ("21/2"); a Z3 term as it is."""
    if x is None or is_symbolic(x):
        return x
    return str(exact(x))


class TimedSpec(Spec):
    """A plain `Spec` with timers: `set_timer`, `fire`, `cancel_timer`, `timer_armed`.

    The state gets one extra field, `timers` (assigned before your `init` runs).
    """

    abstract: ClassVar[bool] = True

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        user_init = cls.__dict__.get("init")
        if user_init is not None and not getattr(user_init, "_with_timers", False):
            @functools.wraps(user_init)
            def init(self: TimedSpec) -> None:
                self.timers = self.__dict__.get("_zone_cls", Zone)()  # boundary.py swaps in an untimed zone
                user_init(self)

            init._with_timers = True  # type: ignore[attr-defined]
            cls.init = init  # type: ignore[method-assign]
        if "abstract" not in cls.__dict__:
            cls.abstract = False

    # ------------------------------------------------------------------ the timed constructs
    def set_timer(self, name: str, after: Any) -> None:
        """Arms timer `name` now: it fires after a delay in `after` = (lo, hi), or exactly `after`.

        `hi` may be None (no deadline). Re-arming an armed timer restarts it.
        """
        lo, hi = _bounds(name, after)
        self.timers = self.timers.start(name, lo, hi)
        self._log(("start", name, _show(lo), _show(hi)))

    def fire(self, name: str) -> None:
        """The timer's event happens now. Not enabled unless the timer is armed and its delay can have passed."""
        z: Zone = self.timers
        if not z.armed(name):
            raise Disabled()
        nz = z.fire(name)
        if nz is None:
            raise Disabled()
        self.timers = nz
        self._log(("fire", name))

    def cancel_timer(self, name: str) -> None:
        """Disarms timer `name` (no effect when it is not armed)."""
        if self.timers.armed(name):
            self.timers = self.timers.cancel(name)
            self._log(("cancel", name))

    def timer_armed(self, name: str) -> bool:
        """Says whether timer `name` is armed."""
        return self.timers.armed(name)

    # ------------------------------------------------------------------ local clocks (clock.py)
    def clock_drift(self) -> Any:
        """The rate bound of the clock `elapsed_since` reads (0.01 = 1%); override it, or pass drift=."""
        return 0

    def clock_mark(self, name: str) -> str:
        """Marks "now" as `name` on the local clock (re-marking restarts it); returns the name.

        The mark is a clock of the zone with no deadline; `forget_mark` drops it.
        """
        key = MARK_PREFIX + name
        self.timers = self.timers.start(key, 0, None)
        self._log(("start", key, "0", None))
        return name

    def forget_mark(self, name: str) -> None:
        """Drops mark `name` (no effect when there is none): fewer clocks, fewer distinct zones."""
        self.cancel_timer(MARK_PREFIX + name)

    def elapsed_since(self, name: str, drift: Any = None) -> Elapsed:
        """The time since mark `name` on the local clock: compare it (`< ttl`); both answers are explored.

        The clock runs at a rate within `drift` (default `self.clock_drift()`) of real time.
        """
        key = MARK_PREFIX + name
        if not self.timers.armed(key):
            from ..errors import ActionError

            raise ActionError(f"elapsed_since({name!r}): no mark {name!r} is set",
                              hint=f"call self.clock_mark({name!r}) first (in an earlier step or this one)")
        return Elapsed(key, name, self.clock_drift() if drift is None else drift, self._clock_bound)

    def _clock_bound(self, key: str, op: str, c: Any) -> None:
        self.timers = apply_bound(self.timers, key, op, c)
        self._log((op, key, _show(c)))

    def _log(self, op: tuple) -> None:
        d = self.__dict__
        info = d.get("_step_info")
        if info is None:
            info = d["_step_info"] = {}
        info.setdefault("timing", []).append(op)

    @classmethod
    def build_model(cls, params: dict[str, Any] | None = None, faults: Any = None):
        from ..actors.faults import parse_faults
        from ..errors import UsageError

        if parse_faults(faults):
            raise UsageError(f"--faults applies to actor specs (explorer.Protocol); {cls.__name__} is a plain Spec")
        return TimedModel(cls, params)


class TimedModel(SpecModel):
    """A SpecModel that lets time pass after every step that touched a timer (see zone.py)."""

    #: the batched engine runs actions its own way and would skip `settle`
    interpreted_only = True

    def _run_init(self):
        inits = super()._run_init()  # first: it sets self.fields
        return settle_initial(self.fields, inits)

    def _run(self, a, state, prefix, exact=False):
        nxt, step, oracle = super()._run(a, state, prefix, exact)
        if nxt is not None:
            nxt = settle_next(self.fields, state, nxt)
        return nxt, step, oracle


def settle_initial(fields: tuple[str, ...], inits: list) -> list:
    """Lets time pass in each initial state (timers armed by init run from time 0)."""
    if FIELD not in fields:
        return inits
    i = fields.index(FIELD)
    return [(_with(s, i, s[i].settle()), step) for s, step in inits]


def settle_next(fields: tuple[str, ...], state: tuple, nxt: tuple) -> tuple:
    """Lets time pass after a step that touched a timer (shared by TimedModel and actor protocols)."""
    i = fields.index(FIELD)
    z = nxt[i]
    if z.settled:
        return nxt
    z = z.settle()
    return _with(nxt, i, state[i] if z == state[i] else z)


def _with(state: tuple, i: int, value: Any) -> tuple:
    return state[:i] + (value,) + state[i + 1:]
