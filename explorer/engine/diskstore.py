"""`--disk DIR`: the batched engine's visited set and per-level arrays in files, for runs larger than memory.

In memory (explorer/engine/batch.py) a visited state costs 14-16 B of RAM for as long as the run lasts:
its fingerprint in one sorted uint64 array, merged with each new level, plus its parent index and step
id in one array per level. With `--disk DIR` the same data lives in files under a temporary directory
made inside DIR, and the process holds only a bounded window of it:

- visited fingerprints: one sorted file of uint64, read a block at a time (`BLOCK` entries, 8 MiB) with
  plain reads into one reused buffer, never mapped (mapped file pages count in the resident memory
  while they stay mapped). A sparse index (the first fingerprint of each block, 1 entry per 2^20
  states) says which blocks a sorted batch of candidate fingerprints can hit, so a lookup reads only
  those. A new level is merged into a new file block by block (an external merge), then the old file
  is deleted.
- parent indices and step ids: one file per level, written once and opened as a read-only
  `np.memmap`; only a trace rebuild reads them (a few pages per step).

The search is the same one (same order of new states, same dedup rule), so counts, verdicts and
traces are those of the in-memory run (tests/test_disk.py). The files are removed when the search ends,
whatever ends it (a violation, a bound, Ctrl-C, an error, SIGTERM; not SIGKILL, which leaves an
`explorer-*` directory in DIR to delete). A DIR that cannot be written, or a disk
that fills up, is a usage error (exit 2) naming the directory.
"""
from __future__ import annotations

import contextlib
import errno
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError
from .fingerprint import absent

BLOCK = 1 << 20  # visited fingerprints read at a time (8 MiB)
CHUNK_CANDIDATES = 1 << 19  # successors computed at once with --disk (the in-memory engine uses 2^21)


def _disk_error(path: Path, e: OSError) -> UsageError:
    full = e.errno in (errno.ENOSPC, errno.EDQUOT)
    what = "the disk is full" if full else (e.strerror or str(e))
    return UsageError(f"--disk: cannot write {path}: {what}",
                      hint="free some space there, or give --disk a directory on a larger disk" if full
                      else "give --disk a directory you can write to")


def _tofile(arr: np.ndarray, f: Any) -> None:
    """Every write to the store goes through here (tests simulate a full disk with it)."""
    arr.tofile(f)


@dataclass
class DiskStore:
    """The temporary directory of one search: made inside DIR, removed by `close()`."""

    root: Path
    _files: int = 0

    @classmethod
    def open(cls, directory: str | Path) -> DiskStore:
        d = Path(directory)
        if not d.is_dir():
            raise UsageError(f"--disk {directory}: no such directory", hint="create it first, or give another one")
        try:
            root = Path(tempfile.mkdtemp(prefix="explorer-", dir=d))
            probe = root / "probe"
            probe.write_bytes(b"\0" * 4096)
            probe.unlink()
        except OSError as e:
            raise _disk_error(d, e) from None
        return cls(root)

    def path(self, stem: str) -> Path:
        self._files += 1
        return self.root / f"{stem}-{self._files}.bin"

    def write(self, path: Path, arr: np.ndarray, f: Any = None) -> None:
        """Writes `arr` to `path` (or appends it to the open file `f`); a full disk is a usage error."""
        try:
            if f is not None:
                _tofile(arr, f)
            else:
                with open(path, "wb") as out:
                    _tofile(arr, out)
        except OSError as e:
            raise _disk_error(path, e) from None

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class LevelFiles(list):
    """A list of per-level arrays whose `append` writes the array to a file and keeps a read-only memmap."""

    def __init__(self, store: DiskStore, stem: str, items: list | None = None):
        super().__init__()
        self.store = store
        self.stem = stem
        for a in items or ():
            self.append(a)

    def append(self, arr: np.ndarray) -> None:
        arr = np.ascontiguousarray(arr)
        if not len(arr):  # a memmap of an empty file is refused
            super().append(arr)
            return
        path = self.store.path(self.stem)
        self.store.write(path, arr)
        super().append(np.memmap(path, dtype=arr.dtype, mode="r", shape=arr.shape))


