"""Fair strongly connected components, and a fair loop through one of them.

A behaviour that violates a liveness property ends by staying forever inside one strongly
connected component C of the states it may visit (a single state counts: the behaviour may stutter
there). The longest such stay visits every state of C and takes every edge of C infinitely often,
so C hosts a fair behaviour exactly when (Streett emptiness, as in Emerson and Lei):

- every weak task that is enabled in *every* state of C is taken on some edge inside C
  (otherwise no sub-component can help either: the task stays enabled and is never taken);
- every strong task enabled *somewhere* in C is taken inside C; when one is not, the states where it
  is enabled are removed and the components of the rest are examined again.

This is sound and complete for the declared fairness on the graph searched.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from .fairness import STRONG, WEAK
from .graph import Graph


def components(g: Graph, nodes: set[int]) -> list[set[int]]:
    """Returns the strongly connected components of the subgraph induced by `nodes` (Tarjan, iterative)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[set[int]] = []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(g.succ[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w, _e in it:
                if w not in nodes:
                    continue
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(g.succ[w])))
                    advanced = True
                    break
                if w in on_stack and index[w] < low[v]:
                    low[v] = index[w]
            if advanced:
                continue
            work.pop()
            if work:
                p = work[-1][0]
                if low[v] < low[p]:
                    low[p] = low[v]
            if low[v] == index[v]:
                comp = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.add(w)
                    if w == v:
                        break
                out.append(comp)
    return out


def taken_inside(g: Graph, comp: set[int]) -> set[int]:
    """Returns the fair tasks taken on edges whose both ends are in `comp`."""
    out = set()
    for u in comp:
        for v, e in g.succ[u]:
            if v in comp:
                t = g.edge_task[e]
                if g.task_fair[t] is not None:
                    out.add(t)
    return out


def fair_components(g: Graph, nodes: set[int]) -> list[set[int]]:
    """Returns every component of `nodes` (after strong-fairness pruning) that hosts a fair behaviour."""
    nodes = {u for u in nodes if g.expanded[u]}  # unexpanded states: enabledness unknown
    found: list[set[int]] = []
    work = [nodes]
    while work:
        sub = work.pop()
        for comp in components(g, sub):
            taken = taken_inside(g, comp)
            always = frozenset.intersection(*(g.enabled[u] for u in comp))
            if any(g.task_fair[t] == WEAK and t not in taken for t in always):
                continue
            somewhere = set().union(*(g.enabled[u] for u in comp))
            starved = {t for t in somewhere if g.task_fair[t] == STRONG and t not in taken}
            if not starved:
                found.append(comp)
                continue
            rest = {u for u in comp if not (g.enabled[u] & starved)}
            if rest:
                work.append(rest)
    return found


def shortest(g: Graph, sources: Iterable[int], targets: set[int], allowed: set[int] | None):
    """Returns (start state, edge ids, end state) of a shortest path, or None."""
    parent: dict[int, tuple[int, int] | None] = {}
    q: deque[int] = deque()
    for s in sorted(set(sources)):
        if s not in parent and (allowed is None or s in allowed):
            parent[s] = None
            q.append(s)
    while q:
        u = q.popleft()
        if u in targets:
            end, edges = u, []
            while parent[u] is not None:
                p, e = parent[u]
                edges.append(e)
                u = p
            return u, edges[::-1], end
        for v, e in g.succ[u]:
            if v not in parent and (allowed is None or v in allowed):
                parent[v] = (u, e)
                q.append(v)
    return None


def fair_loop(g: Graph, comp: set[int], entry: int) -> list[int]:
    """Returns the edge ids of a fair cycle from `entry` back to it inside `comp` (empty: stutter there).

    The cycle takes one edge of each strong task enabled in `comp`, and for each weak task enabled at
    `entry`, visits a state of `comp` where it is disabled or takes one of its edges.
    """
    taken_edges: dict[int, tuple[int, int, int]] = {}
    for u in sorted(comp):
        for v, e in g.succ[u]:
            if v in comp:
                t = g.edge_task[e]
                if g.task_fair[t] is not None and t not in taken_edges:
                    taken_edges[t] = (u, v, e)
    goals: list[tuple[str, object]] = []
    somewhere = set().union(*(g.enabled[u] for u in comp))
    for t in sorted(somewhere):
        if g.task_fair[t] == STRONG:
            goals.append(("edge", taken_edges[t]))
    for t in sorted(g.enabled[entry]):
        if g.task_fair[t] != WEAK:
            continue
        off = [u for u in sorted(comp) if t not in g.enabled[u]]
        if t in taken_edges:
            goals.append(("edge", taken_edges[t]))
        elif off:
            goals.append(("state", off[0]))
        else:  # cannot happen for a fair component
            raise AssertionError(f"weak task {t} starves in a component judged fair")
    loop: list[int] = []
    cur = entry
    for kind, goal in goals:
        if kind == "edge":
            u, v, e = goal  # type: ignore[misc]
            if u != cur:
                _s, edges, _end = shortest(g, [cur], {u}, comp)
                loop += edges
            loop.append(e)
            cur = v
        else:
            if goal != cur:
                _s, edges, cur = shortest(g, [cur], {goal}, comp)  # type: ignore[arg-type]
                loop += edges
    if cur != entry:
        _s, edges, _end = shortest(g, [cur], {entry}, comp)
        loop += edges
    return loop
