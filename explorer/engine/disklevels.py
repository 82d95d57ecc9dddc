"""`--disk DIR`, level by level: the frontier and the new level in files too, a chunk in memory at a time.

With the visited set in files (engine/diskstore.py) what still grew with the run was one BFS level: the
frontier's code columns, and the new level's fingerprints, parents, steps and columns with their sort
order, about 100-150 B per state of the largest level. Here `BatchSearch._levels` is replaced (for the
run, by `diskstore.attached`) with the same loop over files:

- the frontier is a `FileFrontier`: code columns stored state by state (so a chunk of states is one
  contiguous read), in segments of one width and dtype (a new dict key widens later segments only),
  with the fingerprints and the states' positions in their level beside them;
- a frontier chunk (sized as the in-memory engine's candidate chunks) is expanded with the engine's own
  `_expand_range` and `_merge_parts`, against the visited set *and* the new fingerprints of the earlier
  chunks of this level (a small sorted file, `seen`, merged after each chunk): that keeps each new state
  once, from its first chunk, which holds its smallest parent, and the chunk's survivors come out in
  (parent, action, decisions) order, so the level is the in-memory engine's, in the same order;
- each chunk's new states are written out at once (codes, fingerprints, parent and step ids, and the
  transitions counted up to their parent, which `_count_as_of` reads for a violation), and
  the invariants are then checked a chunk at a time, writing the states to expand into the next frontier.

So the resident memory is a chunk of candidates plus the files' read buffers, whatever the level's size.
Counts, verdicts and traces are the in-memory engine's (tests/test_disk.py).
"""
from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import checkpoint, diskstore
from .batch import _merge_sorted
from .diskstore import DiskStore, DiskVisited
from .fingerprint import Layers

PARENT, STEP = np.uint32, np.uint32  # per-level arrays on disk (steps: uint32 whatever the number of steps)


@dataclass
class Segment:
    """States [start, start + n) of a frontier file, stored as n rows of `width` codes of `dtype`."""

    start: int
    offset: int  # in bytes, in the codes file
    n: int
    width: int
    dtype: str


