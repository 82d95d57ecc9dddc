"""Workers forked once per search, not once per level: `--workers` without copy-on-write churn.

A fork per level (ParallelBatchSearch) makes every page the parent writes while a child lives a
page copy; on TwoPhase N = 8 that is most of the 27 % of CPU 2 workers add. Here the workers are
forked at the first level big enough to split and live until the search ends. Each keeps its own
memo tries and codebooks; per level it receives, through a pipe, the client's codebooks (to extend
its own in the same order, or start them afresh when they disagree, see cluster._sync), its
frontier range and the visited fingerprints, and answers as a per-level child does, with every
step by value. The merge is ParallelBatchSearch's, so counts and traces are the same.
"""
from __future__ import annotations

import multiprocessing
import pickle
from typing import Any

import numpy as np

from .batch import BatchSearch
from .cluster import Codebooks, _sync, expand_synced
from .leaves import Leaves
from .parallel import ParallelBatchSearch


class PoolBatchSearch(ParallelBatchSearch):
    """ParallelBatchSearch with long-lived forked workers."""

    def __init__(self, model: Any, opts, **kw: Any):
        super().__init__(model, opts, **kw)
        self._pool: list[tuple[Any, Any]] = []  # (process, duplex connection)

    def run(self):
        try:
            return super().run()
        finally:
            for p, conn in self._pool:
                try:
                    conn.send_bytes(b"")  # stop
                except OSError:
                    pass
                conn.close()
                p.join(timeout=1)
                if p.is_alive():
                    p.terminate()
                    p.join()
            self._pool = []

    def _expand_level(self, cols: np.ndarray, fps: np.ndarray, visited: np.ndarray):
        n = len(fps)
        w = min(self.workers, max(1, n))
        if w == 1 or n < self.min_parallel_frontier:
            return BatchSearch._expand_level(self, cols, fps, visited)
        if not self._pool:
            ctx = multiprocessing.get_context("fork")
            for _ in range(1, self.workers):
                mine, theirs = ctx.Pipe(duplex=True)
                p = ctx.Process(target=self._serve, args=(theirs,), daemon=True)
                p.start()
                theirs.close()
                self._pool.append((p, mine))
        bounds = [n * k // w for k in range(w + 1)]
        lv = self.leaves
        books = pickle.dumps(Codebooks(tuple(zip(lv.leaf_field, lv.leaf_key, strict=True)),
                                       tuple(tuple(v) for v in lv.values)), protocol=pickle.HIGHEST_PROTOCOL)
        vis = np.ascontiguousarray(visited).data
        for k in range(1, w):
            a, b = bounds[k], bounds[k + 1]
            conn = self._pool[k - 1][1]
            part = np.ascontiguousarray(cols[:, a:b])
            conn.send_bytes(pickle.dumps({"lo": a, "shape": part.shape, "dtype": part.dtype.str},
                                         protocol=pickle.HIGHEST_PROTOCOL))
            conn.send_bytes(books)
            conn.send_bytes(part.tobytes())
            conn.send_bytes(np.ascontiguousarray(fps[a:b]).data)
            conn.send_bytes(vis)
        counts = np.zeros(n, dtype=np.int64)
        cols, parts = self._expand_range(cols, fps, visited, 0, bounds[1], counts)
        rows = [self._finish_range(parts)]
        seen = np.sort(rows[0][0])
        all_hold = self._all_hold(cols, rows[0])
        for k in range(1, w):
            cols, more, held = self._take_range(k, self._pool[k - 1][1], cols, fps, visited, bounds, counts)
            all_hold = all_hold and held
            rows.append(self._finish_range(more))
        self._prechecked = all_hold
        return self._join_ranges(cols, rows, counts, seen)

    # ------------------------------------------------------------------ worker side
    def _serve(self, conn: Any) -> None:
        """The worker's loop: one frontier range per message, until an empty message."""
        self._in_child = True
        self._progress = None
        self._pool = []
        while True:
            try:
                head = conn.recv_bytes()
            except (EOFError, OSError, KeyboardInterrupt):  # Ctrl-C reaches the workers too: the parent reports
                return
            if not head:
                return
            raw = [conn.recv_bytes() for _ in range(4)]  # read the whole task first: the pipe stays in step
            try:
                meta = pickle.loads(head)
                books = pickle.loads(raw[0])
                cols = np.frombuffer(raw[1], dtype=meta["dtype"]).reshape(meta["shape"])
                fps = np.frombuffer(raw[2], dtype=np.uint64)
                visited = np.frombuffer(raw[3], dtype=np.uint64)
                if not _sync(self, books):
                    _rebase(self, books)
                expand_synced(self, cols, fps, visited, meta["lo"]).send(conn)
            except BaseException as e:  # noqa: BLE001 - the parent redoes the range and reports properly
                try:
                    conn.send_bytes(pickle.dumps({"error": f"{type(e).__name__}: {e}"}))
                except OSError:
                    return


def _rebase(search: BatchSearch, books: Codebooks) -> None:
    """Starts the worker's codebooks, tries and steps afresh from the client's codebooks."""
    search.leaves = Leaves(tuple(search.model.fields), search.model.initial_states()[0][0], search.fpr)
    search._reset_tries()
    search.emits = []
    search._emit_index = {}
    search._rank_cache = None
    search._shape_cache = None
    if not _sync(search, books):
        raise RuntimeError("the worker's codebooks cannot follow the client's")
