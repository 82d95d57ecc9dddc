"""`require` and `choose`: guards and nondeterminism, driven by a decision oracle.

An action is ordinary Python. To enumerate its successors, the executor runs it several times, each
time with a recorded list of decisions: `choose` returns the option the list names (or the first one,
recording how many there were), and `require(False)` abandons the run. Backtracking over the
decision lists visits every combination of choices exactly once. The same mechanism replays a trace
step (its decisions are saved) and will drive symbolic execution later.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any


class Disabled(Exception):
    """Raised by `require` when a guard is false: this run of the action yields no successor."""


class Oracle:
    """The decisions of one run: replays `prefix`, then picks the first option and records the fan-out."""

    __slots__ = ("prefix", "pos", "taken", "fanout", "labels")

    def __init__(self, prefix: Sequence[int] = ()):
        self.prefix = prefix
        self.pos = 0
        self.taken: list[int] = []
        self.fanout: list[int] = []
        self.labels: list[Any] = []

    def pick(self, options: Sequence[Any], name: str | None) -> Any:
        n = len(options)
        if n == 0:
            raise Disabled()
        i = self.prefix[self.pos] if self.pos < len(self.prefix) else 0
        if i >= n:  # a replayed decision that no longer exists
            raise Disabled()
        self.pos += 1
        self.taken.append(i)
        self.fanout.append(n)
        value = options[i]
        self.labels.append((name, value))
        return value

    def next_prefix(self) -> list[int] | None:
        """Returns the decisions of the next run in depth-first order, or None when all are done."""
        return next_decisions(self.taken, self.fanout)


def next_decisions(taken: Sequence[int], fanout: Sequence[int]) -> list[int] | None:
    """Backtracks over recorded decisions: the prefix of the next run, or None when all are done.

    Shared by every oracle (explicit choose() runs and symbolic branch runs).
    """
    for k in range(len(taken) - 1, -1, -1):
        if taken[k] + 1 < fanout[k]:
            return list(taken[:k]) + [taken[k] + 1]
    return None


_current: list[Oracle | None] = [None]


def require(condition: Any) -> None:
    """Guards an action: when `condition` is false, the action is not enabled in this state."""
    if not condition:
        raise Disabled()


def choose(options: Iterable[Any], name: str | None = None) -> Any:
    """Forks the action once per option; the chosen value becomes part of the step's label.

    Options are taken in the order given (sets and dict keys in sorted order, so runs repeat).
    An empty iterable disables the action.
    """
    oracle = _current[0]
    if oracle is None:
        raise RuntimeError("choose() is only meaningful inside an action run by the explorer")
    if isinstance(options, (set, frozenset)) or (isinstance(options, dict)):
        options = _sorted(options)
    elif not isinstance(options, (list, tuple, range)):
        options = list(options)
    return oracle.pick(options, name)


def choose_present(field: str, options: Callable[[], Sequence[Any]], *, order: Callable[[Any], Any],
                   allowed: Callable[[Any], bool] | None = None, option: Callable[[Any, Any], Any] | None = None,
                   name: str | None = None) -> Any:
    """`choose(options())` where the options are the present keys of dict field `field`, described so an
    engine need not read the whole field to know them.

    `options()` must return exactly: the keys k of the field with `allowed(k)` true, sorted by `order(k)`,
    each mapped to `option(k, value)` (default: k). `allowed` may depend only on values the step has read
    already. The one-state-at-a-time engine just calls `options()`; the batched engine (whose recording
    oracle has `pick_present`) reads only the chosen key, so a step's memo entry does not hold the rest
    of the field (actor specs: `deliver` reads one message, not the whole network). The decision
    recorded is the same index either way, so traces do not depend on the engine.
    """
    oracle = _current[0]
    if oracle is None:
        raise RuntimeError("choose() is only meaningful inside an action run by the explorer")
    hook = getattr(oracle, "pick_present", None)
    if hook is not None:
        return hook(field, options, order, allowed, option, name)
    return oracle.pick(list(options()), name)


def _sorted(items: Iterable[Any]) -> list:
    items = list(items)
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=repr)
