"""`--cluster tcp://host:8786`: each BFS level's frontier ranges expanded on a Dask cluster.

The partitioning is the one of `--workers` (explorer/engine/parallel.py): contiguous ranges of the
frontier, merged by the client exactly as the one-process engine merges its chunks, so counts and
traces do not change. What differs is what a worker starts from: it cannot inherit the client's
memory, so each worker process loads the spec from its path (same checkout, or a shared disk), keeps
its own batched engine and memo tries between levels, and receives with each task the client's leaf
codebooks (small: one list of values per leaf) so its codes mean what the client's mean. The visited
fingerprints are broadcast once per level (8 B per state). Steps come back by value and are
renumbered by the client. A worker whose codebooks drifted from the client's (it learned a value the
client numbered otherwise) starts afresh; a task that fails is redone by the client.

Needs the optional extra: `pip install 'explorer[dask]'`.
"""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError
from .batch import BatchSearch
from .parallel import ParallelBatchSearch, RangeResult, step_by_value


@dataclass(frozen=True)
class Codebooks:
    """The client's leaves in creation order and each leaf's values by code (code 0: absent)."""

    leaves: tuple[tuple[int, Any], ...]
    values: tuple[tuple[Any, ...], ...]


class ClusterBatchSearch(ParallelBatchSearch):
    """ParallelBatchSearch whose frontier ranges run as Dask tasks."""

    def __init__(self, model: Any, opts, **kw: Any):
        super().__init__(model, opts, **kw)
        if not self.spec_file:
            raise UsageError("--cluster: the spec must be given as a file path, which each Dask worker loads",
                             hint="run explore SPEC.py --cluster ..., or explorer.check('path/spec.py', cluster=...)")
        try:
            from distributed import Client
        except ImportError:
            raise UsageError("--cluster needs Dask distributed, which is not installed",
                             hint="pip install 'explorer[dask]'") from None
        try:
            self.client = Client(opts.cluster, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise UsageError(f"--cluster {opts.cluster}: cannot reach the Dask scheduler ({e})",
                             hint="start one with `dask scheduler` and workers with `dask worker ADDRESS`") from None
        n_workers = len(self.client.scheduler_info().get("workers", {}))
        self.workers = opts.workers if opts.workers > 1 else max(1, n_workers)
        self.result.options["workers"] = self.workers
        self.result.options["cluster"] = opts.cluster
        self._run_key = uuid.uuid4().hex
        # an absolute path and the class: workers may run elsewhere, and a file may hold several specs
        cls = getattr(model, "spec_cls", None)
        self._spec_ref = str(Path(self.spec_file).resolve()) + (f"::{cls.__name__}" if cls is not None else "")
        self._remote_opts = opts.but(workers=1, cluster=None, progress=False)

    def run(self):
        try:
            return super().run()
        finally:
            self.client.close()

    def _expand_level(self, cols: np.ndarray, fps: np.ndarray, visited: np.ndarray):
        n = len(fps)
        w = min(self.workers, n)
        if w <= 1 or n < self.min_parallel_frontier:
            return BatchSearch._expand_level(self, cols, fps, visited)
        bounds = [n * k // w for k in range(w + 1)]
        lv = self.leaves
        books = Codebooks(tuple(zip(lv.leaf_field, lv.leaf_key, strict=True)), tuple(tuple(v) for v in lv.values))
        vis = self.client.scatter(visited, broadcast=True)
        futures = [self.client.submit(expand_remote, self._run_key, self._spec_ref, dict(self.model.params),
                                      self.faults, self._remote_opts, books, np.ascontiguousarray(cols[:, a:b]),
                                      fps[a:b], vis, a, pure=False)
                   for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        counts = np.zeros(n, dtype=np.int64)
        rows: list = []
        try:
            for k, fut in enumerate(futures):
                try:
                    got = fut.result()
                except Exception:  # noqa: BLE001 - redone here, which raises with the usual message and trace
                    got = None
                if got is None:
                    cols, more = self._expand_range(cols, fps, visited, bounds[k], bounds[k + 1], counts)
                else:
                    cols, more = self._adopt(got, cols, counts)
                rows.append(self._finish_range(more))
        finally:
            for fut in futures:
                fut.cancel()
        return self._join_ranges(cols, rows, counts)


_engines: dict[tuple[str, int], ParallelBatchSearch] = {}  # per run and worker thread
_engines_lock = threading.Lock()


def expand_remote(run_key: str, spec_file: str, params: dict, faults: str | None, opts, books: Codebooks,
                  cols: np.ndarray, fps: np.ndarray, visited: np.ndarray, lo: int) -> RangeResult:
    """Runs on a Dask worker: expands one frontier range with this worker's own engine and tries."""
    key = (run_key, threading.get_ident())
    with _engines_lock:
        search = _engines.get(key)
        if search is None or not _sync(search, books):
            for k in [k for k in _engines if k[1] == key[1]]:  # one engine per thread: the latest run's
                del _engines[k]
            search = _engines[key] = _fresh(spec_file, params, faults, opts, books)
    return expand_synced(search, cols, fps, visited, lo)


def expand_synced(search: ParallelBatchSearch, cols: np.ndarray, fps: np.ndarray, visited: np.ndarray,
                  lo: int) -> RangeResult:
    """Expands one frontier range with an engine whose codebooks match the client's (see _sync)."""
    search._learned = []
    n_emits_before = 0  # every step id is renumbered by the client: send them all by value
    counts = np.zeros(len(fps), dtype=np.int64)
    before = search.result.transitions
    search._frontier = (cols, fps, np.arange(len(fps)))
    _cols, parts = search._expand_range(cols, fps, visited, 0, len(fps), counts)
    parts = [search._finish_range(parts)]
    all_hold = search._all_hold(_cols, parts[0])
    steps = np.concatenate([p[2] for p in parts]).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
    used = np.unique(steps).tolist()
    z64 = np.zeros(0, dtype=np.int64)
    return RangeResult(
        lo=lo, hi=lo + len(fps), transitions=search.result.transitions - before, counts=counts,
        fps=np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.uint64),
        parents=np.concatenate([p[1] for p in parts]).astype(np.int64) + lo if parts else z64,
        steps=steps, chunk_sizes=[len(p[0]) for p in parts],
        new_steps=[step_by_value(search, search.emits[i]) for i in used if i >= n_emits_before],
        learned=search._learned, all_hold=all_hold)


def _fresh(spec_file: str, params: dict, faults: str | None, opts, books: Codebooks) -> ParallelBatchSearch:
    from ..api import load_model

    model, _ = load_model(spec_file, params, faults)  # spec_file: "path::Class"
    if opts.symmetry:  # ranges fingerprinted by orbit, as the client's own are
        from .batch_symmetry import SymmetricRangeSearch

        search: ParallelBatchSearch = SymmetricRangeSearch(model, opts, faults=faults, spec_file=spec_file)
    else:
        search = ParallelBatchSearch(model, opts, faults=faults, spec_file=spec_file)
    search._in_child = True
    search._progress = None
    if not _sync(search, books):
        raise RuntimeError("the worker's spec starts from other leaves than the client's (another checkout?)")
    return search


def _sync(search: BatchSearch, books: Codebooks) -> bool:
    """Extends the engine's codebooks to the client's; False when they disagree (start afresh)."""
    lv = search.leaves
    known = lv.n  # the leaves the tries were recorded with
    if lv.n > len(books.leaves):
        return False
    for lid in range(lv.n):
        if (lv.leaf_field[lid], lv.leaf_key[lid]) != books.leaves[lid]:
            return False
        mine, theirs = lv.values[lid], books.values[lid]
        if len(mine) > len(theirs) or any(type(a) is not type(b) or a != b for a, b in zip(mine[1:], theirs[1:len(mine)], strict=True)):
            return False
    for lid in range(lv.n, len(books.leaves)):
        if lv.leaf(*books.leaves[lid]) != lid:
            return False
    for lid, theirs in enumerate(books.values):
        for v in theirs[len(lv.values[lid]):]:
            if lv.code(lid, v) != len(lv.values[lid]) - 1:
                return False
    if lv.changed:  # new leaves (dict keys): drop the tries they made stale, as the client does
        search._forget_stale(known)
        lv.changed = False
    return True
