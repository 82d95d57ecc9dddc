"""Coverage: per action (per handler and timer for actors), how often it was enabled and taken.

A spec whose action can never run, or whose `@reachable` property has no witness, proves nothing
about that part: the CI gate treats it as failing (a vacuous spec is a failing spec).

Counting needs no hook in the engines: `CountingModel` wraps a model and counts what its
`successors` return, and which `@reachable` properties its `check_reachables` saw hold. The
interpreted engine calls both once per state it expands, so for a complete BFS the counts are: enabled
= the number of reachable states where the unit has at least one successor, taken = the number of
transitions it contributes (the engine's `transitions` is their sum over actions).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

#: Fault steps: counted and shown, but never required to be enabled (a budget of 0 disables them).
FAULT_UNITS = ("lose", "duplicate", "crash", "restart", "partition_network", "heal")


@dataclass
class Coverage:
    """How often each unit of a spec (action, handler, timer) was enabled and taken."""

    units: list[str] = field(default_factory=list)  # every declared unit, in declaration order
    enabled: Counter = field(default_factory=Counter)  # unit -> states where it had a successor
    taken: Counter = field(default_factory=Counter)  # unit -> transitions it made
    reachables: list[str] = field(default_factory=list)
    witnessed: set[str] = field(default_factory=set)

    def never_enabled(self) -> list[str]:
        """Returns the protocol's own units (not faults) that never had a successor."""
        return [u for u in self.units if self.enabled[u] == 0 and u not in FAULT_UNITS]

    def unwitnessed(self) -> list[str]:
        return [r for r in self.reachables if r not in self.witnessed]

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {u: {"enabled": self.enabled[u], "taken": self.taken[u]} for u in self.units}

    def table(self) -> str:
        """Returns the counts as an aligned text table."""
        w = max([len(u) for u in self.units] + [4])
        rows = [f"    {'unit':<{w}}  {'enabled':>9}  {'taken':>9}"]
        for u in self.units:
            flag = "  <- never enabled" if u in self.never_enabled() else ""
            rows.append(f"    {u:<{w}}  {self.enabled[u]:>9,}  {self.taken[u]:>9,}{flag}")
        return "\n".join(rows)


def units_of(model: Any) -> tuple[list[str], dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    """Returns (units, {(node, handler): unit}, {(node, timer): unit}) for a model.

    A plain spec's units are its actions. An actor spec's are each node class's handlers and timers
    (`Participant.got_prepare`, `Coordinator.vote_timeout`), its own @actions and its fault steps.
    """
    blueprint = getattr(model, "_base", {}).get("_blueprint") or {}
    if not blueprint:
        return [a.name for a in model.actions], {}, {}
    units: list[str] = []
    handlers: dict[tuple[str, str], str] = {}
    timers: dict[tuple[str, str], str] = {}
    for node_id, cls in blueprint.items():
        for fn in dict.fromkeys(cls._handlers.values()):
            u = f"{cls.__name__}.{fn.__name__}"
            handlers[(node_id, fn.__name__)] = u
            if u not in units:
                units.append(u)
        for name in cls._timers:
            u = f"{cls.__name__}.{name}"
            timers[(node_id, name)] = u
            if u not in units:
                units.append(u)
    units += [a.name for a in model.actions if a.name not in ("deliver", "fire_timer")]
    return units, handlers, timers


class CountingModel:
    """A model that counts, per unit, the states where it is enabled and the steps it takes."""

    def __init__(self, model: Any):
        self._model = model
        units, self._handlers, self._timers = units_of(model)
        self.coverage = Coverage(units=units, reachables=list(model.reachables()))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def _unit(self, step: Any) -> str:
        info = step.info
        if info:
            kind = info.get("kind")
            if kind in ("deliver", "dup") and "handler" in info:
                return self._handlers.get((info.get("node"), info["handler"]), step.action)
            if kind == "drop":
                return "deliver to a crashed node"
            if kind == "timer":
                return self._timers.get((info.get("node"), info.get("timer")), step.action)
            if kind == "dup":
                return "duplicate"
        return step.action

    def successors(self, state: tuple) -> list:
        succs = self._model.successors(state)
        cov = self.coverage
        seen = set()
        for _nxt, step in succs:
            u = self._unit(step)
            cov.taken[u] += 1
            if step.info and step.info.get("kind") == "dup":
                cov.taken["duplicate"] += 1
                seen.add("duplicate")
            seen.add(u)
        for u in seen:
            cov.enabled[u] += 1
        return succs

    def check_reachables(self, state: tuple) -> list[str]:
        found = self._model.check_reachables(state)
        self.coverage.witnessed.update(found)
        return found
