"""Coverage: per action (per handler and timer for actors), how often it was enabled and taken.

A spec whose action can never run, or whose `@reachable` property has no witness, proves nothing
about that part: the CI gate treats it as failing (a vacuous spec is a failing spec).

Counting needs no hook in the engines: on the interpreted engine, `CountingModel` wraps a model and
counts what its `successors` return, and which `@reachable` properties its `check_reachables` saw
hold; on the batched engine (plain specs), `CoveringBatchSearch` counts the (parent, step) pairs of
each chunk of successors it computes. Either way, for a complete BFS the counts are: enabled = the
number of reachable states where the unit has at least one successor, taken = the number of
transitions it contributes (the engine's `transitions` is their sum over actions).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .engine.batch import BatchSearch

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

    def unit(self, step: Any) -> str:
        """Names the unit a step counts toward (a handler, a timer, a plain action); the batched
        coverage (CoveringBatchSearch) names its step ids with it, so both engines count alike."""
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
            u = self.unit(step)
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


class CoveringBatchSearch(BatchSearch):
    """The batched search (engine/batch.py), also counting coverage from its recorded steps.

    Each chunk of successors the batched engine computes is a list of (parent, step id) pairs, before
    duplicates are dropped, and a step id stands for one recorded step, whose unit `CountingModel`
    names. So per unit, taken = its successors, and enabled = the distinct parents with at least one:
    what `CountingModel` counts on the interpreted engine, and the same figures for a run that
    explores the same states (a complete BFS, or one cut by a depth bound; a run stopped by
    --max-states, a time limit or a violation stops at a level's end here, mid-level there).
    """

    def __init__(self, *a: Any, **k: Any):
        super().__init__(*a, **k)
        self._namer = CountingModel(self.model)
        self._names: list[str] = []  # unit names, by index
        self._index: dict[str, int] = {}
        self._unit_of = np.zeros((2, 0), dtype=np.int64)  # per step id: its unit, and "duplicate" or -1
        self._taken = np.zeros(0, dtype=np.int64)
        self._enabled = np.zeros(0, dtype=np.int64)

    def _unit_index(self, name: str) -> int:
        if name not in self._index:
            self._index[name] = len(self._names)
            self._names.append(name)
        return self._index[name]

    def _units_of_steps(self) -> np.ndarray:
        """Returns, per step id recorded so far, its unit index and the "duplicate" unit's (or -1)."""
        have = self._unit_of.shape[1]
        if have < len(self.emits):
            extra = [(self._unit_index(self._namer.unit(e.step)),
                      self._unit_index("duplicate") if e.step.info and e.step.info.get("kind") == "dup" else -1)
                     for e in self.emits[have:]]
            self._unit_of = np.hstack([self._unit_of, np.array(extra, dtype=np.int64).T])
            grow = len(self._names) - len(self._taken)
            self._taken = np.concatenate([self._taken, np.zeros(grow, dtype=np.int64)])
            self._enabled = np.concatenate([self._enabled, np.zeros(grow, dtype=np.int64)])
        return self._unit_of

    def _successor_chunks(self, cols, fps, lo, n, widen):
        for item in super()._successor_chunks(cols, fps, lo, n, widen):
            cpar, cem = item[4], item[5]
            if len(cem):
                unit_of = self._units_of_steps()
                k = len(self._taken)
                u = unit_of[:, cem].ravel()  # each successor's unit, then its second one (a duplicate's)
                par = np.concatenate([cpar, cpar])
                has = u >= 0
                u, par = u[has], par[has]
                self._taken += np.bincount(u, minlength=k)
                self._enabled += np.bincount(np.unique(par * k + u) % k, minlength=k)
            yield item

    def coverage(self) -> Coverage:
        """Returns the counts so far, as `CountingModel.coverage` holds them."""
        cov = Coverage(units=units_of(self.model)[0], reachables=list(self.model.reachables()))
        for i, name in enumerate(self._names):
            if self._taken[i]:
                cov.taken[name] += int(self._taken[i])
                cov.enabled[name] += int(self._enabled[i])
        cov.witnessed = set(cov.reachables) - self._unwitnessed
        return cov
