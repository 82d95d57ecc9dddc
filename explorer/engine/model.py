"""What the engine explores: the `Model` protocol, and the record of one step.

The engine never imports the DSL or the actor layer: a `Spec` (and an actor `Protocol`, which compiles
to a `Spec`) is turned into an object with this shape. A state is a tuple of frozen field values.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

State = tuple


@dataclass(frozen=True, slots=True)
class Step:
    """One transition: which action, with which decisions, as the user reads it.

    `info` carries what the actor layer knows about the step (kind: deliver/timer/crash/...; node;
    message; sends) so trace renderers can draw it; plain specs leave it empty.
    """

    action: str
    decisions: tuple[int, ...]
    label: str
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PropertyResult:
    """The outcome of checking one property on one state: holds, or why not."""

    holds: bool
    reason: str | None = None
    read: tuple[str, ...] = ()  # the fields the predicate looked at


class Model(Protocol):
    """A finite state machine the engine can explore."""

    name: str
    fields: tuple[str, ...]
    params: Mapping[str, Any]

    def initial_states(self) -> list[tuple[State, Step]]: ...

    def successors(self, state: State) -> list[tuple[State, Step]]: ...

    def replay(self, state: State, action: str, decisions: Sequence[int]) -> tuple[State, Step] | None: ...

    def check_invariants(self, state: State) -> Iterable[tuple[str, PropertyResult]]: ...

    def check_action_invariants(self, before: State, after: State, step: Step) -> Iterable[tuple[str, PropertyResult]]: ...

    def reachables(self) -> Sequence[str]: ...

    def check_reachables(self, state: State) -> Iterable[str]: ...

    def is_terminal(self, state: State) -> bool: ...

    def as_dict(self, state: State) -> dict[str, Any]: ...
