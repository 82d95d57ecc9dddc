"""Checkpoints of a breadth-first search: `--checkpoint FILE`, `--resume FILE`, and a clean Ctrl-C.

A checkpoint is what a BFS needs to go on exactly where it was, so a run killed at any moment (even
with SIGKILL) resumes to the same counts, verdict and traces as a run never stopped:

- interpreted engine (`Search`): the visited fingerprints with their parents, the rest of the level
  being expanded, the part of the next level found so far, the counters and the violations found;
  written between two expanded states, every `--checkpoint-every` seconds and when the search stops;
- batched engine (`BatchSearch`): the sorted visited fingerprints, each level's parent indices and
  step ids, the frontier's leaf codes, the leaf codebooks and recorded steps, and the counters as
  they were at the start of the level being expanded; written at level starts (when due) and, when the
  search stops inside a level, as of that level's start (the level is expanded again on resume).
  Under `--disk DIR` the visited set and level arrays are files, saved as the directory FILE.disk/
  beside FILE (hard links or copies of DIR's files, never read into memory; engine/diskstore.py).

The file is a numpy `.npz` archive, written to a temporary file beside FILE, fsynced and renamed over
FILE (`os.replace`), so FILE is always the previous complete checkpoint or the new one. Numeric parts
are plain arrays (loaded with `allow_pickle=False`); a `header` member is JSON: format version,
explorer version, engine, the spec's name, a SHA-256 of its source file(s), parameters, faults and the
options that change counts. Python values that are part of states (frontier states, leaf codebooks,
recorded steps, violations with their traces) are pickled into one `objects` member, unpickled only
after the header matched: pickle is unavoidable for arbitrary frozen values (enums, dataclasses and
messages of the spec), and it means a checkpoint is code, trusted as the spec file itself is.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import io
import json
import os
import pickle
import signal
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError

FORMAT = 1
DEFAULT_EVERY_S = 60.0
# Options that change counts, verdicts or traces: a checkpoint resumes only a run with the same ones.
# (--max-states and --time-limit do not: a run stopped by them can be resumed with other bounds.)
COUNTED_OPTIONS = ("depth", "strategy", "deadlock", "max_violations", "symmetry", "por")


class CheckpointError(UsageError):
    """A checkpoint file that cannot be used: unreadable, or of another spec, run or version (exit 2)."""


# ---------------------------------------------------------------------- identity


def explorer_version() -> str:
    from .. import __version__

    return __version__


def spec_digest(model: Any) -> str:
    """SHA-256 of the spec's source file(s): a checkpoint of an edited spec is refused."""
    h = hashlib.sha256()
    for f in sorted(getattr(model, "_files", ()) or ()):
        try:
            h.update(Path(f).read_bytes())
        except OSError:
            h.update(str(f).encode())
    return h.hexdigest()


def identity(model: Any, opts: Any, engine: str) -> dict[str, Any]:
    """What must be equal for a checkpoint to resume this run."""
    return {
        "format": FORMAT,
        "explorer": explorer_version(),
        "engine": engine,
        "spec": model.name,
        "spec_sha256": spec_digest(model),
        "params": {k: repr(v) for k, v in sorted(model.params.items())},
        "faults": getattr(model, "faults_text", None),
        "options": {k: getattr(opts, k, None) for k in COUNTED_OPTIONS},
    }


def _mismatch(path: str, header: dict[str, Any], want: dict[str, Any]) -> str | None:
    """Says how a checkpoint's header differs from this run, or None when it matches."""
    if header.get("format") != FORMAT:
        return f"it has checkpoint format {header.get('format')!r}; this explorer reads format {FORMAT}"
    if header.get("explorer") != want["explorer"]:
        return (f"it was written by explorer {header.get('explorer')}; this is explorer {want['explorer']}, "
                "and checkpoints do not carry over between versions")
    if header.get("spec") != want["spec"]:
        return f"it is a checkpoint of spec {header.get('spec')}, not {want['spec']}"
    if header.get("spec_sha256") != want["spec_sha256"]:
        return f"the spec file of {want['spec']} changed since it was written"
    if header.get("params") != want["params"]:
        return f"it was written with parameters {_show(header.get('params'))}, not {_show(want['params'])}"
    if header.get("faults") != want["faults"]:
        return f"it was written with faults {header.get('faults') or 'none'}, not {want['faults'] or 'none'}"
    if header.get("options") != want["options"]:
        old, new = header.get("options") or {}, want["options"]
        diff = ", ".join(f"{k}={old.get(k)!r} (now {new.get(k)!r})" for k in new if old.get(k) != new.get(k))
        return f"it was written with other search options: {diff}"
    return None


