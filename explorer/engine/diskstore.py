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

The frontier and the level being found are files too: `attached` puts engine/disklevels.py's level
loop in place of `BatchSearch._levels` for the run.

With `--checkpoint FILE` those files are saved beside FILE, in FILE.disk/ (see the section on
checkpoints below), so that a run killed with SIGKILL resumes although DIR's files are gone.
"""
from __future__ import annotations

import contextlib
import errno
import functools
import os
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
from .checkpoint import fsync_dir
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

    def adopt(self, src: Path, stem: str) -> Path:
        """Puts a file of a checkpoint into the store (a hard link, or a copy on another filesystem)."""
        dst = self.path(stem)
        try:
            link_or_copy(src, dst)
        except OSError as e:
            raise _disk_error(dst, e) from None
        return dst

    def pin(self, path: Path, name: str = "visited") -> Path:
        """Keeps the file at `path` readable (as `pinned-NAME.bin`) after the search deletes it: the
        visited set (and frontier) of a level start, which a checkpoint written later in that level saves."""
        pinned = self.root / f"pinned-{name}.bin"
        tmp = self.root / f"pinned-{name}.tmp"
        try:
            tmp.unlink(missing_ok=True)
            link_or_copy(path, tmp)
            tmp.replace(pinned)
        except OSError as e:
            raise _disk_error(pinned, e) from None
        return pinned

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-links `src` to `dst` (free: the files are never written again), or copies it across filesystems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


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

    def add_file(self, path: Path, dtype: Any, n: int) -> None:
        """Appends a level already written to `path`, a file of the store (its first n entries)."""
        if not n:
            super().append(np.zeros(0, dtype=dtype))
            return
        super().append(np.memmap(path, dtype=dtype, mode="r", shape=(n,)))

    def adopt(self, src: Path | None, dtype: str, n: int) -> None:
        """Appends a level saved in a checkpoint (`src`; None for an empty level) without reading it."""
        if src is None or not n:
            super().append(np.zeros(0, dtype=dtype))
            return
        path = self.store.adopt(src, self.stem)
        super().append(np.memmap(path, dtype=dtype, mode="r", shape=(n,)))


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

    @classmethod
    def from_file(cls, store: DiskStore, path: Path, n: int, block: int | None = None) -> DiskVisited:
        """The set held by `path` (n sorted fingerprints, a file of the store): reads only its block starts."""
        block = block or BLOCK
        if path.stat().st_size != 8 * n:
            raise OSError(errno.EIO, f"{path} holds {path.stat().st_size} bytes, not {8 * n}")
        index = np.empty((n + block - 1) // block, dtype=np.uint64)
        with open(path, "rb") as f:
            for k in range(len(index)):
                f.seek(8 * k * block)
                index[k] = np.frombuffer(f.read(8), dtype=np.uint64)[0]
        return cls(store, path, n, index, block)

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
    from . import disklevels

    search._levels = functools.partial(disklevels.levels, search)  # the level loop over files, for this run
    try:
        yield
    finally:
        search.__dict__.pop("_levels", None)
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
    elif options.workers > 1 or options.cluster:
        why = "--workers/--cluster keep the visited set in memory (shared with the workers, or sent to them)"
    elif getattr(model, "interpreted_only", False) or getattr(model, "action_invariants", None):
        why = f"{model.name} runs on the interpreted engine only (a timed spec, or action invariants)"
    if why:
        raise UsageError(f"--disk {d}: not with this run: {why}",
                         hint="drop --disk, or the option named (--disk works with the batched breadth-first search)")


# ---------------------------------------------------------------------- checkpoints (--disk with --checkpoint)
#
# A checkpoint of a --disk run is FILE (the .npz of every checkpoint: header, frontier, codebooks,
# counters) plus the directory FILE.disk/ beside it, holding the files the run keeps in DIR as of the
# level start saved: the sorted visited file and each level's parent and step files. DIR is removed
# when the run ends, so the checkpoint cannot point into it; its files are hard-linked from DIR (free:
# they are never written again) or copied when FILE is on another filesystem. Level files of earlier
# checkpoints are linked from the previous generation, so each checkpoint copies at most the visited
# file and the levels new since the last one. Each checkpoint is a new generation FILE.disk/gN-PID
# named in FILE's header; it is complete (fsynced) before FILE is replaced, and the older generations
# are removed after, so FILE always names a complete one, even after a SIGKILL at any point.


def _durable_copy(src: Path, dst: Path, previous: Path | None) -> None:
    """Links or copies `src` to `dst`, from the previous generation when it has the same file, then fsyncs it."""
    old = previous / dst.name if previous is not None else None
    if old is not None and old.exists() and old.stat().st_size == src.stat().st_size:
        link_or_copy(old, dst)
    else:
        link_or_copy(src, dst)
    with open(dst, "rb") as f:
        os.fsync(f.fileno())


def _level_file(arr: np.ndarray, dst: Path, previous: Path | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"file": None, "dtype": str(arr.dtype), "n": int(len(arr))}
    if not len(arr):
        return entry
    src = getattr(arr, "filename", None)
    if src is not None:
        _durable_copy(Path(src), dst, previous)
    else:  # an array in memory (a level saved by an in-memory run and resumed with --disk)
        with open(dst, "wb") as f:
            _tofile(np.ascontiguousarray(arr), f)
            f.flush()
            os.fsync(f.fileno())
    entry["file"] = dst.name
    return entry


def save_for_checkpoint(ck_path: str | Path, serial: int, visited: Path, n: int, parents: list, steps: list,
                        frontier: Any = None, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Writes a new generation of FILE.disk/ (see above), linking level files from the generation of the
    manifest `previous` (the last one written); returns the manifest FILE's header keeps."""
    ck = Path(ck_path)
    home = ck.with_name(f"{ck.name}.disk")
    before = ck.parent / previous["dir"] if previous else None
    prev = before if before is not None and before.is_dir() else None
    gen = home / f"g{serial}-{os.getpid()}"
    made = False  # only a directory made here is removed on failure
    try:
        gen = _new_generation(home, gen.name)
        made = True
        _durable_copy(visited, gen / "visited.bin", None)
        levels = [{"parent": _level_file(p, gen / f"parent-{d}.bin", prev),
                   "step": _level_file(s, gen / f"step-{d}.bin", prev)}
                  for d, (p, s) in enumerate(zip(parents, steps, strict=True))]
        if frontier is not None:  # a disklevels.FileFrontier: codes, fingerprints, positions
            for name, src in zip(FRONTIER_FILES, frontier.files(), strict=True):
                _durable_copy(src, gen / name, None)
        fsync_dir(gen)
        fsync_dir(home)
    except OSError as e:
        if made:
            shutil.rmtree(gen, ignore_errors=True)
        raise _disk_error(gen, e) from None
    out = {"dir": f"{home.name}/{gen.name}", "visited": n, "levels": levels}
    if frontier is not None:
        out["frontier"] = frontier.manifest()
    return out


