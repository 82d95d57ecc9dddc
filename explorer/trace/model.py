"""The `Trace`: one object every counterexample output is drawn from.

A trace is an initial state and numbered steps; each step keeps the action label, the decisions
that replay it, what the actor layer knows about it (kind, node, message, fault), the full state
after it and the fields it changed. A liveness counterexample is a lasso: `loop_start` marks the
step where the loop begins.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TraceStep:
    """One step of a trace: what happened and which fields changed."""

    index: int  # 1-based
    action: str
    decisions: tuple[int, ...]
    label: str
    info: dict[str, Any]
    state: dict[str, Any]
    changes: dict[str, tuple[Any, Any]]


@dataclass
class Trace:
    """A path from an initial state, ending where a property fails (or a lasso for liveness)."""

    spec: str
    spec_file: str | None
    params: dict[str, Any]
    faults: str | None
    fields: tuple[str, ...]
    init_decisions: tuple[int, ...]
    initial: dict[str, Any]
    steps: list[TraceStep] = field(default_factory=list)
    violated: str | None = None  # the property that fails
    kind: str | None = None  # invariant | action_invariant | deadlock | liveness | error
    reason: str | None = None
    read: tuple[str, ...] = ()  # fields the violated property read
    loop_start: int | None = None
    notes: list[str] = field(default_factory=list)  # e.g. what minimisation removed

    @property
    def length(self) -> int:
        return len(self.steps)

    @property
    def final(self) -> dict[str, Any]:
        return self.steps[-1].state if self.steps else self.initial

    def states(self) -> list[dict[str, Any]]:
        return [self.initial] + [s.state for s in self.steps]


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Returns the fields whose values differ, as field -> (old, new)."""
    return {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v or type(before.get(k)) is not type(v)}
