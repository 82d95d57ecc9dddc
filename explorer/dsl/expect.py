"""What a spec declares for `explore check`: configurations and the verdict each must give.

    class TwoPC(Protocol):
        checks = [
            holds(depth=12),
            holds(faults="all", depth=8),
            holds(properties=["atomicity"], params={"n": 2}, faults="crash=2"),
            violates("atomicity", params={"variant": "no_durable_log"}, faults="crash=1"),
        ]

A known-buggy variant is expected to fail: the gate passes when it does, with that property.
`holds(properties=[...])` checks only the safety properties it names: for a fault budget under which
a liveness property is known to fail (2PC blocks when its coordinator crashes) while safety must
still hold.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Expect:
    """One configuration of a spec and the verdict `explore check` requires of it."""

    verdict: str  # "holds" | "violates" | "deadlock"
    property: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    faults: str | None = None
    depth: int | None = None
    max_states: int | None = None
    time_limit: float | None = None
    deadlock: bool = False
    name: str | None = None
    properties: tuple[str, ...] | None = None  # holds(properties=[...]): only these safety properties

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.params.items()]
        if self.faults:
            parts.append(f"faults={self.faults}")
        if self.depth is not None:
            parts.append(f"depth={self.depth}")
        cfg = " ".join(parts) or "defaults"
        want = "holds" if self.verdict == "holds" else f"{self.verdict} {self.property or ''}".strip()
        if self.properties is not None:
            want = f"{', '.join(self.properties)} {want}"
        return f"{self.name + ': ' if self.name else ''}{cfg} -> {want}"


def holds(*, properties: Any = None, **kw: Any) -> Expect:
    """Declares a configuration in which every property must hold.

    With `properties=["atomicity", ...]` only those safety properties (invariants, action
    invariants, `@reachable`) are checked, and no liveness property: the way to require safety under
    faults that make a liveness property fail. The spec must still not be vacuous (every action enabled).
    """
    if properties is not None:
        if isinstance(properties, str) or not all(isinstance(p, str) for p in properties) or not properties:
            raise TypeError(f"holds(properties={properties!r}): give a non-empty list of property names")
        properties = tuple(properties)
    return Expect("holds", properties=properties, **kw)


def violates(prop: str, **kw: Any) -> Expect:
    """Declares a configuration (a known bug) in which property `prop` must be violated."""
    return Expect("violates", prop, **kw)


def deadlocks(**kw: Any) -> Expect:
    """Declares a configuration that must reach a deadlock (checked with deadlock detection on)."""
    kw.setdefault("deadlock", True)
    return Expect("deadlock", "deadlock", **kw)