def _show(params: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in (params or {}).items()) or "the defaults"


# ---------------------------------------------------------------------- the file


def write_atomic(path: str | Path, header: dict[str, Any], arrays: dict[str, np.ndarray], objects: Any) -> None:
    """Writes a checkpoint so that `path` is, at every instant, the old complete file or the new one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _remove_stale_temps(path)
    blob = pickle.dumps(objects, protocol=pickle.HIGHEST_PROTOCOL)
    members = dict(arrays)
    members["header"] = np.frombuffer(json.dumps(header, default=str).encode(), dtype=np.uint8)
    members["objects"] = np.frombuffer(blob, dtype=np.uint8)
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **members)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise UsageError(f"--checkpoint {path}: cannot write it ({e})",
                         hint="give a path in a folder you can write to") from None
    fsync_dir(path.parent)  # make the rename itself durable


def fsync_dir(d: Path) -> None:
    """Makes the entries of a directory (a rename, new files) durable; best effort (some filesystems refuse)."""
    try:
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _remove_stale_temps(path: Path) -> None:
    """Removes the temporary files of writers that were killed mid-write (their process is gone)."""
    for t in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            pid = int(t.name.rsplit(".", 2)[-2])
            if pid != os.getpid():
                os.kill(pid, 0)
        except ProcessLookupError:
            t.unlink(missing_ok=True)
        except (ValueError, OSError):
            pass


@dataclass
class Loaded:
    """A checkpoint read back: its header, its arrays (read lazily) and its unpickled objects."""

    path: str
    header: dict[str, Any]
    arrays: Any
    objects: Any = None


_CORRUPT = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError)


def read_header(path: str | Path) -> tuple[dict[str, Any], Any]:
    """Opens a checkpoint and returns (its JSON header, the lazily read archive); refuses what is not one."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"--resume {p}: no such checkpoint file",
                              hint="give the FILE a run wrote with --checkpoint FILE, or start without --resume")
    try:
        npz = np.load(p, allow_pickle=False)
        header = json.loads(bytes(npz["header"]).decode())
        if not isinstance(header, dict):
            raise ValueError("the header is not an object")
    except _CORRUPT as e:
        raise CheckpointError(f"--resume {p}: not a readable checkpoint ({type(e).__name__}: {e})",
                              hint="the file is truncated or damaged; resume from another checkpoint or "
                              "start again without --resume") from None
    return header, npz


class _Unpickler(pickle.Unpickler):
    """Finds the spec's classes under the module name this process loaded the spec file as.

    The loader names a spec's module after the file's path, so a spec file moved or copied since the
    checkpoint was written (same source, hence the same hash) is another module name.
    """

    def __init__(self, data: bytes, renames: dict[str, str]):
        super().__init__(io.BytesIO(data))
        self.renames = renames

    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(self.renames.get(module, module), name)


def read_checkpoint(path: str | Path, want: dict[str, Any], spec_module: str | None = None) -> Loaded:
    """Reads a checkpoint written for this run (`want` = identity()); refuses one of another spec, run or version."""
    header, npz = read_header(path)
    why = _mismatch(str(path), header, want)
    if why is not None:
        raise CheckpointError(f"--resume {path}: {why}",
                              hint="resume with the spec, parameters, faults and options of the run that wrote it, "
                              "or start again without --resume")
    if header.get("engine") != want["engine"]:
        raise CheckpointError(f"--resume {path}: it was written by the {header.get('engine')} engine, "
                              f"this run uses the {want['engine']} engine",
                              hint=f"add --backend {header.get('engine')}")
    renames = {header["spec_module"]: spec_module} if header.get("spec_module") and spec_module else {}
    try:
        objects = _Unpickler(bytes(npz["objects"]), renames).load()
    except Exception as e:  # noqa: BLE001 - any damage in the pickled part
        raise CheckpointError(f"--resume {path}: not a readable checkpoint ({type(e).__name__}: {e})",
                              hint="the file is damaged, or a module the spec imports changed; start again "
                              "without --resume") from None
    return Loaded(str(path), header, npz, objects)


