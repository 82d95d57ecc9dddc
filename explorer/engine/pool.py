"""Workers forked once per search, reading the parent's visited set from shared memory: `--workers` with
a small serial part per level.

Why this shape. The batched engine is level-synchronous; each level's frontier is cut into
contiguous ranges, the parent expands the first, the workers the others, and the new states are
kept exactly as one process keeps them (each fingerprint once, from the earliest range, then the
interpreted engine's order), so counts, depths, verdicts and traces do not change with the number
of workers. What makes it fast is what the parent does NOT do alone between two levels:

- the visited set is neither sent nor copied: the parent merges it into shared memory (_Shelf, two
  slots: it writes one while the workers read the other), and a worker looks a candidate up in the
  last merged set and then in the new states of the levels since, which it holds as sorted runs
  (per level, the parent's range's, sent during that level, and its own);
- the states a worker's range shares with the parent's range are dropped by the worker: as soon as
  the parent has finished its range it sends that range's sorted fingerprints to every worker;
- each worker returns its new states' code columns (when its codebooks did not grow during the
  level, so its codes are the parent's) and their fingerprints sorted, so the parent neither
  gathers and rewrites the whole next frontier nor sorts it to merge the visited set;
- the parent walks the invariant tries over its own range while the workers still work, learning
  what they miss, and skips its full check of the level when every range holds;
- the parent merges the levels' new fingerprints into the shelf during a later level, while the
  workers work, once they hold a quarter of the merged set (the last, small levels share one merge
  of the whole set), and at once when a checkpoint may save it at the next level start;
- the split is balanced from measured CPU time: the parent takes a smaller share of the frontier
  so that its share plus the work only it does (sorting, columns, invariants) ends when the
  workers' ranges end.

Levels from 512 states on are split (a split costs a few pipe messages). bench/workers.py --profile
reports the CPU seconds per phase (EXPLORER_POOL_PROFILE); docs/performance.md has the figures.

Each worker is forked at the first level big enough to split and lives until the search ends (a
fork per level made every page the parent wrote a page copy). Per level it receives the client's
codebooks (to extend its own in the same order, or start them afresh when they disagree, see
cluster._sync), its frontier range, the shelf slot and length to read, and whether to add the runs
it holds (with 3 or more workers, the other workers' runs come with the task). It answers as a
per-level child does, sending each step by value once (the parent keeps a map of its step ids).
Should it fail, the parent expands that range itself (which reproduces an error with its usual
message and trace) and merges the visited set before the next level, so that the worker needs no
runs. Memory: the shelf is the parent's (two slots: up to twice the visited set, 8 B per state);
the workers' mappings of it are shared pages, which PoolMemoryGuard does not count again.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .batch import BatchSearch
from .cluster import Codebooks, _sync
from .fingerprint import Layers, absent
from .leaves import ABSENT, Leaves
from .memory import STOP_FRACTION, MemoryGuard, rss_bytes
from .parallel import ParallelBatchSearch, RangeResult, step_by_value


@dataclass
class _Worker:
    process: Any
    conn: Any
    at: int | None = None  # the level whose start the worker holds the new states of the level before for
    held: int = 0  # how many of the last levels' new states it holds (as sorted runs)
    extra: list[np.ndarray] | None = None  # 3+ workers: the workers' ranges' new states of the last level, sorted
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # its step ids -> the parent's
    gone: str | None = None  # why it cannot be sent to (it died, e.g. killed): the parent expands its ranges

    def send(self, *parts: Any) -> None:
        """Sends a message in parts; a worker that died (a closed pipe) is marked gone, not raised."""
        if self.gone is not None:
            return
        try:
            for part in parts:
                self.conn.send_bytes(part)
        except OSError as e:  # BrokenPipeError, ConnectionResetError: the process is gone
            self.gone = f"worker process {self.process.pid} is gone ({e!r})"


@dataclass
class _Row:
    """One range's new states: fingerprints, parent positions, step ids (parent's), and what helps the merge."""

    fps: np.ndarray
    parents: np.ndarray
    steps: np.ndarray
    cols: np.ndarray | None  # new code columns in the parent's codes, or None (the parent computes them)
    sorted_fps: np.ndarray | None
    filtered: bool  # already without the parent's range's states
    order: np.ndarray | None = None  # fps = sorted_fps[order] (3+ workers)

    def masked(self, keep: np.ndarray) -> _Row:
        return _Row(self.fps[keep], self.parents[keep], self.steps[keep],
                    None if self.cols is None else self.cols[:, keep], None, self.filtered)


@dataclass
class _Ready:
    """What the last split level handed in for _next_columns and _visit."""

    n: int
    cols: np.ndarray | None
    sorted_parts: list[np.ndarray] = field(default_factory=list)


class PoolBatchSearch(ParallelBatchSearch):
    """ParallelBatchSearch with long-lived forked workers that read the visited set from shared memory (_Shelf)."""

    # a split level costs a few pipe messages once the workers live (no fork): splitting levels from
    # 512 states on also splits the first levels' invariant learning (5,281 recorded runs of the
    # 6,816 at TwoPhase N = 8 happen in levels under 16,408 states), which one process did alone
    min_parallel_frontier = 512
    seen_first: bool | None = None  # workers drop the parent's states before ordering: when here (None), always, never

    def __init__(self, model: Any, opts, **kw: Any):
        super().__init__(model, opts, **kw)
        self._pool: list[_Worker] = []
        self._ready: _Ready | None = None
        # the visited set is merged with the levels' new fingerprints during a later level, while the
        # workers work (_merge_due; at once when a checkpoint may save it): _levels then holds _vis_now,
        # the last merged set, and _pending the sorted runs of the levels since
        self._pending: list[list[np.ndarray]] | None = None  # per level not merged yet: its sorted runs
        self._vis_now: np.ndarray | None = None
        self._shelf: _Shelf | None = None  # the visited set in shared memory, which the workers read
        self._share = 1.0 / max(1, self.workers)  # the parent's share of a split level's frontier
        self.profile: dict[str, float] = {}  # CPU seconds per phase, parent side (bench/workers.py --profile)
        # per split level: (frontier size, parent's share, parent CPU s while the workers work, slowest worker's)
        self.level_cpu: list[tuple[int, float, float, float]] = []
        self.redone: list[tuple[int, int, str]] = []  # (depth, worker, why) of each range the parent redid

    def run(self):
        t0 = time.process_time()
        try:
            return super().run()
        finally:
            self.profile["parent total"] = time.process_time() - t0
            self._dump_profile()
            for wk in self._pool:
                try:
                    wk.conn.send_bytes(b"")  # stop
                except OSError:
                    pass
                wk.conn.close()
                wk.process.join(timeout=1)
                if wk.process.is_alive():
                    wk.process.terminate()
                    wk.process.join()
            self._pool = []
            self._shelf = self._vis_now = self._pending = None  # unmapped once no array views it

    def _start_pool(self) -> None:
        self._shelf = _Shelf.make()  # before the fork: the workers inherit the mapping
        ctx = multiprocessing.get_context("fork")
        for _ in range(1, self.workers):
            mine, theirs = ctx.Pipe(duplex=True)
            p = ctx.Process(target=self._serve, args=(theirs,), daemon=True)
            p.start()
            theirs.close()
            self._pool.append(_Worker(p, mine))
        if self._mem is not None:  # --max-memory counts what the workers hold too
            self._mem = PoolMemoryGuard(self._mem.limit, pids=[wk.process.pid for wk in self._pool])

    def _tally(self, key: str, t0: float) -> float:
        t = time.process_time()
        self.profile[key] = self.profile.get(key, 0.0) + t - t0
        return t

    def _expand_level(self, cols: np.ndarray, fps: np.ndarray, visited: np.ndarray):
        n = len(fps)
        w = min(self.workers, max(1, n))
        self._ready = None
        if w == 1 or n < self.min_parallel_frontier or type(visited) is not np.ndarray:
            t0 = time.process_time()
            try:
                return BatchSearch._expand_level(self, cols, fps, self._current(visited))
            finally:
                self._tally("serial levels", t0)
        if not self._pool:
            self._start_pool()
        t0 = time.process_time()
        depth = len(self.level_parent) - 1
        pending = len(self._pending or ())
        if any(wk.at != depth or wk.held < pending for wk in self._pool[: w - 1]):
            visited = self._current(visited)  # a worker lacks some unmerged level's new states: merge them now
        vis_len = self._current_len(visited)
        # the workers read the last merged visited set from the shelf, and the new states of the levels
        # not merged yet from the runs they hold: their ranges' and the parent's range's, per level
        base = self._vis_now if self._vis_now is not None else visited
        slot = self._shelf.publish(base) if self._shelf is not None else None
        if slot is None:  # no shared memory, or more states than it holds: this level in one process
            for wk in self._pool:
                wk.at = None
            why = "--workers: the visited set outgrew the shared memory it is kept in for the workers, " \
                "or there is none; the levels run in one process"
            if why not in self.result.warnings:
                self.result.warnings.append(why)
            try:
                return BatchSearch._expand_level(self, cols, fps, self._current(visited))
            finally:
                self._tally("serial levels", t0)
        recent = len(self._pending or ())  # the last levels whose runs the workers add to the shelf's set
        bounds = self._bounds(n, w)
        lv = self.leaves
        books = pickle.dumps(Codebooks(tuple(zip(lv.leaf_field, lv.leaf_key, strict=True)),
                                       tuple(tuple(v) for v in lv.values)), protocol=pickle.HIGHEST_PROTOCOL)
        for k in range(1, w):
            a, b = bounds[k], bounds[k + 1]
            wk = self._pool[k - 1]
            runs = wk.extra if recent and wk.extra is not None else []  # 3+ workers: every worker range's
            part = np.ascontiguousarray(cols[:, a:b])
            wk.send(pickle.dumps({"lo": a, "shape": part.shape, "dtype": part.dtype.str, "slot": slot,
                                  "base": len(base), "recent": recent, "runs": [len(r) for r in runs],
                                  "order": w > 2, "vis_len": vis_len}, protocol=pickle.HIGHEST_PROTOCOL),
                    books,
                    part.reshape(-1).data,  # contiguous: no second copy (1-D: send_bytes takes len())
                    np.ascontiguousarray(fps[a:b]).data,
                    np.concatenate(runs).data if runs else b"")
            wk.at, wk.extra, wk.held = None, None, recent  # until it answers
        t0 = self._tally("send tasks", t0)
        if self._merge_due(base):
            visited = self._current(visited)
        elif self._pending:  # looked up as the workers do: the merged set, then the runs of the levels since
            visited = _layers(base, [r for level in self._pending for r in level if len(r)], bounds[1])
        t_merge = time.process_time() - t0
        t0 = self._tally("visited merge", t0)
        counts = np.zeros(n, dtype=np.int64)
        cols, parts = self._expand_range(cols, fps, visited, 0, bounds[1], counts)
        fp0, par0, em0, seen, _order = self._finish_sorted(parts)
        t_range = time.process_time() - t0
        t0 = self._tally("own range", t0)
        for k in range(1, w):
            self._pool[k - 1].send(seen.data)  # the workers drop what the parent's range found
        new0 = self._fit_dtype(cols[:, par0])
        self._apply_writes(new0, em0)
        all_hold = self._all_hold(cols, (fp0, par0, em0), new0, learn=True)
        t_extra = time.process_time() - t0 + t_merge
        t0 = self._tally("own columns and invariants", t0)
        share = self._share
        rows = [_Row(fp0, par0, em0, new0, seen, True)]
        child_cpu = []
        for k in range(1, w):
            cols, row, held, cpu = self._take(k, cols, fps, visited, bounds, counts, depth)
            all_hold = all_hold and held
            rows.append(row)
            child_cpu.append(cpu / max(1, bounds[k + 1] - bounds[k]))
        t0 = self._tally("wait and adopt", t0)
        self._prechecked = all_hold
        self.level_cpu.append((n, share, t_range + t_extra, max(c * (bounds[k + 1] - bounds[k])
                                                                for k, c in enumerate(child_cpu, start=1))))
        if all(c > 0 for c in child_cpu):
            self._rebalance(t_range / max(1, bounds[1]), float(np.mean(child_cpu)), t_extra / n, w)
        out = self._join(cols, rows, counts, w)
        self._tally("join", t0)
        return out

    def _bounds(self, n: int, w: int) -> list[int]:
        """Frontier cut points: the parent's share first, the rest evenly among the workers."""
        a = int(n * self._share)
        return [0] + [a + (n - a) * k // (w - 1) for k in range(w)]

    def _rebalance(self, c_parent: float, c_worker: float, e_parent: float, w: int) -> None:
        """Sets the parent's share so that its range plus its own extra work (per frontier state) lasts
        as long as a worker's range: f * c_parent + e = (1 - f) / (w - 1) * c_worker."""
        cw = c_worker / (w - 1)
        f = (cw - e_parent) / (c_parent + cw) if c_parent + cw > 0 else 1.0 / w
        # halfway from the last share: a level that learns many memo entries on one side would swing it
        self._share = min(0.7, max(0.05, (self._share + f) / 2))

    def _take(self, k: int, cols: np.ndarray, fps: np.ndarray, visited: np.ndarray, bounds: list[int],
              counts: np.ndarray, depth: int) -> tuple[np.ndarray, _Row, bool, float]:
        """Adopts worker k's answer, or expands its range here when it gave none (an error is then raised
        with its usual message and trace). Returns (cols, row, all invariants held, worker CPU seconds)."""
        wk = self._pool[k - 1]
        try:
            got: RangeResult | str = wk.gone or RangeResult.receive(wk.conn)
        except (EOFError, OSError, pickle.UnpicklingError) as e:
            got = f"worker {k} ended without an answer ({e!r})"
        if isinstance(got, str):
            self.redone.append((depth, k, got))
            if wk.gone and not any(wk.gone in w for w in self.result.warnings):
                self.result.warnings.append(f"--workers: {wk.gone}; this process expands its ranges instead")
            wk.held = 0
            cols, more = self._expand_range(cols, fps, visited, bounds[k], bounds[k + 1], counts)
            fp, par, em = self._finish_range(more)
            return cols, _Row(fp, par, em, None, None, False), False, 0.0
        got.steps = self._renumber(wk, got)
        got.new_steps = []  # renumbered above: _adopt maps the rest as the parent's own
        cols, more = self._adopt(got, cols, counts)
        fp, par, em = (np.concatenate([p[i] for p in more]) for i in range(3)) if len(more) != 1 else more[0]
        wk.at = depth + 1
        wk.held += 1  # and this level's runs
        usable = got.cols is not None and got.cols.shape[0] == cols.shape[0]
        return (cols, _Row(fp, par, em, got.cols if usable else None, got.sorted_fps, True, got.order), got.all_hold,
                got.cpu)

    def _renumber(self, wk: _Worker, got: RangeResult) -> np.ndarray:
        """The worker's step ids in the parent's numbering. A worker sends each step by value once (again
        after it started its numbering afresh), so a level's answer carries only the steps new to it."""
        lv = self.leaves
        if got.rebased:
            wk.ids = np.zeros(0, dtype=np.int64)
        top = max([wid + 1 for wid, *_ in got.new_steps], default=0)
        if top > len(wk.ids):
            wk.ids = np.concatenate([wk.ids, np.full(top - len(wk.ids), -1, dtype=np.int64)])
        for wid, ai, step, writes in got.new_steps:
            mine = []
            for (fi, key), value in writes:
                lid = lv.leaf(fi, key)
                mine.append((lid, ABSENT if value is None else lv.code(lid, value[0])))
            wk.ids[wid] = self._emit(tuple(sorted(mine)), step, ai).id
        return wk.ids[got.steps]

    def _join(self, cols: np.ndarray, rows: list[_Row], counts: np.ndarray, w: int):
        """Concatenates the ranges' new states, minus those an earlier range (smaller parents) also found.

        The workers already dropped the parent's range's states; with 3 or more workers the parent drops
        those two workers' ranges share. Returns what BatchSearch._merge_parts returns.
        """
        seen0 = rows[0].sorted_fps
        later: np.ndarray | None = None  # sorted fingerprints of the workers' ranges so far
        for j in range(1, len(rows)):
            row = rows[j]
            keep = None
            if not row.filtered:
                keep = absent(seen0, row.fps)
            if later is not None:
                if row.sorted_fps is not None:  # search with sorted needles; the mask reaches BFS order by `order`
                    kept = absent(later, row.sorted_fps)
                    more = None if kept.all() else kept[row.order] if row.order is not None else \
                        absent(row.sorted_fps[~kept], row.fps)
                else:
                    more = absent(later, row.fps)
                keep = more if keep is None else keep if more is None else keep & more
            if keep is not None and not keep.all():
                srt = row.sorted_fps  # not None only for a worker's row, whose keep is `more` alone
                row = rows[j] = row.masked(keep)
                if srt is not None:
                    row.sorted_fps = srt[kept]
            if row.sorted_fps is None:
                row.sorted_fps = np.sort(row.fps)
            if j + 1 < len(rows):
                later = row.sorted_fps if later is None else np.sort(np.concatenate([later, row.sorted_fps]),
                                                                     kind="stable")
        if w > 2:  # what each worker lacks to follow the next level: the workers' ranges' new states (its own
            # too: a later range's may have lost states an earlier one also found)
            extra = [rows[j].sorted_fps for j in range(1, len(rows))]
            for wk in self._pool[: w - 1]:
                wk.extra = extra if wk.at is not None else None
        kfp = np.concatenate([r.fps for r in rows])
        have_cols = all(r.cols is not None and r.cols.shape[0] == cols.shape[0] for r in rows)
        self._ready = _Ready(len(kfp), np.concatenate([r.cols for r in rows], axis=1) if have_cols else None,
                             [r.sorted_fps for r in rows])
        return (cols, kfp, np.concatenate([r.parents for r in rows]), np.concatenate([r.steps for r in rows]),
                counts)

    def _next_columns(self, cols: np.ndarray, kpar: np.ndarray, kem: np.ndarray) -> np.ndarray:
        ready = self._ready
        if ready is None or ready.cols is None or ready.cols.shape[0] != cols.shape[0] or len(kpar) > ready.n:
            return super()._next_columns(cols, kpar, kem)
        return self._fit_dtype(ready.cols[:, : len(kpar)])  # a --max-states stop keeps a prefix

    def _visit(self, visited: Any, kfp: np.ndarray) -> Any:
        ready, self._ready = self._ready, None
        base = self._vis_now if self._vis_now is not None else visited
        if ready is None or ready.n != len(kfp) or type(base) is not np.ndarray:
            out = super()._visit(self._current(visited), kfp)
        elif self._saver is None:  # no checkpoint reads it at the next level's start: merge it later
            self._pending, self._vis_now = [*(self._pending or []), ready.sorted_parts], base
            return base
        else:
            base = self._current(visited)
            t0 = time.process_time()
            out = self._merged([base, *ready.sorted_parts])
            self._tally("visited merge", t0)
        self._vis_now = None
        return out

    def _merged(self, runs: list[np.ndarray]) -> np.ndarray:
        """The sorted union of disjoint sorted runs: in the shelf (the slot the workers do not read), or
        a private array before the pool starts."""
        out = self._shelf.write(runs) if self._shelf is not None else None
        return np.sort(np.concatenate(runs), kind="stable") if out is None else out  # timsort merges the runs

    def _current(self, visited: Any) -> Any:
        """The visited set as of this level's start (merging the last level's new fingerprints when pending)."""
        if self._pending is not None:
            base = self._vis_now if self._vis_now is not None else visited
            self._vis_now = self._merged([base, *(r for level in self._pending for r in level)])
            self._pending = None
        return self._vis_now if self._vis_now is not None else visited

    def _current_len(self, visited: Any) -> int:
        base = self._vis_now if self._vis_now is not None else visited
        return len(base) + sum(len(r) for level in self._pending or () for r in level)

    def _merge_due(self, base: np.ndarray) -> bool:
        """Merge the unmerged levels into the shelf now? When they hold a quarter of the merged set: a merge
        costs the whole set's size, so the last, small levels of a search share one instead of one each,
        while the lookups in the runs (of what the merged set lacks) stay few."""
        if not self._pending:
            return False
        return self._saver is not None or 4 * sum(len(r) for level in self._pending for r in level) > len(base)

    def _dump_profile(self) -> None:
        """Writes this process's CPU seconds per phase to $EXPLORER_POOL_PROFILE.PID.json (bench/workers.py --profile)."""
        where = os.environ.get("EXPLORER_POOL_PROFILE")
        if where:
            import json

            Path(f"{where}.{os.getpid()}.json").write_text(json.dumps(
                {"worker": self._in_child, "total": time.process_time(), "phases": self.profile,
                 "levels": self.level_cpu}))

    # ------------------------------------------------------------------ worker side
    def _serve(self, conn: Any) -> None:
        """The worker's loop: one frontier range per message, until an empty message."""
        self._in_child = True
        self._progress = None
        self._pool = []
        self.profile = {}
        self.level_cpu = []
        self._recent: list[list[np.ndarray]] = []  # per level answered: the parent's range's new states, its own
        self._sent_steps: int | None = None  # steps the parent knows by value (None: it knows none)
        while True:
            try:
                head = conn.recv_bytes()
                if not head:
                    return self._dump_profile()
                raw = [conn.recv_bytes() for _ in range(4)]  # read the whole task first: the pipe stays in step
            except (EOFError, OSError, KeyboardInterrupt):  # Ctrl-C reaches the workers too: the parent reports
                return
            self._seen = None
            res: RangeResult | None = None
            error = ""
            try:
                res = self._serve_task(conn, head, raw)
            except (EOFError, OSError, KeyboardInterrupt):
                return
            except BaseException as e:  # noqa: BLE001 - the parent redoes the range and reports properly
                where = traceback.extract_tb(e.__traceback__)[-1]  # where it was raised: `redone` shows it
                error = f"{type(e).__name__}: {e} (at {Path(where.filename).name}:{where.lineno} in {where.name})"
            try:
                seen = self._seen if self._seen is not None else self._receive_seen(conn)
                if res is None:
                    self._recent = []  # the parent merges the visited set before the next level
                    self._sent_steps = None  # and learns every step again
                    conn.send_bytes(pickle.dumps({"error": error}))
                    continue
                t1 = time.process_time()
                res.send(conn)
                self._sent_steps = len(self.emits)
                self._tally("worker: send", t1)
                self._recent.append([seen, res.sorted_fps])  # the next levels' visited set: the shelf's and these
            except (EOFError, OSError, KeyboardInterrupt):
                return

    def _receive_seen(self, conn: Any) -> np.ndarray:
        self._seen = np.frombuffer(conn.recv_bytes(), dtype=np.uint64)  # the parent's range's new states
        return self._seen

    def _serve_task(self, conn: Any, head: bytes, raw: list[bytes]) -> RangeResult:
        """Expands one range: its states minus the parent's range's (which arrive meanwhile), ordered, with
        their code columns and sorted fingerprints."""
        t0 = time.process_time()
        meta = pickle.loads(head)
        books = pickle.loads(raw[0])
        cols = np.frombuffer(raw[1], dtype=meta["dtype"]).reshape(meta["shape"])
        fps = np.frombuffer(raw[2], dtype=np.uint64)
        k = meta["recent"]  # the last k levels are not in the shelf's set yet: add their runs
        if k > len(self._recent):
            raise RuntimeError(f"the new states of {k} levels are needed, {len(self._recent)} are held")
        levels = self._recent[len(self._recent) - k:]
        if k and meta["runs"]:  # 3+ workers: the last level's ranges of every worker (its own included)
            sent = np.frombuffer(raw[3], dtype=np.uint64)
            cuts = np.cumsum([0, *meta["runs"]])
            levels[-1] = [levels[-1][0], *(sent[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True))]
        self._recent = levels  # this level's runs are added once it is answered
        runs = [r for level in levels for r in level if len(r)]
        visited = _layers(self._shelf.arrays[meta["slot"]][: meta["base"]], runs, meta["shape"][1])
        if len(visited) != meta["vis_len"]:
            raise RuntimeError(f"visited set out of step ({len(visited)} != {meta['vis_len']})")
        if not _sync(self, books):
            _rebase(self, books)
            self._sent_steps = None
        lv = self.leaves
        sizes = [len(v) for v in lv.values]
        self._learned = []
        counts = np.zeros(len(fps), dtype=np.int64)
        before = self.result.transitions
        self._frontier = (cols, fps, np.arange(len(fps)))
        t1 = self._tally("worker: task and visited", t0)
        cols, parts = self._expand_range(cols, fps, visited, 0, len(fps), counts)
        t1 = self._tally("worker: range", t1)
        # the parent's range's fingerprints: when they are here already, drop them from each chunk (sorted,
        # deduplicated by sorting) before ordering; else order first and drop them after, so that a
        # worker never idles waiting for them while it has work to do (it matters on a loaded machine)
        early = conn.poll() if self.seen_first is None else self.seen_first
        seen = self._receive_seen(conn) if early else None
        t1 = time.process_time()
        if seen is not None:
            parts = [(f[k], p[k], e[k]) for f, p, e in parts for k in [absent(seen, f)]]
        fp, par, em, sorted_fps, order = self._finish_sorted(parts)
        new_cols = None
        if cols.shape[0] == lv.n:
            new_cols = self._fit_dtype(cols[:, par])
            self._apply_writes(new_cols, em)
        t1 = self._tally("worker: drop, order, columns", t1)
        all_hold = self._all_hold(cols, (fp, par, em), new_cols)  # on a superset of the states kept: as good
        if seen is None:
            t2 = time.process_time()
            seen = self._receive_seen(conn)
            t1 += time.process_time() - t2
            kept = absent(seen, sorted_fps)  # sorted needles: a streaming search
            if not kept.all():
                keep = kept[order]  # the same mask in BFS order
                fp, par, em = fp[keep], par[keep], em[keep]
                new_cols = None if new_cols is None else new_cols[:, keep]
                sorted_fps = sorted_fps[kept]
                order = (np.cumsum(kept) - 1)[order[keep]]  # positions among the kept
        if len(sizes) != lv.n or any(len(v) != m for v, m in zip(lv.values, sizes, strict=True)):
            new_cols = None  # a value or leaf numbered here: the parent may number it otherwise
        steps = em.astype(np.int64)
        res = RangeResult(
            lo=meta["lo"], hi=meta["lo"] + len(fps), transitions=self.result.transitions - before, counts=counts,
            fps=fp, parents=par.astype(np.int64) + meta["lo"], steps=steps, chunk_sizes=[len(fp)],
            new_steps=[step_by_value(self, e) for e in self.emits[self._sent_steps or 0:]],
            learned=self._learned, all_hold=all_hold, cols=new_cols, sorted_fps=sorted_fps,
            order=order.astype(np.int32 if len(order) < 1 << 31 else np.int64) if meta.get("order") else None,
            rebased=self._sent_steps is None)
        self._tally("worker: invariants", t1)
        res.cpu = time.process_time() - t0
        return res


def _layers(base: np.ndarray, runs: list[np.ndarray], frontier: int) -> Layers:
    """A visited set not merged yet: the shelf's sorted array, then the later levels' new states in
    sorted runs, which the parent merges into the other slot once they are many. The runs are merged
    into one first when that costs less than searching each: when they hold fewer fingerprints than the
    frontier has successors (about ten per state on TwoPhase). On the last, small levels of a search the
    runs are many and large, the candidates few: searched one by one."""
    if len(runs) > 1 and sum(len(r) for r in runs) < 8 * frontier:
        runs = [np.sort(np.concatenate(runs), kind="stable")]
    return Layers([base, *runs])


@dataclass
class _Shelf:
    """The parent's visited set in shared memory, in two slots: the parent merges a level's new states
    into one slot while the workers read the other (the last merged set), so a worker keeps no copy
    and merges nothing. Each slot maps a sparse file as large as the machine's memory, made before the
    fork, so the workers inherit the mappings; pages are only allocated as they are written, and the
    files vanish with the last process that maps them (memfd, or an unlinked temporary file)."""

    arrays: list[np.ndarray]
    held: list[np.ndarray | None] = field(default_factory=lambda: [None, None])  # what each slot holds
    published: int | None = None  # the slot the workers read this level

    @classmethod
    def make(cls) -> _Shelf | None:
        import mmap
        import tempfile

        try:
            cap = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            cap = 1 << 34
        try:
            import resource

            soft = resource.getrlimit(resource.RLIMIT_AS)[0]
            if soft != resource.RLIM_INFINITY:  # `ulimit -v`: leave most of the address space to the search
                cap = min(cap, soft // 8)
        except (ImportError, OSError, ValueError):
            pass
        while cap >= 1 << 26:
            arrays = []
            try:
                for k in range(2):
                    if hasattr(os, "memfd_create"):
                        fd = os.memfd_create(f"explorer-visited-{k}")
                    else:
                        f = tempfile.TemporaryFile()
                        fd = os.dup(f.fileno())
                        f.close()
                    try:
                        os.ftruncate(fd, cap)
                        arrays.append(np.frombuffer(mmap.mmap(fd, cap), dtype=np.uint64))
                    finally:
                        os.close(fd)
                return cls(arrays)
            except (OSError, ValueError, OverflowError):
                cap //= 4  # e.g. an address-space limit: try smaller slots
        return None  # no shared memory: each level runs in one process

    def write(self, runs: list[np.ndarray]) -> np.ndarray | None:
        """Merges disjoint sorted runs into the slot the workers do not read; None when they do not fit."""
        n = sum(len(r) for r in runs)
        slot = 1 if self.published == 0 else 0
        if n > len(self.arrays[slot]):
            return None
        out = self.arrays[slot][:n]
        np.concatenate(runs, out=out)
        if len(runs) > 1:
            out.sort(kind="stable")  # timsort: merges the runs in place
        self.held[slot] = out
        return out

    def publish(self, visited: np.ndarray) -> int | None:
        """The slot the workers read `visited` from this level (copied there when it is elsewhere)."""
        if not any(h is visited for h in self.held):
            visited = self.write([visited])
            if visited is None:
                return None
        self.published = next(k for k, h in enumerate(self.held) if h is visited)
        return self.published


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


@dataclass
class PoolMemoryGuard(MemoryGuard):
    """--max-memory with workers: the parent's resident memory plus what each worker holds privately
    (pages it shares with the parent after the fork are counted once, in the parent)."""

    pids: list[int] = field(default_factory=list)

    def over(self, extra: int = 0) -> bool:
        self.last_rss = rss_bytes() + sum(private_bytes(p) for p in self.pids)
        return self.last_rss + extra >= self.limit * STOP_FRACTION


def private_bytes(pid: int) -> int:
    """Memory a process holds that no other does (Linux: /proc/PID/smaps_rollup; 0 when unknown)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return sum(int(line.split()[1]) * 1024 for line in f if line.startswith(("Private_Clean", "Private_Dirty")))
    except (OSError, ValueError, IndexError):
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0
