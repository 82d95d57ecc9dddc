"""The reachable state graph, kept whole for liveness: states, edges with their task, enabled tasks.

Liveness needs cycles, so unlike the safety engine (which keeps fingerprints and parents only) this
BFS keeps every state and every edge. It is meant for the small models liveness is checked on;
`--max-states`, `--time-limit` and `--depth` bound it, and a state whose successors were not
computed is marked unexpanded: the fair-cycle search never uses it, so what it finds is real, but
the verdict is partial (see `Graph.complete`).
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..engine.model import Step
from .fairness import Fairness


@dataclass
class Graph:
    """Every state found, the edges between them and, per state, the tasks enabled there."""

    states: list[tuple] = field(default_factory=list)  # only in hand-built graphs (tests); see labels
    labels: list[tuple] = field(default_factory=list)  # per state: what label(state) said about it
    init_steps: dict[int, Step] = field(default_factory=dict)  # initial state index -> its init Step
    succ: list[list[tuple[int, int]]] = field(default_factory=list)  # per state: (target, edge id)
    edge_move: list[tuple[str, tuple]] = field(default_factory=list)  # (action, decisions): enough to replay
    edge_task: list[int] = field(default_factory=list)  # task index per edge
    enabled: list[frozenset[int]] = field(default_factory=list)  # fair tasks enabled per state
    expanded: list[bool] = field(default_factory=list)
    tasks: list[Any] = field(default_factory=list)  # task index -> key
    task_fair: list[str | None] = field(default_factory=list)  # task index -> None | weak | strong
    complete: bool = True
    why_partial: str | None = None

    @property
    def initial(self) -> list[int]:
        return list(self.init_steps)

    def edges_of(self, u: int):
        return self.succ[u]


def build_graph(model: Any, fairness: Fairness, *, depth: int | None = None, max_states: int | None = None,
                time_limit: float | None = None, label: Callable[[tuple], tuple] | None = None,
                memo: Any = None) -> Graph:
    """Explores the model breadth-first and returns its whole graph (bounded as the options say).

    States are not kept: they are deduplicated by the engine's 64-bit fingerprints, `label(state)`
    (what the properties say about it) is stored instead, and a state lives only while it waits in
    the queue. Traces are rebuilt by replaying the recorded (action, decisions) of the edges.
    `memo` (memo.Remembering) hands back successors the safety search already computed.
    """
    from ..engine.fingerprint import Fingerprinter

    g = Graph()
    fpr = Fingerprinter(tuple(model.fields))
    index: dict[int, int] = {}
    task_index: dict[Any, int] = {}
    t0 = time.perf_counter()
    queue: deque[tuple[int, int, tuple, int]] = deque()

    def add(state: tuple, fp: int, d: int) -> int:
        i = index.get(fp)
        if i is None:
            i = index[fp] = len(g.succ)
            g.succ.append([])
            g.enabled.append(frozenset())
            g.expanded.append(False)
            g.labels.append(label(state) if label is not None else ())
            queue.append((i, d, state, fp))
        return i

    for state, step in model.initial_states():
        i = add(state, fpr.of(state), 0)
        g.init_steps.setdefault(i, step)
    n = 0
    while queue:
        u, d, state, fp = queue.popleft()
        if depth is not None and d >= depth:
            g.complete, g.why_partial = False, f"the depth bound ({depth}) cut the graph"
            continue
        if max_states is not None and u >= max_states:
            g.complete, g.why_partial = False, f"--max-states ({max_states}) cut the graph"
            continue
        n += 1
        if time_limit is not None and n & 255 == 0 and time.perf_counter() - t0 > time_limit:
            g.complete, g.why_partial = False, f"--time-limit ({time_limit:g} s) stopped the graph"
            break
        succs = memo.take(fp) if memo is not None else None
        if succs is None:
            succs = model.successors(state)
        out = g.succ[u]
        en = set()
        for nxt, step in succs:
            key, fair = fairness.task(step)
            t = task_index.get(key)
            if t is None:
                t = task_index[key] = len(g.tasks)
                g.tasks.append(key)
                g.task_fair.append(fair)
            if fair is not None:
                en.add(t)
            eid = len(g.edge_move)
            g.edge_move.append((step.action, step.decisions))  # not the Step: its info is big
            g.edge_task.append(t)
            out.append((add(nxt, fpr.update(fp, state, nxt), d + 1), eid))
        g.enabled[u] = frozenset(en)
        g.expanded[u] = True
    return g
