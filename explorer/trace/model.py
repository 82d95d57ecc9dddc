"""The `Trace`: one object every counterexample output is drawn from.

A trace is an initial state and numbered steps; each step keeps the action label, the decisions
that replay it, what the actor layer knows about it (kind, node, message, fault), the full state
after it and the fields it changed.

A liveness counterexample is a lasso: `loop_start` = k means steps k..n (1-based, n = `length`)
repeat forever, i.e. after step n the system is back in the state it had before step k
(`states()[k - 1]`), and steps 1..k-1 are the stem. `loop_start` is None for a finite trace.

Message identity: in an actor trace, a step's `info` names the message it delivered, lost or
duplicated as `src`, `dst` and `msg` (its printed form), and each send as `(src, dst, msg)` in
`info["sends"]`. Copies of one message are indistinguishable in the state (the network is a
multiset), so renderers pair a delivery with the oldest copy in flight (first sent, first
matched). A per-copy number would be new state (and change every state count), so there is none:
the pairing is exact up to swapping identical copies, which draw the same.
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
    loop_start: int | None = None  # lasso: steps loop_start..length repeat (see the module docstring)
    nodes: dict[str, str] = field(default_factory=dict)  # actor specs: node id -> its Node class name
    notes: list[str] = field(default_factory=list)  # e.g. what minimisation removed
    stats: dict[str, Any] = field(default_factory=dict)  # the run that found it (states, time, ...), for reports

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


def node_classes(model: Any) -> dict[str, str]:
    """Returns {node id: Node class name} for an actor model, {} for a plain spec."""
    bp = model.blueprint() if hasattr(model, "blueprint") else {}
    return {n: c.__name__ for n, c in bp.items()}
