"""`--disk DIR` (explorer/engine/diskstore.py): the batched engine's visited set and level arrays in files.

The search must be the in-memory one: same counts (TwoPhase's closed form 6^N + 4^N + 2^N and TLC's
generated count), verdicts and traces; the files must be gone after the run however it ends; a bad
DIR or a full disk is a usage error (exit 2). Blocks of a few fingerprints make every lookup and
merge cross many block boundaries.
"""
from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.api import load_model, run_model
from explorer.cli import main
from explorer.engine import diskstore
from explorer.engine.batch import BatchSearch
from explorer.engine.diskstore import DiskStore, DiskVisited
from explorer.engine.options import Options
from explorer.errors import UsageError

from .conftest import TWOPHASE
from .test_batch_engine import _figures, generated_specs


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 5 fingerprints, and frontier chunks of 7 states or more (64 candidates): every level of
    more than 7 states is expanded, checked and deduplicated across chunks through the files."""
    monkeypatch.setattr(diskstore, "BLOCK", 5)
    monkeypatch.setattr(diskstore, "CHUNK_CANDIDATES", 64)
    monkeypatch.setattr(BatchSearch, "_MIN_CHUNK", 7)


def _twophase(n: int, **opts):
    model, _ = load_model(TWOPHASE, {"n": n})
    return run_model(model, Options(**opts))


@pytest.mark.parametrize("n", [2, 3, 4])
def test_twophase_on_disk_has_the_closed_form_counts_and_leaves_no_file(tmp_path, small_blocks, n):
    r = _twophase(n, disk=str(tmp_path))
    assert r.backend == "batch" and r.complete and not r.warnings
    assert r.distinct_states == 6**n + 4**n + 2**n
    mem = _twophase(n)
    assert (r.transitions, r.depth) == (mem.transitions, mem.depth)
    if n == 3:
        assert r.transitions + r.initial_states == 1146  # TLC's states generated
    assert list(tmp_path.iterdir()) == []


def _broken_twophase():
    src = TWOPHASE.read_text().replace('return not ("committed" in states and "aborted" in states)',
                                       'return not ("committed" in states and "prepared" in states)')
    ns: dict = {}
    exec(compile(src, str(TWOPHASE), "exec"), ns)
    return ns["TwoPhase"]


@pytest.mark.parametrize("n", [2, 3])
def test_a_violation_on_disk_has_the_in_memory_trace(tmp_path, small_blocks, n):
    spec = _broken_twophase()
    disk = run_model(spec.build_model({"n": n}), Options(backend="batch", disk=str(tmp_path), max_violations=3))
    mem = run_model(spec.build_model({"n": n}), Options(backend="batch", max_violations=3))
    assert disk.violations and disk.violations[0].property == "consistent"
    assert _figures(disk) == _figures(mem)
    assert [v.trace.length for v in disk.violations] == [v.trace.length for v in mem.violations]
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(generated_specs(), st.sampled_from([None, 2]), st.sampled_from([None, 7]), st.integers(1, 4),
       st.integers(1, 3), st.booleans())
def test_generated_specs_give_the_same_figures_on_disk(tmp_path, monkeypatch, spec, depth, max_states, block,
                                                       chunk, deadlock):
    monkeypatch.setattr(diskstore, "BLOCK", block)
    monkeypatch.setattr(diskstore, "CHUNK_CANDIDATES", 3)
    model, _ = load_model(spec)
    o = Options(backend="batch", depth=depth, max_states=max_states, deadlock=deadlock, max_violations=3)
    mem = BatchSearch(model, o).run()
    with monkeypatch.context() as m:  # frontier chunks of 1-3 states: a new state often comes from several
        m.setattr(BatchSearch, "_MIN_CHUNK", chunk)
        disk = BatchSearch(model, o.but(disk=str(tmp_path))).run()
    assert _figures(disk) == _figures(mem)
    assert [v.trace.length for v in disk.violations] == [v.trace.length for v in mem.violations]
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sets(st.integers(0, 2**64 - 1), max_size=40), min_size=1, max_size=5),
       st.sets(st.integers(0, 2**64 - 1), max_size=40), st.integers(1, 6))
def test_the_disk_set_answers_as_a_python_set(tmp_path, levels, queries, block):
    store = DiskStore.open(tmp_path)
    try:
        seen: set[int] = set()
        vis = None
        for level in levels:
            new = sorted(level - seen)
            arr = np.array(new, dtype=np.uint64)
            vis = DiskVisited.create(store, arr, block) if vis is None else vis.merged(arr)
            seen |= set(new)
            q = np.array(sorted(queries | level), dtype=np.uint64)
            assert vis.unseen(q).tolist() == [int(x) not in seen for x in q.tolist()]
            assert len(vis) == len(seen)
            assert np.fromfile(vis.path, dtype=np.uint64).tolist() == sorted(seen)
            assert vis.index.tolist() == sorted(seen)[::block]
        assert len(list(store.root.iterdir())) == 1  # merged files replace the old ones
    finally:
        store.close()
    assert not store.root.exists()


def test_level_arrays_are_read_only_memmaps_under_dir_during_the_run(tmp_path, monkeypatch):
    seen = []
    real = BatchSearch._check_level

    def spy(self, cols, fps, depth):
        seen.append((type(self.level_parent[-1]), Path(self.level_parent[-1].filename).parent.parent))
        return real(self, cols, fps, depth)

    monkeypatch.setattr(BatchSearch, "_check_level", spy)
    _twophase(3, disk=str(tmp_path))
    assert seen and all(t is np.memmap and d == tmp_path for t, d in seen[1:])  # level 0 too, unless empty


@pytest.mark.parametrize("boom", [KeyboardInterrupt, RuntimeError])
def test_files_are_removed_after_ctrl_c_and_errors(tmp_path, monkeypatch, boom):
    real = BatchSearch._check_level

    def stop_at_3(self, cols, fps, depth):
        if depth == 3:
            assert any(tmp_path.iterdir())  # the files exist while the search runs
            raise boom()
        return real(self, cols, fps, depth)

    monkeypatch.setattr(BatchSearch, "_check_level", stop_at_3)
    if boom is KeyboardInterrupt:
        r = _twophase(3, disk=str(tmp_path))
        assert r.stop_reason == "interrupted"
    else:
        with pytest.raises(RuntimeError):
            _twophase(3, disk=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("n", [3, 5])
def test_symmetry_on_disk_keeps_the_orbit_counts(tmp_path, small_blocks, n):
    mem = _twophase(n, symmetry=True)
    disk = _twophase(n, symmetry=True, disk=str(tmp_path))
    assert (disk.backend, disk.distinct_states, disk.transitions, disk.depth) == \
        ("batch", mem.distinct_states, mem.transitions, mem.depth)
    assert disk.distinct_states < 6**n + 4**n + 2**n
    assert list(tmp_path.iterdir()) == []


def _por_figures(r):
    return (r.backend, r.distinct_states, r.transitions, r.depth, r.result, r.options["por"],
            [v.property for v in r.violations], [v.trace.steps for v in r.violations])


@pytest.mark.parametrize("spec, params, faults", [
    ("specs/twopc.py", {"n": 2}, "loss=1,crash=1"),  # reductions and a liveness lasso
    ("specs/twopc.py", {"n": 2, "variant": "no_durable_log"}, "crash=1"),  # a safety violation (atomicity)
    ("LateLook", {"n": 2, "loners": 1, "k": 2, "edges": "w1>w2", "limit": 1}, None),  # the search runs twice
])
def test_por_on_disk_reduces_as_in_memory(tmp_path, small_blocks, monkeypatch, spec, params, faults):
    """--por's C3 looks up the level-start visited set: on disk, the file set of the level start (not the
    level's earlier chunks), so the reduced counts, statistics and traces equal the in-memory ones."""
    from explorer.engine import disklevels

    if spec == "LateLook":
        from .test_por import LateLook as spec
    mem = run_model(load_model(spec, params, faults)[0], Options(por=True))
    levels = []
    real = disklevels._expand
    monkeypatch.setattr(disklevels, "_expand", lambda search, *a: levels.append(1) or real(search, *a))
    disk = run_model(load_model(spec, params, faults)[0], Options(por=True, disk=str(tmp_path)))
    assert levels  # the levels ran through the files
    assert _por_figures(disk) == _por_figures(mem)
    assert mem.backend == "batch" and mem.options["por"]["reduced_states"] > 0
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_a_usage_error_naming_the_directory(tmp_path, monkeypatch):
    calls = []

    def full(arr, f):
        calls.append(len(arr))
        if len(calls) > 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        arr.tofile(f)

    monkeypatch.setattr(diskstore, "_tofile", full)
    with pytest.raises(UsageError, match="the disk is full") as e:
        _twophase(3, disk=str(tmp_path))
    assert str(tmp_path) in str(e.value)
    assert list(tmp_path.iterdir()) == []


