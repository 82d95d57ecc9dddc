"""Checkpoints, Ctrl-C and --max-memory: a long run never loses its results.

The kill-and-resume tests start `explore` in a subprocess, SIGKILL it at seeded random moments
(resuming each time from whatever checkpoint the last process left), finish the run, and compare
with an uninterrupted run: the distinct-state count against TwoPhase's closed form 6^n + 4^n + 2^n,
transitions, verdict and the counterexample trace against the other engine's uninterrupted run.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import explorer
from explorer.engine.checkpoint import FORMAT, CheckpointError, read_header
from explorer.engine.memory import parse_size
from explorer.errors import UsageError

from .conftest import ROOT, TWOPC, TWOPHASE, explore

# TwoPhase plus an invariant that fails once every resource manager has committed: the search goes
# on past it (--max-violations 2; every such state is reached by rm_rcv_commit, so there is one
# distinct counterexample), which puts a violation with its trace into every later checkpoint.
EXTRA = '''    @invariant
    def not_all_committed(self):
        return not all(s == "committed" for s in self.rm_state.values())

    @invariant
    def consistent(self):'''

ENGINES = {"interp": 4, "batch": 7}  # n giving about a second of search on each engine (+0.6 s to start)


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    src = TWOPHASE.read_text()
    assert "    @invariant\n    def consistent(self):" in src
    path = tmp_path_factory.mktemp("spec") / "twophase_ck.py"
    path.write_text(src.replace("    @invariant\n    def consistent(self):", EXTRA))
    return path


@pytest.fixture(scope="module")
def reference(spec):
    """Uninterrupted runs, on the batched engine (the interpreted one is checked against it), each with
    the number of states it expanded (`expanded`: the same on both engines, BFS expands every state
    that violates no invariant)."""
    runs = {}
    for n in (4, 7):
        with counting_expansions() as expanded:
            runs[n] = explorer.check(str(spec), params={"n": n}, backend="batch", max_violations=2)
        runs[n].expanded = expanded[0]
    return runs


@contextmanager
def counting_expansions() -> Iterator[list[int]]:
    """Counts the states whose successors either engine computes (also under --disk), in this process,
    while it is open."""
    from explorer.engine import disklevels
    from explorer.engine.batch import BatchSearch
    from explorer.engine.search import Search

    n = [0]
    one, level, on_disk = Search._expand, BatchSearch._expand_level, disklevels._expand

    def expand(self, state, fp):
        n[0] += 1
        return one(self, state, fp)

    def expand_level(self, cols, fps, visited):
        n[0] += len(fps)
        return level(self, cols, fps, visited)

    def expand_files(search, frontier, visited):
        n[0] += frontier.n
        return on_disk(search, frontier, visited)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Search, "_expand", expand)
        mp.setattr(BatchSearch, "_expand_level", expand_level)
        mp.setattr(disklevels, "_expand", expand_files)
        yield n


def resumed(spec: Path, engine: str, n: int, ck: Path, ref: explorer.Result, **opts) -> explorer.Result:
    """Finishes the run from checkpoint `ck` in this process, and checks that it went on from the
    checkpoint: it expands fewer states than the uninterrupted run (a resume that silently started
    again from the initial states would expand them all, and still end with the same counts)."""
    with counting_expansions() as expanded:
        got = explorer.check(str(spec), params={"n": n}, backend=engine, max_violations=2, resume=str(ck), **opts)
    assert ref.expanded > 0 and expanded[0] < ref.expanded, (expanded[0], ref.expanded)
    return got


def closed_form(n: int) -> int:
    return 6**n + 4**n + 2**n


def progress(ck: Path) -> int:
    """Distinct states recorded in the checkpoint a running search keeps replacing (0 before the first)."""
    if not ck.exists():
        return 0
    try:
        header, npz = read_header(ck)
    except (CheckpointError, OSError):
        return 0
    npz.close()
    return int(header.get("distinct_states", 0))


def same_run(got: explorer.Result, ref: explorer.Result, n: int) -> None:
    assert got.complete and got.stop_reason is None
    assert got.distinct_states == ref.distinct_states == closed_form(n)
    assert (got.transitions, got.depth, got.initial_states) == (ref.transitions, ref.depth, ref.initial_states)
    assert [(v.property, v.kind) for v in got.violations] == [("not_all_committed", "invariant")]
    assert [(v.property, v.kind) for v in ref.violations] == [("not_all_committed", "invariant")]
    mine, theirs = got.violations[0].trace, ref.violations[0].trace
    assert [s.label for s in mine.steps] == [s.label for s in theirs.steps]
    assert mine.steps[-1].state == theirs.steps[-1].state


def cli(spec: Path, engine: str, *extra: str, n: int | None = None) -> list[str]:
    return [sys.executable, "-m", "explorer.cli", str(spec), "--param", f"n={n or ENGINES[engine]}", "--backend", engine,
            "--max-violations", "2", "--no-progress", *extra]


ENV = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}


@pytest.mark.parametrize("engine, seed, disk", [("interp", 1, False), ("batch", 2, False), ("batch", 3, True)])
def test_a_run_killed_at_random_moments_resumes_to_the_uninterrupted_counts_verdict_and_trace(
        engine, seed, disk, spec, reference, tmp_path):
    kill_and_resume(engine, seed, spec, reference, tmp_path, disk)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10, 16))
@pytest.mark.parametrize("engine, disk", [("interp", False), ("batch", False), ("batch", True)])
def test_kill_and_resume_passes_for_many_seeds(engine, seed, disk, spec, reference, tmp_path):
    kill_and_resume(engine, seed, spec, reference, tmp_path, disk)


def kill_and_resume(engine: str, seed: int, spec: Path, reference, tmp_path: Path, disk: bool = False) -> None:
    """Kills `explore` three times at random moments, resuming each time, then finishes in-process.

    A moment is a random point of the search's progress (a fraction of the closed-form count, read
    from the checkpoint the run keeps writing) plus a random delay, not a wall-clock time: the same
    search takes 0.5 s on an idle machine and several seconds on a loaded one, so a kill at a fixed
    time would often land after the run had finished. With `disk`, every run has `--disk DIR` and the
    checkpoint's visited set and levels are the files in FILE.disk/ (engine/diskstore.py).
    """
    ck = tmp_path / "run.ckpt"
    rng = random.Random(seed)
    total = closed_form(ENGINES[engine])
    targets = sorted(rng.uniform(0.1, 0.6) for _ in range(3))
    moments, codes = [], []
    files = tmp_path / "dir"
    files.mkdir()
    on_disk = ["--disk", str(files)] if disk else []
    for target in targets:
        resume = ["--resume", str(ck)] if ck.exists() else []
        p = subprocess.Popen(cli(spec, engine, "--checkpoint", str(ck), "--checkpoint-every", "0.1", *resume,
                                 *on_disk),
                             cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdout.readline()  # the header: the search starts now (loading takes from 0.5 s to seconds under load)
        deadline = time.monotonic() + 60
        while p.poll() is None and time.monotonic() < deadline and progress(ck) < target * total:
            time.sleep(0.01)
        delay = round(rng.uniform(0.0, 0.08), 3)
        moments.append((round(target, 2), delay))
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        codes.append(p.wait(timeout=60))
        assert p.returncode in (-signal.SIGKILL, 0, 12), (moments, p.stderr.read().decode())
        p.stdout.close()
        p.stderr.close()
    assert ck.exists(), f"no checkpoint after kills at {moments} s into the search"
    assert codes.count(-signal.SIGKILL) >= 2, (moments, codes)  # most runs were killed, not finished
    header, _ = read_header(ck)
    assert header["engine"] == engine and 0 < header["distinct_states"] <= closed_form(ENGINES[engine])
    assert ("disk" in header) == disk
    if disk:  # beside FILE, the generation its header names (and others when a kill came while a run wrote
        # the next one or removed the older ones: its next checkpoint removes them); a SIGKILL leaves DIR's files
        gens = [p.name for p in (tmp_path / "run.ckpt.disk").iterdir()]
        assert Path(header["disk"]["dir"]).name in gens and len(gens) <= 1 + len(targets), gens
        assert any(files.glob("explorer-*"))
        for left in files.iterdir():
            shutil.rmtree(left)
    got = resumed(spec, engine, ENGINES[engine], ck, reference[ENGINES[engine]], **({"disk": str(files)} if disk else {}))
    assert got.backend == engine
    same_run(got, reference[ENGINES[engine]], ENGINES[engine])
    assert list(files.iterdir()) == []


@pytest.mark.parametrize("engine, n", [("interp", 4), ("batch", 7)])
def test_ctrl_c_prints_the_partial_statistics_and_writes_a_checkpoint_that_resumes(engine, n, spec, reference, tmp_path):
    ck = tmp_path / "int.ckpt"
    p = subprocess.Popen(cli(spec, engine, "--checkpoint", str(ck), "--checkpoint-every", "0.1", n=n), cwd=ROOT,
                         env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().startswith("Exploring")  # the search starts after this line
    deadline = time.monotonic() + 60
    while p.poll() is None and time.monotonic() < deadline and not progress(ck):
        time.sleep(0.01)  # a first checkpoint: the search runs, with its Ctrl-C handler (a fixed sleep lost the
        # race under load: SIGINT before the handler, exit 130)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "Stopped early (interrupted)" in out and "distinct states" in out, out
    assert f"--resume {ck}" in err and "Traceback" not in err, err
    header, _ = read_header(ck)
    assert 0 < header["distinct_states"] < closed_form(n)
    same_run(resumed(spec, engine, n, ck, reference[n]), reference[n], n)


@pytest.fixture(scope="module")
def saved(spec, tmp_path_factory) -> Path:
    """A checkpoint of TwoPhase n=4 on the interpreted engine, stopped at 1000 of its 1568 states."""
    ck = tmp_path_factory.mktemp("ck") / "small.ckpt"
    r = explorer.check(str(spec), params={"n": 4}, backend="interp", max_violations=2, checkpoint=str(ck),
                       checkpoint_every_s=0.0, max_states=1000)
    assert r.stop_reason == "max_states" and ck.exists()
    return ck


def refused(spec: Path, ck: Path, *words: str, params=None, **opts) -> None:
    with pytest.raises(CheckpointError) as e:
        explorer.check(str(spec), params=params or {"n": 4}, backend="interp", max_violations=2, resume=str(ck),
                       **opts)
    assert e.value.exit_code == 2
    for w in words:
        assert w in e.value.render(), e.value.render()


def test_a_truncated_or_garbage_checkpoint_is_refused_with_its_name(spec, saved, tmp_path):
    data = saved.read_bytes()
    (tmp_path / "half.ckpt").write_bytes(data[: len(data) // 2])
    refused(spec, tmp_path / "half.ckpt", "half.ckpt", "not a readable checkpoint")
    (tmp_path / "junk.ckpt").write_bytes(bytes(random.Random(3).randrange(256) for _ in range(4096)))
    refused(spec, tmp_path / "junk.ckpt", "junk.ckpt", "not a readable checkpoint")
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0xFF  # one damaged byte inside a member: the zip CRC catches it
    (tmp_path / "flip.ckpt").write_bytes(bytes(flipped))
    refused(spec, tmp_path / "flip.ckpt", "flip.ckpt")
    refused(spec, tmp_path / "absent.ckpt", "absent.ckpt", "no such checkpoint")


def rewrite_header(src: Path, dst: Path, **changes) -> Path:
    """Copies a checkpoint with header fields changed (as another version or spec would have written them)."""
    with np.load(src, allow_pickle=False) as z:
        members = {k: z[k] for k in z.files}
    header = json.loads(bytes(members["header"]).decode()) | changes
    members["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with open(dst, "wb") as f:
        np.savez(f, **members)
    return dst


def test_a_checkpoint_of_another_spec_params_version_or_options_is_refused(spec, saved, tmp_path):
    refused(spec, saved, "parameters n=4, not n=3", params={"n": 3})
    refused(spec, saved, "depth=None (now 5)", depth=5)
    refused(TWOPHASE, saved, "spec file of TwoPhase changed")
    refused(spec, rewrite_header(saved, tmp_path / "old.ckpt", explorer="0.0.1"), "explorer 0.0.1", "0.1.0")
    refused(spec, rewrite_header(saved, tmp_path / "fmt.ckpt", format=FORMAT + 1), "format")
    refused(spec, rewrite_header(saved, tmp_path / "other.ckpt", spec="Paxos"), "spec Paxos, not TwoPhase")


def test_a_checkpoint_resumed_after_a_max_states_stop_finishes_the_run(spec, saved, reference):
    got = explorer.check(str(spec), params={"n": 4}, backend="interp", max_violations=2, resume=str(saved))
    same_run(got, reference[4], 4)


def test_checkpoints_are_for_breadth_first_search_only(spec, tmp_path):
    with pytest.raises(UsageError, match="breadth-first"):
        explorer.check(str(spec), params={"n": 3}, strategy="dfs", checkpoint=str(tmp_path / "x.ckpt"))


@pytest.mark.parametrize("engine", ["interp", "batch"])
def test_a_tiny_max_memory_stops_cleanly_with_partial_results(engine, spec):
    r = explorer.check(str(spec), params={"n": 4}, backend=engine, max_memory="1M")
    assert r.stop_reason == "max_memory" and not r.complete and r.result == "incomplete"
    assert r.distinct_states < closed_form(4)
    assert any("--max-memory limit of 1.0 MiB" in w for w in r.warnings), r.warnings
    roomy = explorer.check(str(spec), params={"n": 3}, backend=engine, max_memory="64G", max_violations=2)
    assert roomy.complete and roomy.distinct_states == closed_form(3)


def test_max_memory_on_the_command_line_says_why_it_stopped(spec):
    run = explore(spec, "--param", "n=3", "--max-memory", "2M", "--no-progress")
    assert run.code == 0 and "Stopped early (max memory)" in run.out, run
    assert "--max-memory limit" in run.err and "--max-memory limit" not in run.out, run  # a warning: on stderr


@pytest.mark.parametrize("text, size", [("2G", 2 << 30), ("500M", 500 << 20), ("1.5GiB", 3 << 29), ("64k", 65536),
                                        ("4096", 4096), (" 3 mb ", 3 << 20)])
def test_sizes_are_read_in_powers_of_1024(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "-1G", "0", "2X", ""])
def test_a_bad_size_is_a_usage_error(text):
    with pytest.raises(UsageError, match="--max-memory"):
        parse_size(text)


def test_an_actor_spec_resumes_from_a_copy_of_its_file_elsewhere(tmp_path):
    """Messages are classes of the spec's module, whose name the loader derives from the file's path."""
    ck = tmp_path / "twopc.ckpt"
    run = {"params": {"n": 2}, "faults": "crash=1,restart=0"}
    first = explorer.check(TWOPC, **run, checkpoint=str(ck), checkpoint_every_s=0.0, max_states=690)
    assert first.stop_reason == "max_states" and ck.exists()
    copy = tmp_path / "elsewhere" / "twopc.py"
    copy.parent.mkdir()
    copy.write_text(TWOPC.read_text())
    got = explorer.check(str(copy), **run, resume=str(ck))
    ref = explorer.check(TWOPC, **run)
    assert (got.distinct_states, got.transitions, got.result) == (ref.distinct_states, ref.transitions, ref.result)
    assert [v.property for v in got.violations] == [v.property for v in ref.violations]


@pytest.fixture(scope="module")
def disk_saved(spec, tmp_path_factory) -> Path:
    """A checkpoint of TwoPhase n=4 written with --disk, stopped at 1000 of its 1568 states."""
    home = tmp_path_factory.mktemp("disk_ck")
    (home / "dir").mkdir()
    ck = home / "d.ckpt"
    r = explorer.check(str(spec), params={"n": 4}, backend="batch", max_violations=2, checkpoint=str(ck),
                       checkpoint_every_s=0.0, max_states=1000, disk=str(home / "dir"))
    assert r.stop_reason == "max_states" and ck.exists() and list((home / "dir").iterdir()) == []
    return ck


@pytest.mark.parametrize("disk", [True, False])
def test_a_disk_checkpoint_resumes_with_or_without_disk(spec, disk_saved, reference, tmp_path, disk):
    header, _ = read_header(disk_saved)
    manifest = header["disk"]
    gen = disk_saved.parent / manifest["dir"]
    assert not {"visited", "cols", "fps"} & set(np.load(disk_saved).files)  # files beside it, not in the .npz
    assert (gen / "frontier-fps.bin").stat().st_size == 8 * manifest["frontier"]["n"] > 0
    assert (gen / "visited.bin").stat().st_size == 8 * manifest["visited"] == 8 * header["distinct_states"]
    got = resumed(spec, "batch", 4, disk_saved, reference[4], **({"disk": str(tmp_path)} if disk else {}))
    same_run(got, reference[4], 4)
    assert list(tmp_path.iterdir()) == []


def test_an_in_memory_checkpoint_resumes_with_disk(spec, reference, tmp_path):
    ck = tmp_path / "m.ckpt"
    r = explorer.check(str(spec), params={"n": 4}, backend="batch", max_violations=2, checkpoint=str(ck),
                       checkpoint_every_s=0.0, max_states=1000)
    assert r.stop_reason == "max_states"
    (tmp_path / "dir").mkdir()
    same_run(resumed(spec, "batch", 4, ck, reference[4], disk=str(tmp_path / "dir")), reference[4], 4)
    assert not (tmp_path / "m.ckpt.disk").exists()


def test_a_disk_checkpoint_without_its_files_is_refused_saying_where_they_go(spec, disk_saved, tmp_path):
    copy = tmp_path / "alone.ckpt"
    shutil.copy(disk_saved, copy)
    run = explore(spec, "--param", "n=4", "--backend", "batch", "--max-violations", "2", "--resume", str(copy),
                  "--no-progress")
    assert run.code == 2 and "alone.ckpt.disk/" in run.err and "missing" in run.err and "Traceback" not in run.err, run


def test_a_checkpoint_removes_the_disk_generations_its_file_does_not_name(spec, tmp_path):
    ck = tmp_path / "g.ckpt"
    orphan = tmp_path / "g.ckpt.disk" / "g9-1"  # as a writer killed before its FILE named it leaves
    orphan.mkdir(parents=True)
    (orphan / "visited.bin").write_bytes(b"")
    (tmp_path / "dir").mkdir()
    run = {"params": {"n": 3}, "backend": "batch", "checkpoint": str(ck), "checkpoint_every_s": 0.0, "max_states": 200}
    explorer.check(str(spec), **run, disk=str(tmp_path / "dir"))
    header, _ = read_header(ck)
    assert [p.name for p in (tmp_path / "g.ckpt.disk").iterdir()] == [Path(header["disk"]["dir"]).name]
    explorer.check(str(spec), **run)  # an in-memory checkpoint over it: nothing beside FILE any more
    assert "disk" not in read_header(ck)[0] and not (tmp_path / "g.ckpt.disk").exists()


def test_a_disk_generation_of_the_same_name_is_neither_reused_nor_removed(tmp_path):
    """Two runs in one process (the Python API) number their checkpoints from 1 alike: the second run's
    generation gets a name of its own, and the first one's, which FILE may name, stays as it was."""
    from explorer.engine import diskstore

    visited = tmp_path / "v.bin"
    np.arange(5, dtype=np.uint64).tofile(visited)
    ck = tmp_path / "same.ckpt"
    first = diskstore.save_for_checkpoint(ck, 1, visited, 5, [], [])
    later = tmp_path / "w.bin"  # a store's files are never rewritten (the first generation links v.bin)
    np.arange(7, dtype=np.uint64).tofile(later)
    second = diskstore.save_for_checkpoint(ck, 1, later, 7, [], [])
    assert first["dir"] != second["dir"]
    assert (tmp_path / first["dir"] / "visited.bin").stat().st_size == 8 * 5
    assert (tmp_path / second["dir"] / "visited.bin").stat().st_size == 8 * 7


