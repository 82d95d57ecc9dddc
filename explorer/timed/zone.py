"""Zones: the timing of the armed timers, as a canonical difference-bound matrix (DBM).

A timed spec's state is its discrete fields plus one `Zone`. The zone has one clock per armed timer
(the time since it was armed) and stands for every valuation of those clocks the explored order
of events allows at the current moment. Every constraint the timed constructs produce is a
difference constraint (x <= c, x >= c, x - y <= c), so a zone is exactly a DBM: entry D[i][j] = c
means x_i - x_j <= c, index 0 is the constant 0, None is +infinity. All bounds are closed (<=).

Canonical form, which is what makes the visited set sound: the clocks are sorted by timer name,
the matrix is closed under shortest paths (Floyd-Warshall), so every entry is the tightest bound
the constraints imply, and numbers are exact `Fraction`s. Two zones holding the same set of clock
valuations then have equal matrices, so (discrete fields, zone) as the state key merges exactly the
states with the same discrete part and the same timing, never two with different futures.

Semantics of one event (what an action that touches timers does):
1. The stored zone is *future-closed*: time may have passed since the last event, up to the
   deadline of every armed timer (an armed timer is urgent: time cannot pass its upper bound
   without it firing). The event happens at some moment in it.
2. `fire(name)` intersects with "the timer's lower bound has passed" (x >= lo); an empty result
   means no timing allows the event now: the action is disabled (this prunes the order).
   `start(name, (lo, hi))` adds a clock at 0; `cancel(name)` drops it. Operations of one action
   happen at the same instant.
3. `settle()` lets time pass again (up, then x <= hi for every armed timer) and closes the matrix.
An action that touches no timer leaves the zone as it is: it happens at the same instant as the
previous timed event, which is always possible since it has no timing constraint of its own.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd
from typing import Any, ClassVar

Bound = Fraction | None  # None = +infinity


def exact(x: Any) -> Fraction:
    """Returns a number as an exact Fraction; a float is read as its shortest decimal (0.1 -> 1/10).

    A Z3 term (a symbolic parameter, explorer.timed.boundary) is returned as it is.
    """
    if isinstance(x, Fraction):
        return x
    if is_symbolic(x):
        return x
    if isinstance(x, float):
        return Fraction(repr(x))
    return Fraction(x)


def is_symbolic(x: Any) -> bool:
    """Says whether x is a Z3 term (checked by module name, so untimed runs never import z3)."""
    return type(x).__module__.startswith("z3")


def _add(a: Bound, b: Bound) -> Bound:
    return None if a is None or b is None else a + b


def _lt(a: Bound, b: Bound) -> bool:
    """a < b with None as +infinity."""
    if a is None:
        return False
    return b is None or a < b


@dataclass(frozen=True)
class Zone:
    """The armed timers (name -> (lo, hi)) and the canonical DBM of their clocks.

    Immutable, hashable and stable-hashable, so it is an ordinary state field. Build it with
    `Zone()` and change it only through `start`, `fire`, `cancel` and `settle`, which keep it canonical.
    """

    json_as_text: ClassVar[bool] = True  # trace files show it as it prints (explorer/trace/json_io.py)

    timers: tuple[tuple[str, Fraction, Bound], ...] = ()  # sorted by name: (name, lo, hi)
    dbm: tuple[tuple[Bound, ...], ...] = ((Fraction(0),),)
    settled: bool = field(default=True)

    # ------------------------------------------------------------------ reading
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t[0] for t in self.timers)

    def armed(self, name: str) -> bool:
        """Says whether timer `name` is armed (started and not yet fired or cancelled)."""
        return any(t[0] == name for t in self.timers)

    def _index(self, name: str) -> int:
        for i, t in enumerate(self.timers):
            if t[0] == name:
                return i + 1
        raise KeyError(name)

    def elapsed(self, name: str) -> tuple[Fraction, Bound]:
        """Returns the (min, max) time since `name` was armed over the zone (max None = unbounded)."""
        i = self._index(name)
        return -self.dbm[0][i], self.dbm[i][0]

    def is_empty(self) -> bool:
        return any(self.dbm[i][i] is not None and self.dbm[i][i] < 0 for i in range(len(self.dbm)))

    # ------------------------------------------------------------------ operations (one instant)
    def start(self, name: str, lo: Any, hi: Any) -> Zone:
        """Arms timer `name` now (re-arms it if armed): it fires between lo and hi from now."""
        lo_f = exact(lo)
        hi_f = None if hi is None else exact(hi)
        if lo_f < 0 or (hi_f is not None and hi_f < lo_f):
            raise ValueError(f"timer {name!r}: after=({lo}, {hi}) needs 0 <= lo <= hi")
        z = self.cancel(name) if self.armed(name) else self
        m = [list(r) for r in z.dbm]
        n = len(m)
        # the new clock x = 0, so x - x_j = -x_j and x_j - x = x_j
        new_row = [m[0][j] for j in range(n)] + [Fraction(0)]
        for j in range(n):
            m[j].append(m[j][0])
        m.append(new_row)
        timers = list(z.timers) + [(name, lo_f, hi_f)]
        return _sorted(timers, m, settled=False)

    def fire(self, name: str) -> Zone | None:
        """The timer's event happens now: needs its lower bound passed. Returns None when no timing allows it."""
        i = self._index(name)
        lo = self.timers[i - 1][1]
        m = [list(r) for r in self.dbm]
        if _lt(-lo, m[0][i]) or m[0][i] is None:
            m[0][i] = -lo  # 0 - x <= -lo, i.e. x >= lo
        m = _close(m)
        if m is None:
            return None
        return _drop(self.timers, m, i)

    def bound(self, name: str, op: str, c: Any) -> Zone | None:
        """Intersects with "clock `name` <= c" (op "le") or ">= c" (op "ge") now: a clock read's branch.

        The result is closed again (Floyd-Warshall), so it stays canonical; None when no valuation is
        left (the branch is infeasible and the run is pruned).
        """
        i = self._index(name)
        c = exact(c)
        m = [list(r) for r in self.dbm]
        if op == "le":
            if m[i][0] is None or c < m[i][0]:
                m[i][0] = c  # x - 0 <= c
        elif op == "ge":
            if m[0][i] is None or -c < m[0][i]:
                m[0][i] = -c  # 0 - x <= -c
        else:
            raise ValueError(f"bound op {op!r}: 'le' or 'ge'")
        closed = _close(m)
        if closed is None:
            return None
        return Zone(self.timers, _freeze(closed), False)

    def cancel(self, name: str) -> Zone:
        """Disarms timer `name` now (no timing constraint); a timer that is not armed is left alone."""
        if not self.armed(name):
            return self
        return _drop(self.timers, [list(r) for r in self.dbm], self._index(name))

    def rename(self, old: str, new: str) -> Zone:
        """Renames timer `old` to `new` (the clock keeps its value): for renumbering message copies."""
        timers = [(new if t[0] == old else t[0], t[1], t[2]) for t in self.timers]
        return _sorted(timers, [list(r) for r in self.dbm], settled=self.settled)

    def settle(self) -> Zone:
        """Lets time pass after an event: up to every armed timer's deadline. Returns the canonical zone."""
        m = [list(r) for r in self.dbm]
        for i, (_name, _lo, hi) in enumerate(self.timers, start=1):
            m[i][0] = hi  # forget the old upper bound (time passes), keep the deadline (urgency)
        closed = _close(m)
        if closed is None:  # cannot happen from a non-empty zone: its points satisfy every deadline
            raise AssertionError("settle() of an empty zone")
        return Zone(self.timers, _freeze(closed), True)

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        """Shows each clock's range ("lease 0..10": armed between 0 and 10 ago) and the differences that matter."""
        if not self.timers:
            return "Zone()"
        parts = []
        for i, (name, _lo, _hi) in enumerate(self.timers, start=1):
            lo, hi = -self.dbm[0][i], self.dbm[i][0]
            parts.append(f"{name} {_num(lo)}..{'inf' if hi is None else _num(hi)}")
        d = self.dbm
        for i in range(1, len(d)):
            for j in range(i + 1, len(d)):  # differences the single-clock bounds do not already imply
                up, down = d[i][j], d[j][i]
                a, b = self.timers[i - 1][0], self.timers[j - 1][0]
                if up is not None and down is not None and up == -down:
                    parts.append(f"{a} - {b} = {_num(up)}")
                    continue
                if up is not None and up != _add(d[i][0], d[0][j]):
                    parts.append(f"{a} - {b} <= {_num(up)}")
                if down is not None and down != _add(d[j][0], d[0][i]):
                    parts.append(f"{a} - {b} >= {_num(-down)}")
        return "Zone(" + ", ".join(parts) + ")"


