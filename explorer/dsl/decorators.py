"""Decorators that mark a spec's actions and properties.

Each decorator attaches one frozen marker dataclass to the function (as Hypothesis's `@rule` does);
the spec class is scanned once, when it is defined, and mistakes (two markers on one function, a
marker on something that is not a function) are reported there, naming the function.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import SpecError

MARK = "__explorer_mark__"


@dataclass(frozen=True)
class Mark:
    """What a decorated function is: its kind and options."""

    kind: str  # action | invariant | action_invariant | reachable | eventually | always_eventually | leads_to
    fair: bool | str = False  # False, True (weak) or "strong"
    extra: Any = None


PROPERTY_KINDS = ("invariant", "action_invariant", "reachable", "eventually", "always_eventually", "leads_to")


def _where(fn: Callable) -> str | None:
    try:
        return f"{inspect.getsourcefile(fn)}:{inspect.getsourcelines(fn)[1]}"
    except (OSError, TypeError):
        return None


def _attach(fn: Any, mark: Mark) -> Any:
    if not callable(fn):
        raise SpecError(f"@{mark.kind} must decorate a method, not {type(fn).__name__}")
    old = getattr(fn, MARK, None)
    if old is not None:
        raise SpecError(
            f"{fn.__qualname__} is decorated with both @{old.kind} and @{mark.kind}",
            where=_where(fn),
            hint="a method is one action or one property; split it in two",
        )
    setattr(fn, MARK, mark)
    return fn


def action(fn: Callable | None = None, *, fair: bool | str = False):
    """Marks a method as an action: one atomic step, enabled when every `require` in it holds."""
    if fn is None:
        return lambda f: _attach(f, Mark("action", fair=fair))
    return _attach(fn, Mark("action", fair=fair))


def invariant(fn: Callable) -> Callable:
    """Marks a state predicate that must hold in every reachable state.

    Return True when it holds; False, or a string saying what is wrong, when it does not.
    """
    return _attach(fn, Mark("invariant"))


def action_invariant(fn: Callable) -> Callable:
    """Marks a predicate on every step: `fn(self, before, action_label) -> bool | str`.

    `self` is the state after the step, `before` the state before it (both read-only).
    """
    return _attach(fn, Mark("action_invariant"))


def reachable(fn: Callable) -> Callable:
    """Marks a state predicate that some reachable state must satisfy (guards against a vacuous spec)."""
    return _attach(fn, Mark("reachable"))


def eventually(fn: Callable) -> Callable:
    """Marks a liveness property: on every fair behaviour, the predicate eventually holds."""
    return _attach(fn, Mark("eventually"))


def always_eventually(fn: Callable) -> Callable:
    """Marks a liveness property: on every fair behaviour, the predicate holds infinitely often."""
    return _attach(fn, Mark("always_eventually"))


def leads_to(trigger: Callable[[Any], bool]):
    """Marks a liveness property `trigger ~> fn`: whenever trigger holds, fn eventually holds."""
    return lambda fn: _attach(fn, Mark("leads_to", extra=trigger))