def checkpoint_engine(path: str | Path) -> str:
    """Returns the engine (`interp` or `batch`) that wrote a checkpoint, so a resume runs the same one."""
    header, _ = read_header(path)
    return str(header.get("engine"))


def _array(ck: Loaded, name: str) -> np.ndarray:
    try:
        return ck.arrays[name]
    except _CORRUPT as e:
        raise CheckpointError(f"--resume {ck.path}: not a readable checkpoint ({type(e).__name__}: {e})",
                              hint="the file is damaged; start again without --resume") from None


# ---------------------------------------------------------------------- Ctrl-C


class SigintFlag:
    """Turns the first Ctrl-C of a search into a flag the engine checks where it can stop cleanly.

    A second Ctrl-C raises KeyboardInterrupt at once, as usual. Only the main thread can own signals:
    elsewhere (the serve command's worker threads) nothing is installed.
    """

    def __init__(self) -> None:
        self.set = False
        self._prev: Any = None
        self._installed = False

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            self._prev = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        except (ValueError, OSError):
            pass

    def restore(self) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._prev)
            self._installed = False

    def _handler(self, signum: int, frame: Any) -> None:
        if self.set:
            raise KeyboardInterrupt
        self.set = True


# ---------------------------------------------------------------------- saving


def _parents_arrays(parents: dict[int, int], root: int) -> dict[str, np.ndarray]:
    keys = np.fromiter(parents.keys(), dtype=np.uint64, count=len(parents))
    vals = list(parents.values())
    is_root = np.fromiter((v == root for v in vals), dtype=bool, count=len(vals))
    par = np.fromiter((0 if v == root else v for v in vals), dtype=np.uint64, count=len(vals))
    return {"parent_keys": keys, "parent_values": par, "parent_is_root": is_root}


def _parents_dict(ck: Loaded, root: int) -> dict[int, int]:
    keys = _array(ck, "parent_keys").tolist()
    vals = _array(ck, "parent_values").tolist()
    roots = _array(ck, "parent_is_root").tolist()
    return {k: (root if r else v) for k, v, r in zip(keys, vals, roots, strict=True)}


def _counters(search: Any) -> dict[str, Any]:
    r = search.result
    return {"distinct_states": r.distinct_states, "transitions": r.transitions, "initial_states": r.initial_states,
            "depth": r.depth, "depth_bound_hit": r.depth_bound_hit, "violations": list(r.violations),
            "seen": set(search._seen_violation_keys), "unwitnessed": set(search._unwitnessed),
            "elapsed_s": search._elapsed_before + (time.perf_counter() - search._t0)}


def _restore_counters(search: Any, c: dict[str, Any]) -> None:
    r = search.result
    for k in ("distinct_states", "transitions", "initial_states", "depth", "depth_bound_hit"):
        setattr(r, k, c[k])
    r.violations = list(c["violations"])
    search._seen_violation_keys = set(c["seen"])
    search._unwitnessed = set(c["unwitnessed"])
    search._elapsed_before = float(c["elapsed_s"])