@dataclass
class DiskVisited:
    """A sorted set of uint64 fingerprints in one file, read a block at a time."""

    store: DiskStore
    path: Path
    n: int
    index: np.ndarray  # first fingerprint of each block
    block: int = BLOCK
    _buf: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def create(cls, store: DiskStore, sorted_fps: np.ndarray, block: int | None = None) -> DiskVisited:
        path = store.path("visited")
        sorted_fps = np.ascontiguousarray(sorted_fps, dtype=np.uint64)
        store.write(path, sorted_fps)
        block = block or BLOCK
        return cls(store, path, len(sorted_fps), sorted_fps[::block].copy(), block)

    def __len__(self) -> int:
        return self.n

    @property
    def nbytes(self) -> int:
        """What it holds in memory at most (one block and the index), for the --max-memory estimate."""
        return 8 * (min(self.n, self.block) + len(self.index))

    def _blocks(self, f: Any, wanted: list[int]) -> Iterator[tuple[int, np.ndarray]]:
        """Yields (k, fingerprints of block k) for the blocks wanted (ascending), in one reused buffer."""
        if self._buf is None or len(self._buf) < min(self.block, self.n):
            self._buf = np.empty(min(self.block, self.n), dtype=np.uint64)
        buf = self._buf
        for k in wanted:
            lo = k * self.block
            m = min(self.block, self.n - lo)
            f.seek(lo * 8)
            view = memoryview(buf[:m]).cast("B")
            got = 0
            while got < m * 8:
                r = f.readinto(view[got:])
                if not r:
                    raise OSError(errno.EIO, f"{self.path} is shorter than expected")
                got += r
            yield k, buf[:m]

    def unseen(self, q: np.ndarray) -> np.ndarray:
        """Returns a mask of the fingerprints of `q` (sorted, distinct) that are not in the set."""
        new = np.ones(len(q), dtype=bool)
        if not self.n or not len(q):
            return new
        cut = np.searchsorted(q, self.index)  # q[cut[k]:cut[k+1]] may be in block k
        cut = np.append(cut, len(q))
        wanted = [k for k in range(len(self.index)) if cut[k + 1] > cut[k]]
        with open(self.path, "rb") as f:
            for k, v in self._blocks(f, wanted):
                a, b = int(cut[k]), int(cut[k + 1])
                sub = q[a:b]
                new[a:b] = absent(v, sub)
        return new

    def merged(self, b: np.ndarray) -> DiskVisited:
        """Returns the set with `b` (sorted, none already in it) added, in a new file; this one is deleted."""
        from .batch import _merge_sorted

        b = np.ascontiguousarray(b, dtype=np.uint64)
        if not self.n:
            out = DiskVisited.create(self.store, b, self.block)
            self.delete()
            return out
        path = self.store.path("visited")
        cut = np.searchsorted(b, self.index[1:])  # b[cut[k-1]:cut[k]] goes with block k
        cut = np.concatenate(([0], cut, [len(b)]))
        index: list[np.ndarray] = []
        written = 0
        try:
            with open(path, "wb") as out, open(self.path, "rb") as f:
                for k, v in self._blocks(f, list(range(len(self.index)))):
                    seg = _merge_sorted(v, b[cut[k]:cut[k + 1]]) if cut[k + 1] > cut[k] else v
                    first = (-written) % self.block  # first position of seg that starts a block
                    index.append(seg[first::self.block].copy())
                    self.store.write(path, seg, out)
                    written += len(seg)
        except OSError as e:
            raise _disk_error(path, e) from None
        self.delete()
        return DiskVisited(self.store, path, written, np.concatenate(index), self.block, self._buf)

    def delete(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()


def visited_set(search: Any, sorted_fps: np.ndarray) -> Any:
    """The visited set a batched search starts with: the sorted array, or its file under --disk."""
    store = getattr(search, "_disk", None)
    if store is None:
        return sorted_fps
    return DiskVisited.create(store, sorted_fps)


@contextlib.contextmanager
def attached(search: Any) -> Iterator[None]:
    """Under `--disk DIR`, keeps the search's visited set and level arrays in files for the run; removes them after."""
    directory = getattr(search.opts, "disk", None)
    if not directory:
        yield
        return
    store = DiskStore.open(directory)
    search._disk = store
    old_term = _exit_on_sigterm()
    search.level_parent = LevelFiles(store, "parent", search.level_parent)
    search.level_emit = LevelFiles(store, "step", search.level_emit)
    if not isinstance(getattr(type(search), "_CHUNK_CANDIDATES", None), property):  # symmetry sizes its own
        search._CHUNK_CANDIDATES = CHUNK_CANDIDATES
    try:
        yield
    finally:
        search._disk = None
        store.close()
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


def _exit_on_sigterm() -> Any:
    """Makes SIGTERM (kill's default) leave by SystemExit(143), so the files are removed on the way out;
    returns the handler to put back (None when it cannot be set: not the main thread, or one set already)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    old = signal.getsignal(signal.SIGTERM)
    if old is not signal.SIG_DFL:
        return None

    def leave(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)
    return old


def check_disk_options(model: Any, options: Any) -> None:
    """Refuses --disk with what keeps its visited set elsewhere (exit 2, saying why)."""
    d = options.disk
    why = None
    if options.strategy != "bfs":
        why = f"--strategy {options.strategy} runs on the interpreted engine, whose visited set is a dict in memory"
    elif options.backend == "interp":
        why = "--backend interp keeps its visited set in memory"
    elif options.por:
        why = "--por runs on the interpreted engine, in memory"
    elif options.workers > 1 or options.cluster:
        why = "--workers/--cluster send the visited set to each worker as one array"
    elif options.checkpoint or options.resume:
        why = "a checkpoint copies the visited set into one .npz file through memory"
    elif getattr(model, "interpreted_only", False) or getattr(model, "action_invariants", None):
        why = f"{model.name} runs on the interpreted engine only (a timed spec, or action invariants)"
    if why:
        raise UsageError(f"--disk {d}: not with this run: {why}",
                         hint="drop --disk, or the option named (--disk works with the batched breadth-first search)")
