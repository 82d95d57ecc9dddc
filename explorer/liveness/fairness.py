"""Fairness: which *task* a step belongs to, and whether that task is weakly or strongly fair.

A task is the unit a fairness assumption talks about. "Weakly fair" means: a task that stays
enabled forever from some point on is taken infinitely often; "strongly fair": a task enabled
infinitely often is taken infinitely often. A task is enabled in a state when at least one of its
steps leaves that state (so a false `require` disables it).

The tasks, decided once here and documented in docs/liveness.md:

- a plain `@action(fair=...)` is one task as a whole, whatever its `choose` calls pick (TLA+'s
  WF_vars(A) for an A with existential choices);
- an actor's **in-flight message** is one task per (sender, receiver, message), weakly fair by
  default (`@on(Msg, fair="strong")` or `fair=False` on the handler changes that): a message to a live node whose handler stays enabled is eventually delivered; a message
  to a crashed node is eventually dropped (that is how a crashed node "receives"). Copies of the
  same message are one task. What the handler then `choose`s is not fair: fairness schedules, it
  does not pick values;
- an actor's `@timer(fair=...)` is one task per (node, timer);
- faults (`lose`, `duplicate`, `crash`, `restart`, `partition_network`, `heal`) are never fair:
  a fault may happen or not, and a crashed node may stay down forever, a partition may never heal.
"""
from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from ..dsl.decorators import MARK
from ..engine.model import Step
from ..errors import SpecError

WEAK, STRONG = "weak", "strong"
FAULT_KINDS = frozenset({"loss", "dup", "crash", "restart", "partition", "heal"})


def normalise(fair: Any, who: str, where: str | None = None) -> str | None:
    """Returns None (not fair), "weak" or "strong" for a declared `fair=` value; SpecError otherwise."""
    if fair is False or fair is None:
        return None
    if fair is True or fair == WEAK:
        return WEAK
    if fair == STRONG:
        return STRONG
    raise SpecError(f"{who}: fair={fair!r} is not a fairness", where=where,
                    hint='use fair=True (weak fairness) or fair="strong"')


class Fairness:
    """Maps each step of one model to its task and that task's fairness."""

    def __init__(self, model: Any):
        self.model = model
        self._actions: dict[str, str | None] = {}
        for a in getattr(model, "actions", ()):
            self._actions[a.name] = normalise(a.fair, f"action {a.name}", a.where)
        self._timers: dict[tuple[str, str], str | None] = {}
        blueprint = getattr(model, "_base", {}).get("_blueprint") or {}
        for node_id, cls in blueprint.items():
            for name, (fn, fair) in getattr(cls, "_timers", {}).items():
                self._timers[(node_id, name)] = normalise(fair, f"timer {cls.__name__}.{name}",
                                                          _where(fn))
        self._handlers: dict[tuple[str, str], str | None] = {}
        for node_id, cls in blueprint.items():
            for fn in getattr(cls, "_handlers", {}).values():
                mark = getattr(fn, MARK, None)
                fair = mark.fair if mark is not None else True
                self._handlers[(node_id, fn.__name__)] = normalise(fair, f"handler {cls.__name__}.{fn.__name__}",
                                                                   _where(fn))
        self.actor = bool(blueprint)

    def task(self, step: Step) -> tuple[Hashable, str | None]:
        """Returns (task key, fairness) of a step; fairness is None for a step no assumption covers."""
        info = step.info
        kind = info.get("kind") if info else None
        if kind in ("deliver", "drop"):
            key = ("msg", info.get("src"), info.get("dst"), info.get("msg"))
            return key, self._handlers.get((info.get("node"), info.get("handler")), WEAK)
        if kind == "timer":
            node, name = info.get("node"), info.get("timer")
            return ("timer", node, name), self._timers.get((node, name))
        if kind in FAULT_KINDS:
            return ("fault", step.action), None
        return ("action", step.action), self._actions.get(step.action)

    def declared(self) -> bool:
        """True when some step can be fair (a fair action or timer, or an actor network)."""
        return self.actor or any(self._actions.values()) or any(self._timers.values())

    @staticmethod
    def describe(key: Hashable) -> str:
        """Returns a task as the user reads it: `delivery of p1→coord Vote(yes=True)`, `timer coord.vote_timeout`."""
        if isinstance(key, tuple) and key:
            if key[0] == "msg":
                return f"delivery of {key[1]}→{key[2]} {key[3]}"
            if key[0] == "timer":
                return f"timer {key[1]}.{key[2]}"
            if key[0] in ("action", "fault"):
                return str(key[1])
        return str(key)


def _where(fn: Any) -> str | None:
    try:
        return f"{fn.__code__.co_filename}:{fn.__code__.co_firstlineno}"
    except AttributeError:
        return None