@dataclass
class Checkpointer:
    """Writes the checkpoints of one run when they are due, and a last one when the search stops."""

    path: str
    every_s: float
    ident: dict[str, Any]
    last: float = field(default_factory=time.perf_counter)
    pending: Any = None  # batched engine: the snapshot of the level being expanded
    written: int = 0
    attempts: int = 0
    disk_manifest: dict[str, Any] | None = None  # --disk: the FILE.disk/ generation of the last checkpoint

    def _header(self, search: Any, depth: int, distinct: int) -> dict[str, Any]:
        return {**self.ident, "spec_file": search.spec_file, "spec_module": _spec_module(search.model),
                "depth_reached": depth, "distinct_states": distinct,
                "written": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}

    def _due(self) -> bool:
        return time.perf_counter() - self.last >= self.every_s

    def _write(self, search: Any, header: dict[str, Any], arrays: dict[str, np.ndarray], objects: Any,
               disk: Any = None) -> None:
        """Writes one checkpoint; a failure (disk full, ...) is a warning: the search and its results go on.

        `disk` (under --disk): the level start's (pinned visited file, its size, parent and step levels),
        saved first into a new generation of FILE.disk/ that the header names (engine/diskstore.py)."""
        from . import diskstore

        self.last = time.perf_counter()
        self.attempts += 1
        manifest = None
        try:
            if disk is not None:
                manifest = diskstore.save_for_checkpoint(self.path, self.attempts, *disk,
                                                         previous=self.disk_manifest)
                header = {**header, "disk": manifest}
            write_atomic(self.path, header, arrays, objects)
        except UsageError as e:
            if manifest is not None:  # drops the generation just made, only: FILE still names the one before,
                # which may be an earlier run's (a resumed run has no disk_manifest of its own yet)
                diskstore.drop_generation(self.path, manifest)
            msg = f"checkpoint not written: {e.message}"
            if msg not in search.result.warnings:
                search.result.warnings.append(msg)
            return
        self.written += 1
        self.disk_manifest = manifest
        diskstore.keep_only(self.path, manifest)  # the generations FILE no longer names

    def check_writable(self) -> None:
        """Refuses, before the search starts, a FILE that cannot be written (a missing folder, no permission)."""
        probe = Path(self.path).with_name(f".{Path(self.path).name}.{os.getpid()}.tmp")
        try:
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise UsageError(f"--checkpoint {self.path}: cannot write it ({e.strerror or e})",
                             hint="give a path in an existing folder you can write to") from None

    # interpreted engine: between two expanded states of a level
    def search_boundary(self, search: Any, frontier: list, pos: int, nxt: list, depth: int, *,
                        force: bool = False) -> None:
        if not (force or self._due()):
            return
        from .search import ROOT

        rest = frontier[pos:]
        arrays = _parents_arrays(search.parents, ROOT)
        arrays["frontier_fps"] = np.fromiter((fp for _, fp in rest), dtype=np.uint64, count=len(rest))
        arrays["next_fps"] = np.fromiter((fp for _, fp in nxt), dtype=np.uint64, count=len(nxt))
        objects = {"frontier": [s for s, _ in rest], "next": [s for s, _ in nxt], "level": depth,
                   "counters": _counters(search)}
        self._write(search, self._header(search, depth, search.result.distinct_states), arrays, objects)

    # batched engine: at the start of each level
    def level_start(self, search: Any, cols: np.ndarray, fps: np.ndarray, frontier_index: np.ndarray,
                    visited: np.ndarray, depth: int) -> None:
        if type(visited) is not np.ndarray:  # --disk: keep the file of this level start (merging deletes it)
            visited = _Pinned(search._disk.pin(visited.path), len(visited))
        if fps is None:  # --disk: the frontier is a disklevels.FileFrontier, deleted after its level
            cols = dataclasses.replace(cols, cols=search._disk.pin(cols.cols, "frontier-cols"),
                                       fps=search._disk.pin(cols.fps, "frontier-fps"),
                                       index=search._disk.pin(cols.index, "frontier-index"),
                                       segments=list(cols.segments))
        self.pending = (cols, fps, frontier_index, visited, depth, list(search.level_parent),
                        list(search.level_emit), _counters(search), dict(search.parents))
        if self._due():
            self.write_pending(search)

    def write_pending(self, search: Any) -> None:
        if self.pending is None:
            return
        cols, fps, frontier_index, visited, depth, lparent, lemit, counters, parents = self.pending
        from .search import ROOT

        lv = search.leaves
        arrays = _parents_arrays(parents, ROOT)
        arrays.update(init_cols=search._init_cols,
                      hash_sizes=np.array([len(h) for h in lv.hashes], dtype=np.int64),
                      hashes=np.concatenate(lv.hashes) if lv.hashes else np.zeros(0, dtype=np.uint64))
        if fps is not None:
            arrays.update(cols=cols, fps=fps, frontier_index=frontier_index)
        disk = None
        if isinstance(visited, _Pinned):  # --disk: the visited file, level files and frontier go beside FILE
            disk = (visited.path, visited.n, lparent, lemit, cols if fps is None else None)
        else:
            arrays.update(visited=visited, level_sizes=np.array([len(x) for x in lparent], dtype=np.int64),
                          level_parent=np.concatenate(lparent).astype(np.uint32),
                          level_emit=np.concatenate(lemit).astype(np.uint32))
        leaves = {k: v for k, v in vars(lv).items() if k not in ("fpr", "hashes")}
        emits = [(e.writes, e.step, e.action) for e in search.emits]
        objects = {"level": depth, "counters": counters, "leaves": leaves, "emits": emits,
                   "succ_per_state": search._succ_per_state}
        self._write(search, self._header(search, depth, counters["distinct_states"]), arrays, objects, disk)
        self.pending = None

    def finish(self, search: Any, reason: str | None) -> None:
        """The search stopped: the batched engine writes its level-start snapshot (the level is redone on resume)."""
        if reason in ("interrupted", "time_limit", "max_memory") and self.pending is not None:
            self.write_pending(search)