def test_a_failed_disk_checkpoint_keeps_the_generation_its_file_still_names(spec, disk_saved, reference, tmp_path,
                                                                            monkeypatch):
    """A resumed --disk run whose first checkpoint cannot be written (FILE not replaced: disk full) drops
    only the generation it had just made: FILE still names the one the earlier run wrote, which must stay."""
    from explorer.engine import checkpoint

    ck = tmp_path / disk_saved.name
    shutil.copy(disk_saved, ck)
    shutil.copytree(disk_saved.with_name(f"{disk_saved.name}.disk"), tmp_path / f"{disk_saved.name}.disk")
    named = ck.parent / read_header(ck)[0]["disk"]["dir"]

    def full(*a, **k):
        raise UsageError("no space left on device")

    monkeypatch.setattr(checkpoint, "write_atomic", full)
    (tmp_path / "dir").mkdir()
    r = explorer.check(str(spec), params={"n": 4}, backend="batch", max_violations=2, resume=str(ck),
                       checkpoint=str(ck), checkpoint_every_s=0.0, disk=str(tmp_path / "dir"))
    assert any("checkpoint not written" in w for w in r.warnings), r.warnings
    assert [p.name for p in named.parent.iterdir()] == [named.name] and (named / "visited.bin").is_file()
    monkeypatch.undo()
    same_run(resumed(spec, "batch", 4, ck, reference[4]), reference[4], 4)


