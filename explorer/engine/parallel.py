"""Parallel breadth-first search: the batched engine with each level's frontier split over processes.

Why this shape. The batched engine (explorer/engine/batch.py) is level-synchronous: a level's
successors depend only on the frontier, the visited fingerprints and the memo tries. So each level
the frontier is cut into W contiguous ranges; the parent expands the first range itself while W-1
forked children expand the others. A fork hands every child the parent's tries, codebooks and
visited set as they stand (copy-on-write), so nothing is shipped out. Each child returns packed
numpy arrays (new fingerprints, parent positions, step ids, successors per parent) through a pipe;
the parent merges them exactly as the one-process engine merges its chunks (each fingerprint once,
from the smallest parent, then the interpreted engine's order), so counts, depths, verdicts and
shortest traces are identical to one worker, every run.

Learning. The tries grow lazily: a child that meets a combination of read values never seen
expands it in its own copy, and numbers new values, leaves and steps after the parent's. Those are
sent back by value (leaf name, value, Step) and the parent adopts them under its own numbering; it
also replays each learned state through its own tries (one recorded run per new memo entry), so
the next level's children inherit them. Learning is rare after the first levels, so this costs
little. Should a child fail (an action raised, the spec cannot be batched, a pickling error), the
parent expands that range itself, which reproduces the error with its usual message and trace.
"""
from __future__ import annotations

import multiprocessing
import pickle
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import UsageError
from .batch import BatchSearch, _first_found, _merge_sorted
from .fingerprint import absent
from .leaves import ABSENT, SchemaChanged


@dataclass
class RangeResult:
    """What one worker found for one frontier range; the arrays travel as raw bytes."""

    lo: int
    hi: int
    transitions: int
    counts: np.ndarray  # successors per frontier state of lo..hi-1
    fps: np.ndarray  # new fingerprints (uint64), chunk after chunk
    parents: np.ndarray  # frontier positions of their parents (int64)
    steps: np.ndarray  # step ids in the worker's numbering (int64)
    chunk_sizes: list[int]
    new_steps: list[tuple] = field(default_factory=list)  # (worker id, action, Step, ((field, key), value|None)...)
    learned: list[tuple[int, tuple]] = field(default_factory=list)  # (action index, state) expanded anew
    all_hold: bool = False  # every new state of the range satisfies every invariant (checked by the worker)
    # pool workers only (explorer/engine/pool.py): the new states' code columns, in the client's codes (None
    # when the worker numbered a value or leaf the client may number otherwise); the fingerprints sorted;
    # the worker's CPU seconds for the range (to balance the next level's split)
    cols: np.ndarray | None = None
    sorted_fps: np.ndarray | None = None
    order: np.ndarray | None = None  # with 3+ pool workers: fps = sorted_fps[order] (the join drops by sorted search)
    cpu: float = 0.0
    rebased: bool = False  # new_steps holds every step the worker numbered: the client forgets its old ids

    _ARRAYS = ("counts", "fps", "parents", "steps")
    _OPTIONAL = ("cols", "sorted_fps", "order")

    def send(self, conn: Any) -> None:
        meta = {k: getattr(self, k) for k in ("lo", "hi", "transitions", "chunk_sizes", "new_steps", "learned",
                                              "all_hold", "cpu", "rebased")}
        meta["dtypes"] = [getattr(self, k).dtype.str for k in self._ARRAYS]
        extra = [k for k in self._OPTIONAL if getattr(self, k) is not None]
        meta["optional"] = [(k, getattr(self, k).dtype.str, getattr(self, k).shape) for k in extra]
        conn.send_bytes(pickle.dumps(meta, protocol=pickle.HIGHEST_PROTOCOL))
        for k in self._ARRAYS + tuple(extra):
            conn.send_bytes(np.ascontiguousarray(getattr(self, k)).reshape(-1).data)  # 2-D: len() is the rows

    @classmethod
    def receive(cls, conn: Any) -> RangeResult | str:
        """Returns the result, or the child's error message."""
        meta = pickle.loads(conn.recv_bytes())
        if "error" in meta:
            return meta["error"]
        arrays = [np.frombuffer(conn.recv_bytes(), dtype=dt) for dt in meta.pop("dtypes")]
        for k, dt, shape in meta.pop("optional", []):
            meta[k] = np.frombuffer(conn.recv_bytes(), dtype=dt).reshape(shape)
        return cls(counts=arrays[0], fps=arrays[1], parents=arrays[2], steps=arrays[3], **meta)