def _cli(*args):
    return CliRunner().invoke(main, ["run", str(TWOPHASE), "--param", "n=3", *args])


def test_cli_disk_gives_the_json_of_the_in_memory_run(tmp_path):
    disk = json.loads(_cli("--disk", str(tmp_path), "--json").output)
    mem = json.loads(_cli("--json").output)
    keys = ("distinct_states", "transitions", "depth", "result", "backend", "collision_probability")
    assert [disk[k] for k in keys] == [mem[k] for k in keys]
    assert disk["distinct_states"] == 288


@pytest.mark.parametrize("extra, says", [
    (["--workers", "2"], "--workers"),
    (["--strategy", "dfs"], "--strategy dfs"),
    (["--backend", "interp"], "--backend interp"),
])
def test_cli_disk_refuses_what_keeps_the_visited_set_elsewhere(tmp_path, extra, says):
    r = _cli("--disk", str(tmp_path), *extra)
    assert r.exit_code == 2, r.output
    assert "--disk" in r.output and says in r.output
    assert list(tmp_path.iterdir()) == []


def test_cli_a_missing_or_unwritable_dir_exits_2(tmp_path):
    r = _cli("--disk", str(tmp_path / "nope"))
    assert r.exit_code == 2 and "no such directory" in r.output
    f = tmp_path / "file"
    f.write_text("")
    r = _cli("--disk", str(f))
    assert r.exit_code == 2 and "no such directory" in r.output