@dataclass
class FileFrontier:
    """States in three files: codes (state-major, in segments), fingerprints (uint64), positions (int64)."""

    store: DiskStore
    cols: Path
    fps: Path
    index: Path
    segments: list[Segment] = field(default_factory=list)
    n: int = 0

    @classmethod
    def new(cls, store: DiskStore, stem: str) -> FileFrontier:
        f = cls(store, store.path(f"{stem}-cols"), store.path(f"{stem}-fps"), store.path(f"{stem}-index"))
        for p in (f.cols, f.fps, f.index):
            store.write(p, np.zeros(0, dtype=np.uint8))
        return f

    @classmethod
    def of_arrays(cls, store: DiskStore, cols: np.ndarray, fps: np.ndarray, index: np.ndarray) -> FileFrontier:
        f = cls.new(store, "frontier")
        f.append(cols, fps, index)
        return f

    def __len__(self) -> int:
        return self.n

    def append(self, cols: np.ndarray, fps: np.ndarray, index: np.ndarray) -> None:
        """Appends states given as code columns (leaves x states), with their fingerprints and positions."""
        m = len(fps)
        if not m:
            return
        rows = np.ascontiguousarray(cols.T)
        last = self.segments[-1] if self.segments else None
        if last is not None and (last.width, last.dtype) == (rows.shape[1], rows.dtype.str):
            last.n += m
        else:
            offset = 0 if last is None else last.offset + last.n * last.width * np.dtype(last.dtype).itemsize
            self.segments.append(Segment(self.n, offset, m, rows.shape[1], rows.dtype.str))
        for path, arr in ((self.cols, rows), (self.fps, np.asarray(fps, dtype=np.uint64)),
                          (self.index, np.asarray(index, dtype=np.int64))):
            with open(path, "ab") as out:
                self.store.write(path, arr, out)
        self.n += m

    def chunks(self, size: Any, n_leaves: Any, limit: int | None = None
               ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """Yields (position of the first, codes as leaves x states, fingerprints, positions) for the first
        `limit` states, `size()` states at most at a time, with the codes widened to `n_leaves()` leaves."""
        end = self.n if limit is None else min(limit, self.n)
        with open(self.cols, "rb") as fc, open(self.fps, "rb") as ff, open(self.index, "rb") as fi:
            for s in self.segments:
                item = s.width * np.dtype(s.dtype).itemsize
                a = s.start
                while a < min(s.start + s.n, end):
                    b = min(s.start + s.n, end, a + max(1, int(size())))
                    fc.seek(s.offset + (a - s.start) * item)
                    rows = np.fromfile(fc, dtype=s.dtype, count=(b - a) * s.width).reshape(b - a, s.width)
                    cols = np.zeros((max(n_leaves(), s.width), b - a), dtype=s.dtype)
                    cols[: s.width] = rows.T
                    del rows
                    ff.seek(8 * a)
                    fi.seek(8 * a)
                    yield (a, cols, np.fromfile(ff, dtype=np.uint64, count=b - a),
                           np.fromfile(fi, dtype=np.int64, count=b - a))
                    a = b

    def arrays(self, n_leaves: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The whole frontier in memory (a --disk checkpoint resumed without --disk)."""
        parts = list(self.chunks(lambda: self.n or 1, lambda: n_leaves))
        if not parts:
            z = np.zeros(0, dtype=np.int64)
            return np.zeros((n_leaves, 0), dtype=np.uint8), np.zeros(0, dtype=np.uint64), z
        width = max(p[1].shape[0] for p in parts)
        dtype = np.result_type(*(p[1].dtype for p in parts))
        cols = np.zeros((width, self.n), dtype=dtype)
        for a, c, _, _ in parts:
            cols[: c.shape[0], a: a + c.shape[1]] = c
        return cols, np.concatenate([p[2] for p in parts]), np.concatenate([p[3] for p in parts])

    def files(self) -> list[Path]:
        return [self.cols, self.fps, self.index]

    def manifest(self) -> dict[str, Any]:
        return {"n": self.n, "segments": [[s.start, s.offset, s.n, s.width, s.dtype] for s in self.segments]}

    @classmethod
    def from_manifest(cls, store: DiskStore, paths: list[Path], m: dict[str, Any]) -> FileFrontier:
        return cls(store, *paths, [Segment(*s) for s in m["segments"]], int(m["n"]))

    def delete(self) -> None:
        for p in self.files():
            with contextlib.suppress(OSError):
                p.unlink()


class _Identity:
    """parent[i] = i: `_count_as_of` reads the transitions counted up to each new state's parent directly."""

    def __getitem__(self, i: int) -> int:
        return i


@dataclass
class _NewLevel:
    """A level being found: its states as a FileFrontier, and per state its parent's position in the
    previous level, its step id, and the transitions counted up to its parent (inclusive)."""

    states: FileFrontier
    parent: Path
    step: Path
    trans: Path
    seen: np.ndarray | DiskVisited | None = None  # its fingerprints, sorted: in memory up to a block, then a file
    deadlocks: list[int] = field(default_factory=list)

    def add_seen(self, store: DiskStore, ufp: np.ndarray) -> None:
        """Adds a chunk's new fingerprints (sorted) to the level's, in a file once they pass a block."""
        seen = self.seen
        if type(seen) is DiskVisited:
            self.seen = seen.merged(ufp)
            return
        seen = ufp if seen is None else _merge_sorted(seen, ufp)
        self.seen = DiskVisited.create(store, seen) if len(seen) > diskstore.BLOCK else seen

    def delete(self, keep_states: bool = False) -> None:
        if not keep_states:
            self.states.delete()
        with contextlib.suppress(OSError):
            self.trans.unlink()
        if type(self.seen) is DiskVisited:
            self.seen.delete()


def levels(search: Any, cols: Any, fps: np.ndarray | None, frontier_index: np.ndarray | None, visited: Any,
           depth: int) -> None:
    """`BatchSearch._levels` under --disk: the same loop, with the frontier and each new level in files."""
    from .search import _Stop

    store: DiskStore = search._disk
    r = search.result
    opts = search.opts
    mx = opts.max_states
    frontier = cols if isinstance(cols, FileFrontier) else FileFrontier.of_arrays(store, cols, fps, frontier_index)
    del cols, fps, frontier_index
    while frontier.n:
        if opts.depth is not None and depth >= opts.depth:
            r.depth_bound_hit = True
            break
        checkpoint.level_start(search, frontier, None, None, visited, depth)  # when due; --max-memory
        search._tick(frontier.n)
        trans_before = r.transitions
        new = _expand(search, frontier, visited)
        for i in new.deadlocks:
            search._violation_at(depth, i, "deadlock", "deadlock", "no action is enabled")
        n = new.states.n
        truncated = False
        if mx is not None and r.distinct_states + n >= mx:
            n = max(0, mx - r.distinct_states)
            truncated = True
            if n:  # the interpreted engine stops inside the parent of the last state kept
                r.transitions = trans_before + int(_one(new.trans, np.int64, n - 1))
        if not n:
            new.delete()
            if truncated:
                search._stop_reason = "max_states"
                raise _Stop()
            break
        if type(new.seen) is np.ndarray:
            visited = visited.merged(new.seen)
        elif new.seen is not None:
            visited = _merge_level(visited, new.seen)
        search.level_parent.add_file(new.parent, PARENT, n)
        search.level_emit.add_file(new.step, STEP, n)
        depth += 1
        r.distinct_states += n
        r.depth = depth
        nxt = _check(search, new, n, depth, trans_before)
        new.delete(keep_states=nxt is new.states)
        if truncated:
            search._stop_reason = "max_states"
            raise _Stop()
        frontier.delete()
        frontier = nxt


def _chunk_size(search: Any) -> int:
    return max(search._MIN_CHUNK, int(search._CHUNK_CANDIDATES / max(1.0, search._succ_per_state)))


def _expand(search: Any, frontier: FileFrontier, visited: DiskVisited) -> _NewLevel:
    """Expands a frontier a chunk at a time; writes the new states out as each chunk is done."""
    store: DiskStore = search._disk
    lv = search.leaves
    new = _NewLevel(FileFrontier.new(store, "level"), store.path("parent"), store.path("step"), store.path("trans"))
    for p in (new.parent, new.step, new.trans):
        store.write(p, np.zeros(0, dtype=np.uint8))
    carry = 0
    found = 0
    if hasattr(search, "_por_visited"):  # --por (batch_por.py): C3 looks up the level-start visited set
        search._por_visited = visited
    for _, cols, fps, index in frontier.chunks(lambda: _chunk_size(search), lambda: lv.n):
        search._frontier = (cols, fps, index)
        counts = np.zeros(len(fps), dtype=np.int64)
        known = Layers([visited] if new.seen is None else [visited, new.seen])  # the level's earlier chunks too
        cols, parts = search._expand_range(cols, fps, known, 0, len(fps), counts)
        cols, ufp, upar, uem, counts = search._merge_parts(cols, parts, counts)
        del parts
        if search.opts.deadlock:
            for i in np.flatnonzero(counts == 0).tolist():
                if not search.model.is_terminal(lv.decode(cols[:, i])):
                    new.deadlocks.append(int(index[i]))
        per_parent = np.cumsum(counts) + carry
        carry = int(per_parent[-1]) if len(per_parent) else carry
        if len(ufp):
            new.states.append(search._next_columns(cols, upar, uem), ufp, np.arange(found, found + len(ufp)))
            found += len(ufp)
            for path, arr in ((new.parent, index[upar].astype(PARENT)), (new.step, uem.astype(STEP)),
                              (new.trans, per_parent[upar])):
                with open(path, "ab") as out:
                    store.write(path, arr, out)
            new.add_seen(store, np.sort(ufp))
        search._frontier = None
    return new


def _check(search: Any, new: _NewLevel, n: int, depth: int, trans_before: int) -> FileFrontier:
    """Checks the first n states of a new level a chunk at a time; returns those to expand, as the next frontier
    (the level's own file when every state is expanded: the usual case, no copy).

    `_check_level` numbers states from 0: for each chunk, the level's parent and step arrays and the
    counts `_count_as_of` uses are views starting at the chunk (so traces and counts at a violation
    are those of the whole level's state)."""
    store: DiskStore = search._disk
    lv = search.leaves
    nxt: FileFrontier | None = None
    lp, le = search.level_parent, search.level_emit
    full_p, full_e = lp[depth], le[depth]
    trans = np.memmap(new.trans, dtype=np.int64, mode="r", shape=(n,))
    before = search.result.distinct_states - n
    try:
        for a, cols, fps, _ in new.states.chunks(lambda: _chunk_size(search), lambda: lv.n, limit=n):
            lp[depth], le[depth] = full_p[a:], full_e[a:]
            search._acct = (before + a, trans_before, _Identity(), trans[a:])
            ok, cols = search._check_level(cols, fps, depth)
            if nxt is None:
                if ok.all():
                    continue
                nxt = FileFrontier.new(store, "frontier")  # a state not to expand: copy the others
                for c in new.states.chunks(lambda: _chunk_size(search), lambda: lv.n, limit=a):
                    nxt.append(*c[1:])
            keep = np.flatnonzero(ok)
            nxt.append(cols[:, keep], fps[keep], keep + a)
    finally:
        lp[depth], le[depth] = full_p, full_e
        search._acct = None
        del trans
    if nxt is None:
        return new.states if n == new.states.n else _first(new.states, n)
    return nxt


def _first(states: FileFrontier, n: int) -> FileFrontier:
    """The first n states of a frontier file (a level cut by --max-states, which ends the search)."""
    return dataclasses.replace(states, segments=[s for s in states.segments if s.start < n], n=n)


def _merge_level(visited: DiskVisited, seen: DiskVisited) -> DiskVisited:
    """The visited set with a level's new fingerprints added, merged one block of them at a time."""
    with open(seen.path, "rb") as f:
        for _, block in seen._blocks(f, list(range(len(seen.index)))):
            visited = visited.merged(block)
    seen.delete()
    return visited


def _one(path: Path, dtype: Any, i: int) -> Any:
    with open(path, "rb") as f:
        f.seek(i * np.dtype(dtype).itemsize)
        return np.fromfile(f, dtype=dtype, count=1)[0]