@dataclass(frozen=True)
class _Pinned:
    """--disk: the visited file of a level start, kept (hard-linked) in the store until the next one."""

    path: Path
    n: int


# ---------------------------------------------------------------------- engine glue


def start(search: Any) -> None:
    """Sets up what `run()` needs: the checkpointer, the memory guard, and Ctrl-C as a flag (installed last,
    so a refused FILE or size leaves the process's Ctrl-C handler as it was)."""
    from .memory import MemoryGuard, parse_size

    opts = search.opts
    search._saver = None
    if getattr(opts, "por", False) and (opts.checkpoint or opts.resume):
        raise UsageError("--checkpoint/--resume: not with --por yet (the reduction's visibility set is not saved)",
                         hint="run without --por to checkpoint")
    if opts.checkpoint:
        search._saver = Checkpointer(str(opts.checkpoint), opts.checkpoint_every_s,
                                     identity(search.model, opts, search.result.backend))
        search._saver.check_writable()
    search._mem = MemoryGuard(parse_size(opts.max_memory)) if opts.max_memory else None
    search._interrupt = SigintFlag()
    search._interrupt.install()


def stop(search: Any) -> None:
    search._interrupt.restore()


def level_start(search: Any, cols: np.ndarray, fps: np.ndarray, frontier_index: np.ndarray,
                visited: np.ndarray, depth: int) -> None:
    """Batched engine, before a level is expanded: a checkpoint when due, and the --max-memory estimate."""
    if search._saver is not None:
        search._saver.level_start(search, cols, fps, frontier_index, visited, depth)
    mem = search._mem
    if mem is not None:
        need = next_level_bytes(search, cols, fps, visited) if fps is not None else streamed_level_bytes(search, cols)
        if mem.over(need):
            from .search import _Stop

            search.result.warnings.append(mem.message(need))
            search._stop_reason = "max_memory"
            raise _Stop()


def next_level_bytes(search: Any, cols: np.ndarray, fps: np.ndarray, visited: np.ndarray) -> int:
    """Estimates what expanding the next level allocates: its states' codes and arrays, the merged visited
    set, and one chunk of candidate successors (about 60 B each while they are deduplicated)."""
    levels = search.level_parent
    growth = len(levels[-1]) / len(levels[-2]) if len(levels) >= 2 and len(levels[-2]) else 1.0
    new = int(len(fps) * max(1.0, growth))
    per_state = 2 * cols.shape[0] * cols.dtype.itemsize + 8 + 6 + 24
    chunk = min(int(len(fps) * search._succ_per_state), search._CHUNK_CANDIDATES)
    return new * per_state + visited.nbytes + new * 8 + chunk * 60  # --disk: its buffer (engine/diskstore.py)


