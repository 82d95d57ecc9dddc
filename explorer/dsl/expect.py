"""What a spec declares for `explore check`: configurations and the verdict each must give.

    class TwoPC(Protocol):
        checks = [
            holds(depth=12),
            holds(faults="all", depth=8),
            violates("atomicity", params={"variant": "no_durable_log"}, faults="crash=1"),
        ]

A known-buggy variant is expected to fail: the gate passes when it does, with that property.
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

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.params.items()]
        if self.faults:
            parts.append(f"faults={self.faults}")
        if self.depth is not None:
            parts.append(f"depth={self.depth}")
        cfg = " ".join(parts) or "defaults"
        want = "holds" if self.verdict == "holds" else f"{self.verdict} {self.property or ''}".strip()
        return f"{self.name + ': ' if self.name else ''}{cfg} -> {want}"


def holds(**kw: Any) -> Expect:
    """Declares a configuration in which every property must hold."""
    return Expect("holds", **kw)


def violates(prop: str, **kw: Any) -> Expect:
    """Declares a configuration (a known bug) in which property `prop` must be violated."""
    return Expect("violates", prop, **kw)


def deadlocks(**kw: Any) -> Expect:
    """Declares a configuration that must reach a deadlock (checked with deadlock detection on)."""
    kw.setdefault("deadlock", True)
    return Expect("deadlock", "deadlock", **kw)
