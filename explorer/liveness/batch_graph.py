"""The liveness graph built a whole BFS level at a time with the batched engine's memo tries.

`graph.build_graph` runs every action of every state in Python (on raft with vote_rule=seed,
max_term=3: 50,067 states, about 75 s of 86). This builder asks the batched engine
(explorer/engine/batch.py) for *every* successor of a level at once, as numpy arrays of (source,
successor fingerprint, step id), keeps all of them as edges (the safety search keeps only the first
parent), and evaluates the liveness properties (and `leads_to` triggers) on a level with the same
tries. Python runs once per distinct combination of the values an action or property reads.

It returns the very `Graph` the one-state-at-a-time builder returns: same state numbering (BFS
order: parent, then action, then decisions), same edge ids, same task numbering, same labels and
enabled sets, so the fair components and the lassos found in it are the same
(tests/test_liveness_graph.py compares the two). Anything the batched engine cannot represent, or an
action or property that raises, raises `Fallback`: the caller builds the graph the interpreted way,
which also gives the error its message and trace.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.batch import BatchSearch, _ReRun, _Trie
from ..engine.leaves import SchemaChanged, Unbatchable
from ..engine.options import Options
from .fairness import Fairness
from .graph import Graph


class Fallback(Exception):
    """The batched builder cannot build this graph; the interpreted builder must."""


def batchable(model: Any) -> bool:
    """True for models the batched builder may try: plain and actor specs (timed specs are interpreted).

    Actor specs choose the message to deliver with `choose_present`, so a delivery's trie entry reads
    one message, not the whole network (docs/performance.md, "Actor specs").
    """
    if getattr(model, "interpreted_only", False) or getattr(model, "action_invariants", None):
        return False
    return hasattr(model, "_ctx_ro") and hasattr(model, "actions")


@dataclass(frozen=True)
class _Trigger:
    """A `leads_to` trigger as a property the tries can evaluate (truthiness as `check._trigger` reads it)."""

    name: str
    fn: Callable[[Any], bool]
    where: str | None
    kind: str = "leads_to trigger"


def _trigger_of(p: Any) -> _Trigger:
    extra = p.extra

    def fn(obj: Any) -> bool:
        r = extra(obj)
        return r is True or (r is not False and not isinstance(r, str) and bool(r))

    return _Trigger(p.name, fn, p.where)


class _GraphSearch(BatchSearch):
    """The batched engine used only for its tries and `_successors`; errors mean Fallback."""

    def _reraise_interp(self) -> None:
        raise Fallback("an action raised")

    def _reraise_property(self, cols: np.ndarray, depth: int) -> None:  # pragma: no cover - not called here
        raise Fallback("a property raised")


def build_graph_batched(model: Any, fairness: Fairness, props: list[Any], *, depth: int | None = None,
                        max_states: int | None = None, time_limit: float | None = None,
                        warm: BatchSearch | None = None) -> Graph:
    """Builds the graph `graph.build_graph(model, fairness, label=...)` builds, a level at a time.

    `props` are the liveness properties: a state's label is (holds, trigger) per property, trigger
    False for a kind other than leads_to (as `check._check_liveness`'s label function says).
    `warm`, the batched safety search of the same model, lends its codebooks and action tries, so
    the actions are not recorded again. Raises Fallback when the batched engine cannot do it.
    """
    try:
        return _Builder(model, fairness, props, depth, max_states, time_limit, warm).run()
    except (Unbatchable, _ReRun) as e:
        raise Fallback(str(e) or type(e).__name__) from None


class _Builder:
    def __init__(self, model: Any, fairness: Fairness, props: list[Any], depth: int | None,
                 max_states: int | None, time_limit: float | None, warm: BatchSearch | None = None):
        self.model = model
        self.fairness = fairness
        self.depth, self.max_states, self.time_limit = depth, max_states, time_limit
        self.bs = bs = _GraphSearch(model, Options())
        if warm is not None and warm.model is model and not warm.leaves.changed:
            bs.fpr, bs.leaves = warm.fpr, warm.leaves  # codes and tries go together
            bs.action_tries, bs.emits, bs._emit_index = warm.action_tries, warm.emits, warm._emit_index
        self.checks: list[Any] = []  # what each label slot evaluates: a property, a trigger, or None (False)
        for p in props:
            self.checks.append(p)
            self.checks.append(_trigger_of(p) if p.kind == "leads_to" else None)
        self.tries = [_Trie() for _ in self.checks]
        self.g = Graph()
        self.task_index: dict[Hashable, int] = {}
        self.emit_task: list[int] = []  # step id -> task index (filled as step ids appear)
        self.emit_move: list[tuple[str, tuple]] = []  # step id -> (action, decisions)
        self.enabled_cache: dict[tuple[int, ...], frozenset[int]] = {(): frozenset()}

    # ------------------------------------------------------------------ the BFS
    def run(self) -> Graph:
        g, bs = self.g, self.bs
        fpr = bs.fpr
        t0 = time.perf_counter()
        states, fps_list = [], []
        first: dict[int, int] = {}
        for state, step in self.model.initial_states():
            fp = fpr.of(state)
            i = first.get(fp)
            if i is None:
                i = first[fp] = len(states)
                states.append(state)
                fps_list.append(fp)
            g.init_steps.setdefault(i, step)
        cols = bs._encode_states(states)
        fps = np.array(fps_list, dtype=np.uint64)
        order = np.argsort(fps)
        seen_fp, seen_idx = fps[order], order.astype(np.int64)  # every state so far: sorted fps, their index
        base, d = 0, 0
        src_parts: list[np.ndarray] = []
        dst_parts: list[np.ndarray] = []
        em_parts: list[np.ndarray] = []
        expanded = np.zeros(0, dtype=bool)
        while len(fps):
            cols = self._label(cols)
            n_level = len(fps)
            n_exp = n_level
            if self.depth is not None and d >= self.depth:
                n_exp = 0
                g.complete, g.why_partial = False, f"the depth bound ({self.depth}) cut the graph"
            elif self.max_states is not None and base + n_level > self.max_states:
                n_exp = max(0, self.max_states - base)
                g.complete, g.why_partial = False, f"--max-states ({self.max_states}) cut the graph"
            if n_exp and self.time_limit is not None and time.perf_counter() - t0 > self.time_limit:
                n_exp = 0
                g.complete, g.why_partial = False, f"--time-limit ({self.time_limit:g} s) stopped the graph"
            expanded = np.concatenate([expanded, np.arange(n_level) < n_exp])
            if not n_exp:
                break
            cols, src, dfp, em = self._expand(cols, fps, n_exp)
            # edges in the interpreted order: by source, then action, then decisions
            rank, _ordered = bs._emit_rank()
            o = np.lexsort((rank[em], src))
            src, dfp, em = src[o], dfp[o], em[o]
            self._tasks_of(em)
            # new states, numbered in the order their first edge reaches them
            pos = np.searchsorted(seen_fp, dfp)
            pos[pos == len(seen_fp)] = 0
            new_mask = seen_fp[pos] != dfp
            nfp, first_at = np.unique(dfp[new_mask], return_index=True)
            by_first = np.argsort(first_at)
            new_edges = np.flatnonzero(new_mask)[first_at[by_first]]  # the edge that found each new state
            new_fps = nfp[by_first]
            nbase = base + n_level
            new_idx = nbase + np.arange(len(new_fps), dtype=np.int64)
            seen_fp = np.concatenate([seen_fp, new_fps])
            seen_idx = np.concatenate([seen_idx, new_idx])
            o = np.argsort(seen_fp, kind="stable")
            seen_fp, seen_idx = seen_fp[o], seen_idx[o]
            dst = seen_idx[np.searchsorted(seen_fp, dfp)]
            src_parts.append(src + base)
            dst_parts.append(dst)
            em_parts.append(em)
            cols = bs._fit_dtype(cols)
            new_cols = cols[:, src[new_edges]]
            bs._apply_writes(new_cols, em[new_edges])
            cols, fps = new_cols, new_fps
            base, d = nbase, d + 1
        return self._finish(src_parts, dst_parts, em_parts, expanded)

    def _expand(self, cols: np.ndarray, fps: np.ndarray, n: int):
        """Returns (cols, maybe widened; source position, successor fingerprint, step id) of every
        successor of the first n states of a level, self-loops and duplicates included."""
        srcs, dfps, ems = [], [], []
        for cols_now, a, _b, cfp, cpar, cem in self.bs._successor_chunks(cols, fps, 0, n, self._schema_changed):
            cols = cols_now  # widened when a chunk met a new dict key
            srcs.append(cpar + a)
            dfps.append(cfp)
            ems.append(cem)
        return cols, np.concatenate(srcs), np.concatenate(dfps), np.concatenate(ems)

    def _schema_changed(self, cols: np.ndarray) -> np.ndarray:
        """A dict gained a new key: every trie may have missed it (as in BatchSearch._levels)."""
        self.bs._reset_tries()
        self.tries = [_Trie() for _ in self.checks]
        return self.bs._widen(cols)

    # ------------------------------------------------------------------ labels
    def _label(self, cols: np.ndarray) -> np.ndarray:
        """Appends the labels of a level's states to the graph; returns cols (maybe widened)."""
        n = cols.shape[1]
        if not n:
            return cols
        idx = np.arange(n, dtype=np.int64)
        bs = self.bs
        while True:
            try:
                slots = []
                for k, c in enumerate(self.checks):
                    if c is None:
                        slots.append(None)
                        continue
                    out = np.zeros(n, dtype=bool)

                    def sink(i: np.ndarray, ids: np.ndarray, out=out) -> None:
                        out[i] = ids == 1

                    bs._walk(self.tries[k], idx, cols,
                             lambda codes, k=k, c=c: bs._expand_property(self.tries[k], c, codes), sink)
                    slots.append(out.tolist())
                break
            except SchemaChanged:
                cols = self._schema_changed(cols)
        false = [False] * n
        self.g.labels.extend(zip(*(s if s is not None else false for s in slots), strict=True)
                             if slots else [()] * n)
        return cols

    # ------------------------------------------------------------------ tasks and the Graph
    def _tasks_of(self, em: np.ndarray) -> None:
        """Numbers the tasks of step ids met for the first time, in the order their first edge comes."""
        g = self.g
        known = len(self.emit_task)
        emits = self.bs.emits
        if len(emits) > known:
            self.emit_task.extend([-1] * (len(emits) - known))
            self.emit_move.extend([None] * (len(emits) - known))  # type: ignore[list-item]
        ids, first = np.unique(em, return_index=True)
        fresh = [(f, e) for e, f in zip(ids.tolist(), first.tolist(), strict=True) if self.emit_task[e] < 0]
        for _f, e in sorted(fresh):
            step = emits[e].step
            key, fair = self.fairness.task(step)
            t = self.task_index.get(key)
            if t is None:
                t = self.task_index[key] = len(g.tasks)
                g.tasks.append(key)
                g.task_fair.append(fair)
            self.emit_task[e] = t
            self.emit_move[e] = (step.action, step.decisions)

    def _finish(self, src_parts, dst_parts, em_parts, expanded: np.ndarray) -> Graph:
        g = self.g
        n = len(g.labels)
        g.expanded = expanded.tolist() + [False] * (n - len(expanded))
        if src_parts:
            src = np.concatenate(src_parts)
            dst = np.concatenate(dst_parts)
            em = np.concatenate(em_parts)
        else:
            src = dst = em = np.zeros(0, dtype=np.int64)
        emit_task = np.array(self.emit_task, dtype=np.int64)
        task = emit_task[em] if len(em) else np.zeros(0, dtype=np.int64)
        g.edge_task = task.tolist()
        moves = self.emit_move
        g.edge_move = [moves[e] for e in em.tolist()]
        starts = np.searchsorted(src, np.arange(n + 1))
        dl = dst.tolist()
        st = starts.tolist()
        g.succ = [list(zip(dl[st[u]:st[u + 1]], range(st[u], st[u + 1]), strict=True)) for u in range(n)]
        # enabled: the fair tasks of each state's edges
        fair = np.array([f is not None for f in g.task_fair], dtype=bool)
        g.enabled = [frozenset()] * n
        if len(task) and fair.any():
            keep = fair[task]
            pairs = np.unique(src[keep] * len(g.tasks) + task[keep])
            ps, pt = (pairs // len(g.tasks)).tolist(), (pairs % len(g.tasks)).tolist()
            cache = self.enabled_cache
            i = 0
            while i < len(ps):
                u, j = ps[i], i
                while j < len(ps) and ps[j] == u:
                    j += 1
                key = tuple(pt[i:j])
                fs = cache.get(key)
                if fs is None:
                    fs = cache[key] = frozenset(key)
                g.enabled[u] = fs
                i = j
        return g