def test_the_text_report_prints_tlcs_collision_estimate_after_every_run(tmp_path):
    out = _cli("--disk", str(tmp_path)).output
    # TwoPhase N=3: 288 distinct, 1146 generated (TLC): 288 x 858 / 2^64
    assert f"fingerprint collision probability (TLC's estimate): {288 * 858 / 2**64:.1e}" in out
    assert "1.3e-14" in out


def test_max_memory_counts_the_visited_set_on_disk_as_one_block(tmp_path):
    from explorer.engine.checkpoint import next_level_bytes

    store = DiskStore.open(tmp_path)
    try:
        fps = np.arange(0, 3_000_000, dtype=np.uint64)
        vis = DiskVisited.create(store, fps, 1000)
        assert vis.nbytes == 8 * (1000 + 3000)  # one block and the index, not 24 MB

        class Level:
            level_parent = [np.zeros(10), np.zeros(10)]
            _succ_per_state = 1.0
            _CHUNK_CANDIDATES = 1

        cols, few = np.zeros((4, 10), dtype=np.uint8), np.zeros(10, dtype=np.uint64)
        assert next_level_bytes(Level, cols, few, fps) - next_level_bytes(Level, cols, few, vis) == \
            fps.nbytes - vis.nbytes
    finally:
        store.close()