def test_a_disk_run_stopped_inside_a_level_saves_that_level_start_and_resumes(spec, reference, tmp_path, monkeypatch):
    """Ctrl-C in the middle of level 6's expansion (the first checkpoint is the one written at the stop,
    --checkpoint-every being an hour): the visited set and frontier of level 6's start, which the level
    loop has already replaced by files of its own, are saved from the links kept for it."""
    from explorer.engine import disklevels

    ck = tmp_path / "stop.ckpt"
    (tmp_path / "dir").mkdir()
    real = disklevels._expand

    def interrupt_at_level_6(search, frontier, visited):
        if len(search.level_parent) == 7:
            search._interrupt.set = True  # what the first Ctrl-C does; the search stops at its next chunk
        return real(search, frontier, visited)

    monkeypatch.setattr(disklevels, "_expand", interrupt_at_level_6)
    r = explorer.check(str(spec), params={"n": 4}, backend="batch", max_violations=2, checkpoint=str(ck),
                       checkpoint_every_s=3600.0, disk=str(tmp_path / "dir"))
    assert r.stop_reason == "interrupted" and list((tmp_path / "dir").iterdir()) == []
    header, _ = read_header(ck)
    assert header["depth_reached"] == 6 and set(header["disk"]) >= {"frontier", "levels", "visited"}
    assert len(header["disk"]["levels"]) == 7
    monkeypatch.undo()
    same_run(resumed(spec, "batch", 4, ck, reference[4], disk=str(tmp_path / "dir")), reference[4], 4)


def test_a_disk_checkpoint_on_another_filesystem_is_copied_not_linked(spec, reference, tmp_path, monkeypatch):
    """Hard links fail across filesystems (EXDEV): every file is copied instead, both ways."""
    import errno

    from explorer.engine import diskstore

    def no_links(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(diskstore.os, "link", no_links)
    ck = tmp_path / "x.ckpt"
    (tmp_path / "dir").mkdir()
    r = explorer.check(str(spec), params={"n": 4}, backend="batch", max_violations=2, checkpoint=str(ck),
                       checkpoint_every_s=0.0, max_states=1000, disk=str(tmp_path / "dir"))
    assert r.stop_reason == "max_states"
    gen = ck.parent / read_header(ck)[0]["disk"]["dir"]
    assert all(f.stat().st_nlink == 1 for f in gen.iterdir())  # copies
    same_run(resumed(spec, "batch", 4, ck, reference[4], disk=str(tmp_path / "dir")), reference[4], 4)
