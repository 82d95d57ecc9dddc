"""Local clocks that a spec or a node can read: marks, and the time since a mark on a drifting clock.

    self.clock_mark("lease A")                      # remember "now" on this clock
    ...
    if self.elapsed_since("lease A") < self.ttl:    # read it: both answers are explored
        self.write()

A mark is one more clock of the zone (started at 0, no deadline): the *real* time since the mark.
The reader's local clock runs at a rate in [1 - drift, 1 + drift] of real time, so after real time x
it shows some L with (1 - drift) x <= L <= (1 + drift) x. A comparison `L < c` therefore branches
(through `choose`, so the explorer takes both answers):

    True:  some rate makes L < c   iff  x <= c / (1 - drift)     (a bound on the real clock)
    False: some rate makes L >= c  iff  x >= c / (1 + drift)

Each answer adds one difference constraint on the mark's clock to the zone, so the zone stays a DBM
and stays canonical (`Zone.bound` closes it again); an answer no timing allows empties the zone and
that run is pruned. What is over-approximated (docs/symbolic.md, Time): the bound is closed (at the
single instant x = c / (1 - drift) both answers are allowed), and two reads of one mark are not tied
to each other: each read may take any rate history, so a later read may still say "below" within the
drift window after an earlier one said "above". Safety verdicts are sound (every real behaviour is
explored); a counterexample that needs two reads of one mark to disagree that way would be spurious,
which the catalog's specs (one read per mark) cannot produce.
"""
from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from ..dsl.choice import Disabled, choose
from .zone import Zone, exact, is_symbolic

MARK_PREFIX = "mark "


def rate_bound(drift: Any) -> Any:
    """Checks and returns a clock's drift (relative: 0.01 = 1%) as an exact number; it must be in [0, 1)."""
    rho = exact(drift)
    if not is_symbolic(rho) and not (0 <= rho < 1):
        raise ValueError(f"clock drift {drift!r}: give a rate bound in [0, 1) (0.01 = 1%)")
    return rho


def real_bounds(c: Any, drift: Any) -> tuple[Any, Any]:
    """Returns (le, ge): a local reading is below c iff real x <= le; at or above c iff real x >= ge."""
    c, rho = exact(c), rate_bound(drift)
    return c / (1 - rho), c / (1 + rho)


class Elapsed:
    """The time since a mark, read on a drifting local clock: compare it with a number (<, <=, >, >=).

    A comparison is a choice with both answers (each run of the action takes one); the answer's
    constraint goes into the zone. `elapsed < c` and `elapsed <= c` are the same branch (bounds are
    closed), as are `>` and `>=`.
    """

    __slots__ = ("key", "label", "drift", "_apply")

    def __init__(self, key: str, label: str, drift: Any, apply: Callable[[str, str, Any], None]):
        self.key, self.label, self.drift, self._apply = key, label, rate_bound(drift), apply

    def below(self, c: Any) -> bool:
        """Says whether the local reading is below c: forks, and constrains the zone by the answer."""
        le, ge = real_bounds(c, self.drift)
        answer = choose((True, False), f"{self.label} < {_plain(c)}")
        if answer:
            self._apply(self.key, "le", le)
        else:
            self._apply(self.key, "ge", ge)
        return answer

    def __lt__(self, c: Any) -> bool:
        return self.below(c)

    def __le__(self, c: Any) -> bool:
        return self.below(c)

    def __gt__(self, c: Any) -> bool:
        return not self.below(c)

    def __ge__(self, c: Any) -> bool:
        return not self.below(c)

    def __eq__(self, other: object) -> bool:
        raise TypeError("a clock reading is compared with < or >=, not ==: equality holds at one instant only")

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        raise TypeError("a clock reading has no truth value: compare it, e.g. elapsed_since('m') < ttl")

    def __repr__(self) -> str:
        return f"<time since {self.label} on a clock with drift {self.drift}>"


def apply_bound(zone: Zone, key: str, op: str, c: Any) -> Zone:
    """Returns the zone with the read's constraint on clock `key`; raises Disabled when it is empty.

    A zone without `bound` (timing_boundary's untimed zone) is returned as it is: there the recorded
    op alone carries the constraint.
    """
    bound = getattr(zone, "bound", None)
    if bound is None:
        return zone
    nz = bound(key, op, c)
    if nz is None:
        raise Disabled()
    return nz


def _plain(c: Any) -> Any:
    if isinstance(c, float) and c.is_integer():
        return int(c)
    if isinstance(c, Fraction) and c.denominator == 1:
        return int(c)
    return c