def test_sigterm_removes_the_files_too(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    p = subprocess.Popen([sys.executable, "-m", "explorer.cli", "run", str(TWOPHASE), "--param", "n=9",
                          "--disk", str(tmp_path), "--no-progress"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).parent.parent)
    try:
        deadline = time.monotonic() + 60
        while not any(tmp_path.glob("explorer-*/visited-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(tmp_path.glob("explorer-*/visited-*")), p.communicate(timeout=5)
        os.kill(p.pid, signal.SIGTERM)
        assert p.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        p.kill()
    assert list(tmp_path.iterdir()) == []


def test_no_level_is_held_in_memory_whole(tmp_path, monkeypatch):
    """The frontier is expanded and the new level checked a chunk at a time: no array handed to the
    engine's expansion or check holds more than one chunk (7 states, or 64 candidates' worth), while
    TwoPhase N=4's largest level holds over 200 states (the in-memory run's level sizes)."""
    sizes = []
    expand, check = BatchSearch._expand_range, BatchSearch._check_level

    def spy_expand(self, cols, fps, visited, lo, n, counts):
        sizes.append(("expand", len(fps)))
        return expand(self, cols, fps, visited, lo, n, counts)

    def spy_check(self, cols, fps, depth):
        sizes.append(("check", len(fps)))
        return check(self, cols, fps, depth)

    monkeypatch.setattr(diskstore, "CHUNK_CANDIDATES", 64)  # blocks of the default size: this test is about levels
    monkeypatch.setattr(BatchSearch, "_MIN_CHUNK", 7)
    model, _ = load_model(TWOPHASE, {"n": 4})
    mem = BatchSearch(model, Options())
    mem.run()
    largest = max(len(a) for a in mem.level_parent)
    assert largest > 200, largest
    monkeypatch.setattr(BatchSearch, "_expand_range", spy_expand)
    monkeypatch.setattr(BatchSearch, "_check_level", spy_check)
    r = run_model(model, Options(disk=str(tmp_path)))
    assert r.distinct_states == 6**4 + 4**4 + 2**4
    assert {k for k, _ in sizes} == {"expand", "check"}
    biggest = max(n for k, n in sizes if k != "check" or n != 1)  # level 0 (one state) is checked in memory
    assert biggest <= 64, biggest
    assert sum(n for k, n in sizes if k == "check") == r.distinct_states


def test_an_actor_spec_with_crashes_has_the_in_memory_figures_on_disk(tmp_path, small_blocks):
    """twopc: new dict keys (messages in flight) widen the codes mid-level, and the frontier's segments."""
    from .conftest import TWOPC

    model, _ = load_model(TWOPC, {"n": 2}, "crash=1,restart=0")
    mem = run_model(model, Options(max_violations=3))
    disk = run_model(model, Options(max_violations=3, disk=str(tmp_path)))
    assert (disk.backend, mem.backend) == ("batch", "batch") and not disk.warnings
    assert _figures(disk) == _figures(mem)
    assert [v.property for v in disk.violations] == ["everyone_decides"]
    assert list(tmp_path.iterdir()) == []


def test_max_memory_expects_one_chunk_whatever_the_frontier_size(tmp_path):
    """--max-memory's estimate under --disk (checkpoint.streamed_level_bytes) is bounded: a frontier of
    10^6 states and one of 10^9 need the same (a chunk of 2^19 candidates, 60 B each, plus buffers)."""
    from explorer.engine.checkpoint import streamed_level_bytes
    from explorer.engine.disklevels import FileFrontier, Segment

    class Search:
        _succ_per_state = 10.0
        _CHUNK_CANDIDATES = diskstore.CHUNK_CANDIDATES

        class leaves:
            n = 30

    def frontier(n):
        return FileFrontier(None, Path("c"), Path("f"), Path("i"), [Segment(0, 0, n, 30, "|u1")], n)

    small, huge = streamed_level_bytes(Search, frontier(10**6)), streamed_level_bytes(Search, frontier(10**9))
    assert small == huge
    assert (1 << 19) * 60 < huge < 100 << 20