def _new_generation(home: Path, name: str) -> Path:
    """Makes a generation directory that did not exist: NAME, else NAME-2, ... A name can come again
    (another run in the same process, as through the Python API, counts its checkpoints from 1 too),
    and the existing directory may be the one FILE names: it is neither reused nor removed."""
    home.mkdir(parents=True, exist_ok=True)
    for k in range(1, 1000):
        gen = home / (name if k == 1 else f"{name}-{k}")
        try:
            gen.mkdir()
            return gen
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, f"{home / name}: too many generations of that name")


FRONTIER_FILES = ("frontier-cols.bin", "frontier-fps.bin", "frontier-index.bin")


def frontier_from_checkpoint(search: Any, ck_path: str | Path, manifest: dict[str, Any]) -> Any:
    """The frontier a --disk checkpoint saved: a FileFrontier in the run's store, or (cols, fps, index) arrays
    without --disk."""
    from .disklevels import FileFrontier

    gen = checkpoint_dir(ck_path, manifest)
    store = getattr(search, "_disk", None)
    if store is None:
        return FileFrontier.from_manifest(None, [gen / f for f in FRONTIER_FILES], manifest["frontier"]).arrays(
            search.leaves.n)
    own = [store.adopt(gen / f, "frontier") for f in FRONTIER_FILES]
    return FileFrontier.from_manifest(store, own, manifest["frontier"])