class ParallelBatchSearch(BatchSearch):
    """BatchSearch whose levels are expanded by `opts.workers` processes (fork)."""

    min_parallel_frontier = 8192  # smaller levels are expanded in one process (a fork costs milliseconds)

    def __init__(self, model: Any, opts, **kw: Any):
        super().__init__(model, opts, **kw)
        self.workers = opts.workers
        self._in_child = False
        self._learned: list[tuple[int, tuple]] = []
        self._prechecked = False  # the level _expand_level just returned was checked by the workers
        self._replaying = False  # adopting what a child learned
        self.result.options["workers"] = self.workers

    # ------------------------------------------------------------------ parent side
    def _expand_level(self, cols: np.ndarray, fps: np.ndarray, visited: np.ndarray):
        n = len(fps)
        w = min(self.workers, max(1, n))
        if w == 1 or n < self.min_parallel_frontier:
            return super()._expand_level(cols, fps, visited)
        bounds = [n * k // w for k in range(w + 1)]
        ctx = multiprocessing.get_context("fork")
        children = []
        try:
            for k in range(1, w):
                recv, send = ctx.Pipe(duplex=False)
                p = ctx.Process(target=self._child_main, args=(send, cols, fps, visited, bounds[k], bounds[k + 1]),
                                daemon=True)
                p.start()
                send.close()
                children.append((p, recv, k))
            counts = np.zeros(n, dtype=np.int64)
            cols, parts = self._expand_range(cols, fps, visited, 0, bounds[1], counts)
            rows = [self._finish_range(parts)]  # while the children work, as are the sort and check below
            seen = np.sort(rows[0][0])
            all_hold = self._all_hold(cols, rows[0])
            for p, recv, k in children:
                cols, more, held = self._take_range(k, recv, cols, fps, visited, bounds, counts)
                recv.close()
                p.join()
                all_hold = all_hold and held
                rows.append(self._finish_range(more))
        finally:
            for p, recv, _k in children:
                if p.is_alive():
                    p.terminate()
                    p.join()
                recv.close()
        self._prechecked = all_hold
        return self._join_ranges(cols, rows, counts, seen)

    def _take_range(self, k: int, conn: Any, cols: np.ndarray, fps: np.ndarray, visited: np.ndarray,
                    bounds: Any, counts: np.ndarray) -> tuple[np.ndarray, Any, bool]:
        """Adopts worker k's answer; when it gave none, expands its range here, so that an error is
        raised with its message and trace as in one process. Returns (cols, parts, all invariants held)."""
        try:
            got: RangeResult | str = RangeResult.receive(conn)
        except (EOFError, OSError, pickle.UnpicklingError) as e:
            got = f"worker {k} ended without an answer ({e!r})"
        if isinstance(got, str):
            cols, more = self._expand_range(cols, fps, visited, bounds[k], bounds[k + 1], counts)
            return cols, more, False
        cols, more = self._adopt(got, cols, counts)
        return cols, more, got.all_hold

    def _all_hold(self, cols: np.ndarray, row: tuple, new: np.ndarray | None = None,
                  learn: bool | None = None) -> bool:
        """True when every new state of a finished range satisfies every invariant (False: not known).

        The workers walk the invariant tries on their own new states, so the parent can skip its
        walk of a level in the common case. Anything unusual (a memo entry that cannot be learned
        here, a reachable property still unwitnessed, a violation) answers False, and the parent
        checks the level itself. `new`: the range's new code columns when already computed. `learn`:
        learn missing memo entries (children always; the pool's parent too, for its own range, so
        that a level where the invariants meet new combinations is not walked twice).
        """
        fp, par, em = row
        model = self.model
        if self._unwitnessed or not len(fp):
            return not self._unwitnessed
        if not model.invariants:
            return True
        lv = self.leaves
        if lv.changed or cols.shape[0] < lv.n or (new is not None and new.shape[0] < lv.n):
            return False
        if new is None:
            new = self._fit_dtype(cols[:, par])  # a step may write a code the frontier's type cannot hold
            self._apply_writes(new, em)
        idx = np.arange(len(fp), dtype=np.int64)
        bad: list[bool] = []
        learn = self._in_child if learn is None else learn

        def unknown(_codes: np.ndarray) -> None:
            raise _Unknown()

        try:
            for k in range(len(model.invariants)):
                expand = (lambda codes, k=k: self._expand_property(self.inv_tries[k], model.invariants[k], codes)) \
                    if learn else unknown
                self._walk(self.inv_tries[k], idx, new, expand, lambda _i, ids: bad.append(bool((ids == 0).any())))
        except (_Unknown, SchemaChanged):
            return False
        except Exception:  # noqa: BLE001 - a property that raises: the full check reports it with its trace
            if self._in_child:
                raise
            return False
        return not any(bad)

    def _check_level(self, cols: np.ndarray, fps: np.ndarray, depth: int):
        pre, self._prechecked = self._prechecked, False
        if pre and depth > 0:
            return np.ones(len(fps), dtype=bool), cols
        return super()._check_level(cols, fps, depth)

    def _finish_range(self, parts: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keeps each fingerprint of a range once (smallest parent) and orders them as the interpreted engine.

        Done by each worker for its own range, so the parent only has to drop what an earlier range found.
        """
        if len(parts) == 1 and getattr(parts[0], "finished", False):
            return parts[0]
        _cols, fp, par, em, _counts = self._merge_parts(None, parts, None)
        return _Finished((fp, par, em))

    def _finish_sorted(self, parts: list) -> tuple[np.ndarray, ...]:
        """As _finish_range (the same states in the same order), also returning the fingerprints sorted
        and the permutation that orders them: (fp, parents, steps, sorted fp, order), fp = sorted fp[order].

        The pool needs both orders: a mask computed on the sorted array (binary searches with sorted
        needles stream through memory, several times faster than with needles in BFS order) applies to
        fp as mask[order]. Each chunk of _expand_range holds distinct fingerprints in ascending order,
        and the earliest chunk has the smallest parents, as _merge_parts assumes.
        """
        if not parts:
            z = np.zeros(0, dtype=np.int64)
            return np.zeros(0, dtype=np.uint64), z, z, np.zeros(0, dtype=np.uint64), z
        ufp, upar, uem = _first_found(parts)  # ascending fingerprints
        o = self._bfs_order(upar, uem)
        return ufp[o], upar[o], uem[o], ufp, o

    def _join_ranges(self, cols: np.ndarray, rows: list, counts: np.ndarray, seen: np.ndarray | None = None):
        """Concatenates the ranges' new states, minus those an earlier range (smaller parents) also found.

        Ranges hold increasing parent positions, so the concatenation is already in the interpreted
        engine's order; returns what BatchSearch._merge_parts returns. `seen`: the first range's
        fingerprints, sorted (or None).
        """
        keep = []
        for j, (fp, par, em) in enumerate(rows):
            if j and len(seen) and len(fp):
                new = absent(seen, fp)
                fp, par, em = fp[new], par[new], em[new]
            keep.append((fp, par, em))
            if seen is None:
                seen = np.sort(fp)
            elif j and j + 1 < len(rows):
                seen = _merge_sorted(seen, np.sort(fp))
        return (cols, np.concatenate([k[0] for k in keep]), np.concatenate([k[1] for k in keep]),
                np.concatenate([k[2] for k in keep]), counts)

    def _adopt(self, got: RangeResult, cols: np.ndarray, counts: np.ndarray):
        """Renumbers a child's steps into the parent's, learns what it learned; returns (cols, parts)."""
        lv = self.leaves
        self.result.transitions += got.transitions
        counts[got.lo:got.hi] = got.counts
        id_map = np.arange(max([wid + 1 for wid, *_ in got.new_steps] + [len(self.emits)]), dtype=np.int64)
        # ids below the fork's step count are the parent's own; the ones sent by value are renumbered
        for wid, ai, step, writes in got.new_steps:
            mine = []
            for (fi, key), value in writes:
                lid = lv.leaf(fi, key)
                mine.append((lid, ABSENT if value is None else lv.code(lid, value[0])))
            id_map[wid] = self._emit(tuple(sorted(mine)), step, ai).id
        cols = self._learn(got.learned, cols)
        parts = []
        a = 0
        for size in got.chunk_sizes:
            b = a + size
            parts.append(_Finished((got.fps[a:b], got.parents[a:b], id_map[got.steps[a:b]])))  # workers finish ranges
            a = b
        return cols, parts

    def _learn(self, learned: list[tuple[int, tuple]], cols: np.ndarray) -> np.ndarray:
        """Walks each state a child learned through the parent's own tries (expanding what they miss)."""
        lv = self.leaves
        for _attempt in range(4):
            if lv.changed:  # a child met a new leaf (dict key): widen, and drop the tries it made stale
                self._forget_stale(cols.shape[0])
                cols = self._widen(cols)
                if self._frontier is not None:
                    self._frontier = (cols,) + self._frontier[1:]
            self._replaying = True
            try:
                for ai, state in learned:
                    col = np.zeros((lv.n, 1), dtype=np.int64)
                    for lid, code in lv.encode(state):
                        col[lid, 0] = code
                    if lv.changed:
                        raise SchemaChanged()
                    self._walk(self.action_tries[ai], np.zeros(1, dtype=np.int64), col,
                               lambda codes, ai=ai: self._expand_action(ai, codes), lambda _i, _ids: None)
                return cols
            except SchemaChanged:
                continue
            finally:
                self._replaying = False
        return cols  # the children will learn again next level: slower, still exact

    def _cross_check(self, a, state: tuple, codes: np.ndarray, emits: list) -> None:
        if not self._replaying:  # a replayed entry was cross-checked by the child that learned it
            super()._cross_check(a, state, codes, emits)

    # ------------------------------------------------------------------ child side
    def _child_main(self, conn: Any, cols: np.ndarray, fps: np.ndarray, visited: np.ndarray,
                    lo: int, hi: int) -> None:
        self._in_child = True
        self._progress = None
        n_emits = len(self.emits)
        try:
            counts = np.zeros(len(fps), dtype=np.int64)
            before = self.result.transitions
            cols, parts = self._expand_range(cols, fps, visited, lo, hi, counts)
            parts = [self._finish_range(parts)]
            all_hold = self._all_hold(cols, parts[0])
            new_steps = [step_by_value(self, e) for e in self.emits[n_emits:]]
            z64 = np.zeros(0, dtype=np.int64)
            res = RangeResult(
                lo=lo, hi=hi, transitions=self.result.transitions - before, counts=counts[lo:hi],
                fps=np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.uint64),
                parents=np.concatenate([p[1] for p in parts]).astype(np.int64) if parts else z64,
                steps=np.concatenate([p[2] for p in parts]).astype(np.int64) if parts else z64,
                chunk_sizes=[len(p[0]) for p in parts], new_steps=new_steps, learned=self._learned,
                all_hold=all_hold)
            res.send(conn)
        except BaseException as e:  # noqa: BLE001 - the parent redoes the range and reports properly
            try:
                conn.send_bytes(pickle.dumps({"error": f"{type(e).__name__}: {e}"}))
            except Exception:  # noqa: BLE001 - e.g. the parent is gone
                pass
        finally:
            conn.close()

    def _expand_action(self, ai: int, codes: np.ndarray) -> None:
        if self._in_child:
            self._learned.append((ai, self.leaves.decode(codes)))
        super()._expand_action(ai, codes)

    def _tick(self, frontier: int) -> None:
        if not self._in_child:  # the parent keeps time and prints progress
            super()._tick(frontier)


class _Unknown(Exception):
    """A memo entry the invariant pre-check does not have: the parent checks the level itself."""


class _Finished(tuple):
    """A range's (fingerprints, parents, step ids), deduplicated and in the interpreted engine's order."""

    finished = True


def step_by_value(search: BatchSearch, e: Any) -> tuple:
    """A step as (id, action, Step, ((field, key), (value,) or None for absent)...), for another numbering."""
    lv = search.leaves
    writes = tuple(((lv.leaf_field[lid], lv.leaf_key[lid]), None if code == ABSENT else (lv.values[lid][code],))
                   for lid, code in e.writes)
    return (e.id, e.action, e.step, writes)


def check_parallel_options(model: Any, opts) -> None:
    """Refuses --workers N > 1 with settings only the one-process interpreted engine supports."""
    if opts.workers == 1:
        return
    why = None
    if opts.backend == "interp":
        why = "--backend interp (the interpreted engine) runs in one process"
    elif opts.strategy != "bfs":
        why = f"--strategy {opts.strategy} runs on the interpreted engine, in one process"
    elif getattr(model, "interpreted_only", False):
        why = f"{model.name} runs on the interpreted engine, in one process"
    elif getattr(model, "action_invariants", None):
        why = "action invariants are checked by the interpreted engine, in one process"
    if why:
        raise UsageError(f"--workers {opts.workers}: {why}",
                         hint="parallel search is breadth-first on the batched engine; drop --workers or that option")