def streamed_level_bytes(search: Any, frontier: Any) -> int:
    """--disk (engine/disklevels.py): what a level allocates at most, whatever its size: one chunk of
    candidates (about 60 B each while deduplicated), that chunk's states' codes read and written, and
    the read buffers of the visited set and of the level's new fingerprints (a block each)."""
    from .diskstore import BLOCK

    chunk = min(int(len(frontier) * search._succ_per_state), search._CHUNK_CANDIDATES)
    width = max([s.width * np.dtype(s.dtype).itemsize for s in frontier.segments] or [1])
    states = chunk / max(1.0, search._succ_per_state)
    return int(chunk * 60 + 3 * states * (max(width, search.leaves.n) + 40) + 2 * 8 * BLOCK)


def _spec_module(model: Any) -> str | None:
    cls = getattr(model, "spec_cls", None)
    return getattr(cls, "__module__", None)


def load_for(search: Any) -> Loaded:
    return read_checkpoint(search.opts.resume, identity(search.model, search.opts, search.result.backend),
                           _spec_module(search.model))


def restore_search(search: Any) -> tuple[list, list, int]:
    """Puts a `Search` back where its checkpoint was; returns (rest of the level, next level so far, depth)."""
    from .search import ROOT

    ck = load_for(search)
    ob = ck.objects
    search.parents = _parents_dict(ck, ROOT)
    _restore_counters(search, ob["counters"])
    frontier = list(zip(ob["frontier"], _array(ck, "frontier_fps").tolist(), strict=True))
    nxt = list(zip(ob["next"], _array(ck, "next_fps").tolist(), strict=True))
    depth = int(ob["level"])
    if not frontier:  # written just as a level ended
        return nxt, [], depth + 1
    return frontier, nxt, depth


def restore_batch(search: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any, int]:
    """Puts a `BatchSearch` back at the start of its checkpoint's level; returns (cols, fps, index, visited, depth)."""
    from . import diskstore
    from .search import ROOT

    ck = load_for(search)
    ob = ck.objects
    lv = search.leaves
    for k, v in ob["leaves"].items():
        setattr(lv, k, v)
    sizes = _array(ck, "hash_sizes").tolist()
    flat = _array(ck, "hashes")
    bounds = np.cumsum([0, *sizes]).tolist()
    lv.hashes = [flat[a:b].copy() for a, b in zip(bounds, bounds[1:], strict=False)]
    search.emits = []
    search._emit_index = {}
    for writes, step, action in ob["emits"]:
        search._emit(writes, step, action)
    search._reset_tries()
    search._rank_cache = None
    search._shape_cache = None
    search._succ_per_state = float(ob["succ_per_state"])
    search.parents = _parents_dict(ck, ROOT)
    _restore_counters(search, ob["counters"])
    search._init_cols = _array(ck, "init_cols")
    frontier = None
    if "disk" in ck.header:  # written with --disk: the visited set and levels are files beside FILE
        try:
            visited = diskstore.restore_from_checkpoint(search, ck.path, ck.header["disk"])
            if "frontier" in ck.header["disk"]:
                frontier = diskstore.frontier_from_checkpoint(search, ck.path, ck.header["disk"])
        except (OSError, KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"--resume {ck.path}: its files are missing or damaged ({e})",
                                  hint=f"keep {Path(ck.path).name}.disk/ beside {Path(ck.path).name} (a run with "
                                  "--disk saves its visited set there), or start again without --resume") from None
    else:
        sizes = _array(ck, "level_sizes").tolist()
        bounds = np.cumsum([0, *sizes]).tolist()
        lp, le = _array(ck, "level_parent"), _array(ck, "level_emit")
        emit_dtype = np.uint16 if len(search.emits) <= 1 << 16 else np.uint32
        search.level_parent = [lp[a:b].copy() for a, b in zip(bounds, bounds[1:], strict=False)]
        search.level_emit = [le[a:b].astype(emit_dtype) for a, b in zip(bounds, bounds[1:], strict=False)]
        visited = diskstore.into_store(search, _array(ck, "visited"))  # under --disk: into the run's files
    if frontier is None:
        frontier = (_array(ck, "cols"), _array(ck, "fps"), _array(ck, "frontier_index"))
    elif not isinstance(frontier, tuple):  # a FileFrontier, for disklevels.levels
        frontier = (frontier, None, None)
    return (*frontier, visited, int(ob["level"]))
