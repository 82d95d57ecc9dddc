"""Logical clocks: Lamport's happens-before, the clock condition, and vector clocks' exactness.

Events are recorded by the processes themselves as ghost state (see specs/clocks.py):

    Event(node="p1", seq=1, kind="send", msg=("p1", 1), lamport=1, vector=(1, 0))
    Event(node="p2", seq=1, kind="receive", msg=("p1", 1), lamport=2, vector=(1, 1))

`seq` numbers a process's events 1, 2, ...; `msg` identifies the message a send sent or a receive
received (None for a local event). Happens-before (Lamport 1978) is the smallest transitive relation
with a -> b when a comes before b on one process, or a sends the message b receives.

Each check returns True, or a string naming the events that break it (what an `@invariant` returns).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple


class Event(NamedTuple):
    """One event of a process with the Lamport and vector timestamps it was given."""

    node: str
    seq: int
    kind: str  # "local" | "send" | "receive"
    msg: Any
    lamport: int
    vector: tuple[int, ...]

    @property
    def key(self) -> tuple[str, int]:
        return (self.node, self.seq)

    def show(self) -> str:
        return f"{self.node}.{self.seq} {self.kind} (L={self.lamport}, V={list(self.vector)})"


def happens_before(events: Iterable[Event]) -> set[tuple[tuple[str, int], tuple[str, int]]]:
    """Returns every pair (a.key, b.key) with a -> b: program order and send -> receive, closed
    transitively (a depth-first search from each event)."""
    evs = list(events)
    succ: dict[tuple[str, int], list[tuple[str, int]]] = {e.key: [] for e in evs}
    sends = {e.msg: e.key for e in evs if e.kind == "send"}
    for e in evs:
        if (e.node, e.seq + 1) in succ:
            succ[e.key].append((e.node, e.seq + 1))
        if e.kind == "receive" and e.msg in sends:
            succ[sends[e.msg]].append(e.key)
    out = set()
    for a in succ:
        stack, seen = list(succ[a]), set()
        while stack:
            b = stack.pop()
            if b in seen:
                continue
            seen.add(b)
            out.add((a, b))
            stack.extend(succ[b])
    return out


def vector_less(u: tuple[int, ...], v: tuple[int, ...]) -> bool:
    """Returns True when u < v as vector timestamps: u <= v everywhere and u != v."""
    return all(x <= y for x, y in zip(u, v, strict=False)) and tuple(u) != tuple(v)


def clock_condition(events: Iterable[Event], clock: Callable[[Event], Any] = lambda e: e.lamport,
                    less: Callable[[Any, Any], bool] = lambda a, b: a < b) -> bool | str:
    """Checks Lamport's clock condition: a -> b implies C(a) < C(b)."""
    evs = {e.key: e for e in events}
    for a, b in sorted(happens_before(evs.values())):
        if not less(clock(evs[a]), clock(evs[b])):
            return f"{evs[a].show()} happens before {evs[b].show()}, yet its clock is not smaller"
    return True


def characterises_happens_before(events: Iterable[Event], clock: Callable[[Event], Any],
                                 less: Callable[[Any, Any], bool]) -> bool | str:
    """Checks that C(a) < C(b) exactly when a -> b (both directions, for every pair of events)."""
    evs = {e.key: e for e in events}
    hb = happens_before(evs.values())
    for a in sorted(evs):
        for b in sorted(evs):
            if a == b:
                continue
            ordered = less(clock(evs[a]), clock(evs[b]))
            if ordered and (a, b) not in hb:
                return (f"{evs[a].show()} and {evs[b].show()}: clocks ordered, but the first does not happen "
                        "before the second" + (" (they are concurrent)" if (b, a) not in hb else ""))
            if not ordered and (a, b) in hb:
                return f"{evs[a].show()} happens before {evs[b].show()}, yet its clock is not smaller"
    return True


def vector_clocks_exact(events: Iterable[Event]) -> bool | str:
    """Checks that vector timestamps characterise happens-before: a -> b iff V(a) < V(b)."""
    return characterises_happens_before(events, lambda e: e.vector, vector_less)


def lamport_converse(events: Iterable[Event]) -> bool | str:
    """Checks the converse of the clock condition for Lamport clocks: L(a) < L(b) implies a -> b.

    It does not hold in general (concurrent events get ordered timestamps): a spec uses it to show
    the counterexample."""
    return characterises_happens_before(events, lambda e: e.lamport, lambda a, b: a < b)


__all__ = ["Event", "characterises_happens_before", "clock_condition", "happens_before", "lamport_converse",
           "vector_clocks_exact", "vector_less"]