def _num(x: Fraction) -> str:
    return str(int(x)) if x.denominator == 1 else f"{float(x):g}"


def _close(m: list[list[Bound]]) -> list[list[Bound]] | None:
    """Floyd-Warshall closure; None when the zone is empty (a negative cycle).

    The loop runs on integers (every bound times the common denominator): Fraction arithmetic made
    it ten times slower, and it is most of a timed search's time (raft timed: 75%).
    """
    den = 1
    for r in m:
        for v in r:
            if v is not None and v.denominator != 1:
                den = den * v.denominator // gcd(den, v.denominator)
    im = [[None if v is None else v.numerator * (den // v.denominator) for v in r] for r in m]
    n = len(im)
    for k in range(n):
        mk = im[k]
        for i in range(n):
            mik = im[i][k]
            if mik is None:
                continue
            mi = im[i]
            for j in range(n):
                mkj = mk[j]
                if mkj is None:
                    continue
                s = mik + mkj
                if mi[j] is None or s < mi[j]:
                    mi[j] = s
        if im[k][k] is not None and im[k][k] < 0:
            return None
    for i in range(n):
        if im[i][i] is not None and im[i][i] < 0:
            return None
    if den == 1:
        return [[None if v is None else Fraction(v) for v in r] for r in im]
    return [[None if v is None else Fraction(v, den) for v in r] for r in im]


def _freeze(m: Sequence[Sequence[Bound]]) -> tuple[tuple[Bound, ...], ...]:
    return tuple(tuple(r) for r in m)


def _drop(timers: Iterable[tuple], m: list[list[Bound]], i: int) -> Zone:
    """Removes clock i (a projection: a closed DBM stays closed)."""
    timers = [t for k, t in enumerate(timers, start=1) if k != i]
    rows = [[v for j, v in enumerate(r) if j != i] for k, r in enumerate(m) if k != i]
    return Zone(tuple(timers), _freeze(rows), False)


def _sorted(timers: list[tuple], m: list[list[Bound]], settled: bool) -> Zone:
    """Reorders clocks by timer name (the canonical order)."""
    order = sorted(range(len(timers)), key=lambda k: timers[k][0])
    idx = [0] + [k + 1 for k in order]
    rows = [[m[a][b] for b in idx] for a in idx]
    return Zone(tuple(timers[k] for k in order), _freeze(rows), settled)