def drop_generation(ck_path: str | Path, manifest: dict[str, Any]) -> None:
    """Removes the generation `manifest` names (one FILE was not replaced to name, so it names none)."""
    shutil.rmtree(Path(ck_path).parent / manifest["dir"], ignore_errors=True)


def keep_only(ck_path: str | Path, manifest: dict[str, Any] | None) -> None:
    """Removes the generations FILE's header does not name (all of them after an in-memory checkpoint)."""
    ck = Path(ck_path)
    home = ck.with_name(f"{ck.name}.disk")
    if not home.is_dir():
        return
    keep = Path(manifest["dir"]).name if manifest else None
    for gen in home.iterdir():
        if gen.name != keep:
            shutil.rmtree(gen, ignore_errors=True)
    if keep is None:
        with contextlib.suppress(OSError):
            home.rmdir()


def checkpoint_dir(ck_path: str | Path, manifest: dict[str, Any]) -> Path:
    """The generation directory a checkpoint's header names (beside FILE); raises OSError when it is gone."""
    gen = Path(ck_path).parent / manifest["dir"]
    if not (gen / "visited.bin").is_file():
        raise OSError(errno.ENOENT, f"{gen} (the visited set and levels of this checkpoint, written with --disk) "
                      "is missing")
    return gen


def restore_from_checkpoint(search: Any, ck_path: str | Path, manifest: dict[str, Any]) -> Any:
    """Gives a resumed search the visited set and level arrays of a --disk checkpoint; returns the visited set.

    Under --disk they go into the run's store (hard links when FILE is on DIR's filesystem); without
    --disk they are read into memory, so a checkpoint resumes with or without --disk.
    """
    gen = checkpoint_dir(ck_path, manifest)
    store = getattr(search, "_disk", None)
    levels = manifest["levels"]

    def path(entry: dict[str, Any]) -> Path | None:
        return gen / entry["file"] if entry["file"] else None

    if store is None:
        search.level_parent = [_read(path(e["parent"]), e["parent"]) for e in levels]
        search.level_emit = [_read(path(e["step"]), e["step"]) for e in levels]
        return _read(gen / "visited.bin", {"dtype": "uint64", "n": manifest["visited"]})
    search.level_parent = LevelFiles(store, "parent")
    search.level_emit = LevelFiles(store, "step")
    for e in levels:
        search.level_parent.adopt(path(e["parent"]), e["parent"]["dtype"], e["parent"]["n"])
        search.level_emit.adopt(path(e["step"]), e["step"]["dtype"], e["step"]["n"])
    own = store.adopt(gen / "visited.bin", "visited")
    try:
        return DiskVisited.from_file(store, own, int(manifest["visited"]))
    except OSError as e:
        raise _disk_error(own, e) from None


def _read(path: Path | None, entry: dict[str, Any]) -> np.ndarray:
    if path is None:
        return np.zeros(0, dtype=entry["dtype"])
    arr = np.fromfile(path, dtype=entry["dtype"])
    if len(arr) != entry["n"]:
        raise OSError(errno.EIO, f"{path} holds {len(arr)} entries, not {entry['n']}")
    return arr


def into_store(search: Any, visited: np.ndarray) -> Any:
    """Under --disk, moves an in-memory checkpoint's visited set and level arrays into the run's files."""
    store = getattr(search, "_disk", None)
    if store is None:
        return visited
    search.level_parent = LevelFiles(store, "parent", search.level_parent)
    search.level_emit = LevelFiles(store, "step", search.level_emit)
    return DiskVisited.create(store, visited)
