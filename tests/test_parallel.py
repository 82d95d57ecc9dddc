"""--workers N: the batched engine with each BFS level split over forked processes.

What must hold (issue 7): counts, depths, verdicts and the shortest counterexamples are the same
for 1 worker and N workers, every run. The fixture below lets every level of these small specs be
split (the engine keeps levels under 8,192 states in one process by default), and a spy checks
that children really ran and their results were adopted, so a silently sequential run fails.
"""
from __future__ import annotations

import json
import multiprocessing
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import explorer
from explorer import Spec, UsageError, action, choose, invariant, require
from explorer.engine.batch import BatchSearch
from explorer.engine.memory import MemoryGuard
from explorer.engine.options import Options
from explorer.engine.parallel import ParallelBatchSearch, RangeResult
from explorer.engine.pool import PoolBatchSearch, PoolMemoryGuard

from .conftest import FIXTURES, SPECS, explore
from .test_differential import specs

TWOPHASE = SPECS / "lamport_twophase.py"


@pytest.fixture
def split_every_level(monkeypatch):
    """Splits every level, however small; returns a counter of the child results adopted."""
    monkeypatch.setattr(ParallelBatchSearch, "min_parallel_frontier", 1)
    monkeypatch.setattr(PoolBatchSearch, "min_parallel_frontier", 1)
    adopted = [0]
    real = ParallelBatchSearch._adopt

    def spy(self, got, cols, counts):
        adopted[0] += 1
        return real(self, got, cols, counts)

    monkeypatch.setattr(ParallelBatchSearch, "_adopt", spy)
    return adopted


def summary(r) -> tuple:
    """Everything that must not change with the worker count."""
    return (r.distinct_states, r.transitions, r.initial_states, r.depth, r.complete,
            [(v.property, v.kind, v.reason, [s.label for s in v.trace.steps] if v.trace else None,
              v.trace.final if v.trace else None) for v in r.violations])


def twophase_closed_form(n: int) -> tuple[int, int]:
    """(distinct states, transitions) of TwoPhase with n RMs: shared/peers/spin/README.md, one initial state."""
    generated = 2 + (n + 1) * 4**n + n * 2**n + 8 * n * 6 ** (n - 1)
    return 6**n + 4**n + 2**n, generated - 1


@pytest.mark.parametrize("n", [3, 4, 5])
def test_twophase_counts_equal_the_closed_form_for_one_two_and_three_workers(n, split_every_level):
    states, transitions = twophase_closed_form(n)
    runs = [explorer.check(TWOPHASE, params={"n": n}, workers=w) for w in (1, 2, 3)]
    for r in runs:
        assert (r.distinct_states, r.transitions, r.backend, r.violations) == (states, transitions, "batch", [])
    assert summary(runs[0]) == summary(runs[1]) == summary(runs[2])
    assert split_every_level[0] >= runs[0].depth  # each level of the 2- and 3-worker runs had a child


class Grid(Spec):
    """Two counters with a choose()-driven jump and require() guards; two invariants that fail."""

    def init(self):
        self.x = 0
        self.y = 0
        self.log = {}

    @action
    def step_x(self):
        require(self.x < 6)
        self.x += 1

    @action
    def jump(self):
        require(self.y < 4)
        self.y = min(4, self.y + choose([1, 2, 3]))
        self.log[self.y] = self.x  # a dict field that gains keys: new leaves while searching

    @invariant
    def not_corner(self):
        return not (self.x == 5 and self.y == 4) or f"corner at x={self.x}"

    @invariant
    def log_small(self):
        return sum(self.log.values()) < 9


def test_a_violating_spec_gives_the_same_counterexamples_whatever_the_worker_count(split_every_level):
    runs = [explorer.check(Grid, workers=w, max_violations=4) for w in (1, 2, 3)]
    first = summary(runs[0])
    assert first[-1] and {v.property for v in runs[0].violations} == {"not_corner", "log_small"}
    assert summary(runs[1]) == first and summary(runs[2]) == first
    assert split_every_level[0] > 0


def test_a_deadlock_is_found_with_the_same_trace_by_two_workers(split_every_level):
    spec = FIXTURES / "lock_deadlock.py"
    one, two = (explorer.check(spec, workers=w, deadlock=True, max_violations=3) for w in (1, 2))
    assert [v.kind for v in one.violations] == ["deadlock"]
    assert summary(one) == summary(two)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(specs())
def test_generated_specs_agree_for_one_two_and_three_workers(split_every_level, generated):
    cls, _desc = generated
    runs = [explorer.check(cls, workers=w, max_violations=3) for w in (1, 2, 3)]
    interp = explorer.check(cls, backend="interp", max_violations=3)
    assert summary(runs[0]) == summary(runs[1]) == summary(runs[2])
    assert (runs[0].distinct_states, runs[0].transitions) == (interp.distinct_states, interp.transitions)


class Raises(Spec):
    """An action that raises in one state only, late in a wide level (in a child's range)."""

    def init(self):
        self.x = 0
        self.y = 0

    @action
    def inc_x(self):
        require(self.x < 6)
        if self.x == 3 and self.y == 6:  # the last state of level 9 (BFS meets x before y)
            raise ZeroDivisionError("boom")
        self.x += 1

    @action
    def inc_y(self):
        require(self.y < 6)
        self.y += 1


def test_an_action_that_raises_in_a_child_reports_the_one_worker_error_and_trace(split_every_level, monkeypatch):
    searches = []
    run = PoolBatchSearch.run
    monkeypatch.setattr(PoolBatchSearch, "run", lambda self: searches.append(self) or run(self))
    errors = []
    for w in (1, 2):
        with pytest.raises(explorer.ActionError) as e:
            explorer.check(Raises, workers=w)
        errors.append((str(e.value), [s.label for s in e.value.trace.steps]))
    assert errors[0] == errors[1]
    # the child failed and the parent redid its range; `redone` names why, also when a worker ended without
    # an answer (once, in a loaded CI run, no answer named the exception: this shows what happened instead)
    redone = [(depth, why) for s in searches for depth, _k, why in s.redone]
    assert [depth for depth, why in redone if "ZeroDivisionError: boom" in why] == [9], redone
    assert len(errors[0][1]) == 9  # three inc_x and six inc_y


@pytest.mark.parametrize("bad", [0, -2])
def test_fewer_than_one_worker_is_refused(bad):
    with pytest.raises(UsageError, match="workers"):
        Options(workers=bad)
    run = explore(FIXTURES / "counter.py", "--workers", str(bad))
    assert run.code == 2 and "workers" in run.text and "Traceback" not in run.text


@pytest.mark.parametrize("opts, engine_named", [({"strategy": "dfs"}, "interpreted engine"),
                                                 ({"backend": "interp"}, "interpreted engine")])
def test_settings_of_the_one_process_engine_are_refused_with_two_workers(opts, engine_named):
    with pytest.raises(UsageError, match=engine_named):
        explorer.check(TWOPHASE, params={"n": 2}, workers=2, **opts)


def test_a_local_dask_cluster_gives_the_same_counts_and_traces(split_every_level):
    distributed = pytest.importorskip("distributed", reason="Dask is optional: pip install 'explorer[dask]'")
    deadlock = FIXTURES / "lock_deadlock.py"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        on_cluster = explorer.check(TWOPHASE, params={"n": 4}, cluster=cluster.scheduler_address)
        locked = explorer.check(deadlock, deadlock=True, cluster=cluster.scheduler_address)
    assert (on_cluster.distinct_states, on_cluster.transitions) == twophase_closed_form(4)
    assert summary(on_cluster) == summary(explorer.check(TWOPHASE, params={"n": 4}))
    assert summary(locked) == summary(explorer.check(deadlock, deadlock=True))
    assert split_every_level[0] >= on_cluster.depth  # every level but the first was expanded by the workers


def test_a_cluster_needs_the_spec_as_a_file_the_workers_can_load():
    with pytest.raises(UsageError, match="file path"):
        explorer.check(Grid, cluster="tcp://127.0.0.1:9")


def test_the_cli_passes_workers_through_and_reports_the_same_counts():
    run = explore(TWOPHASE, "--param", "n=3", "--workers", "2", "--json")
    assert run.code == 0, run
    summary_json = json.loads(run.out)
    states, transitions = twophase_closed_form(3)
    assert (summary_json["distinct_states"], summary_json["transitions"]) == (states, transitions)


def test_a_cluster_without_dask_installed_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` raises ImportError
    with pytest.raises(UsageError, match="not installed") as e:
        explorer.check(TWOPHASE, params={"n": 2}, cluster="tcp://127.0.0.1:9")
    assert "explorer[dask]" in e.value.hint


# --------------------------------------------------------------------------- the pool's own paths (pool.py)

@pytest.fixture
def no_fallback(monkeypatch):
    """Records every worker answer; a test asserts none was an error (a redone range would hide a bug)."""
    answers: list = []
    receive = RangeResult.receive
    monkeypatch.setattr(RangeResult, "receive", staticmethod(lambda conn: answers.append(receive(conn)) or answers[-1]))
    return answers


@pytest.mark.parametrize("seen_first", [True, False])
def test_three_workers_keep_their_visited_sets_in_step_and_hand_in_columns(split_every_level, no_fallback,
                                                                          monkeypatch, seen_first):
    """With 3 workers each worker lacks the other worker's new states: it must get them (or its visited
    set check fails and the parent redoes its range). The columns a worker hands in must equal the
    parent's own gather-and-write of them, level after level."""
    handed = [0]
    real = PoolBatchSearch._next_columns

    def check(self, cols, kpar, kem):
        got = real(self, cols, kpar, kem)
        if self._ready is not None and self._ready.cols is not None:
            handed[0] += 1
            assert np.array_equal(got, BatchSearch._next_columns(self, cols, kpar, kem))
        return got

    monkeypatch.setattr(PoolBatchSearch, "_next_columns", check)
    monkeypatch.setattr(PoolBatchSearch, "seen_first", seen_first)  # both ways of dropping the parent's states
    states, transitions = twophase_closed_form(5)
    r = explorer.check(TWOPHASE, params={"n": 5}, workers=3)
    assert (r.distinct_states, r.transitions) == (states, transitions)
    assert no_fallback and not [a for a in no_fallback if isinstance(a, str)]
    assert handed[0] >= r.depth - 2  # the first levels learn new values: the parent computes those columns


@pytest.mark.parametrize("workers", [2, 3])
def test_a_visited_set_larger_than_the_shared_memory_runs_its_levels_in_one_process(split_every_level, no_fallback,
                                                                                   monkeypatch, workers):
    """The workers read the visited set from two shared slots; once it outgrows them, the levels run in
    the parent alone, with a warning, and the counts stay the closed form's."""
    import mmap

    from explorer.engine.pool import _Shelf

    cap = 600  # TwoPhase n=4 has 1,568 states: the first levels are split, the last ones are not
    monkeypatch.setattr(_Shelf, "make", classmethod(
        lambda cls: cls([np.frombuffer(mmap.mmap(-1, 8 * cap), dtype=np.uint64) for _ in range(2)])))
    searches = []
    run = PoolBatchSearch.run
    monkeypatch.setattr(PoolBatchSearch, "run", lambda self: searches.append(self) or run(self))
    r = explorer.check(TWOPHASE, params={"n": 4}, workers=workers)
    assert (r.distinct_states, r.transitions) == twophase_closed_form(4)
    assert no_fallback and not [a for a in no_fallback if isinstance(a, str)]
    split = len(searches[0].level_cpu)
    assert 2 <= split < r.depth  # some levels split, the later ones not
    assert any("outgrew the shared memory" in w for w in r.warnings), r.warnings


class LateBad(Spec):
    """A 12 x 12 grid walked one step at a time; the invariant fails only at the level's last state
    (x = 11, y = 1), which lies in the last range of any split of its level."""

    def init(self):
        self.x = 0
        self.y = 0

    @action
    def right(self):
        require(self.x < 11)
        self.x += 1

    @action
    def up(self):
        require(self.y < 11)
        self.y += 1

    @invariant
    def not_there(self):
        return (self.x, self.y) != (11, 1) or "reached (11, 1)"


@pytest.mark.parametrize("workers, seen_first", [(2, True), (3, False)])
def test_a_violation_in_a_workers_range_gives_the_one_process_trace(split_every_level, no_fallback, workers,
                                                                    seen_first, monkeypatch):
    monkeypatch.setattr(PoolBatchSearch, "seen_first", seen_first)
    one = explorer.check(LateBad, max_violations=1)
    many = explorer.check(LateBad, workers=workers, max_violations=1)
    assert [v.property for v in one.violations] == ["not_there"]
    assert summary(many) == summary(one)
    assert len(one.violations[0].trace.steps) == 12  # 11 right, 1 up: a shortest path
    assert not [a for a in no_fallback if isinstance(a, str)]


def test_a_deadlock_in_a_workers_range_is_found_by_three_workers(split_every_level, no_fallback):
    spec = FIXTURES / "lock_deadlock.py"
    one, three = (explorer.check(spec, workers=w, deadlock=True, max_violations=3) for w in (1, 3))
    assert [v.kind for v in one.violations] == ["deadlock"] and summary(one) == summary(three)


class Hops(Spec):
    """x moves by 1 or 2, y turns: a state's successors include states of its own level (x + 1 from an
    odd x), so a visited set one level behind would count them again."""

    def init(self):
        self.x = 0
        self.y = 0

    @action
    def inc(self):
        require(self.x < 40)
        self.x += 1

    @action
    def hop(self):
        require(self.x < 39)
        self.x += 2

    @action
    def turn(self):
        self.y = (self.y + 1) % 3


@pytest.mark.parametrize("spec, params, stop", [(TWOPHASE, {"n": 5}, 3000), (Hops, {}, 50)])
def test_a_checkpointed_pool_run_resumes_with_workers_to_the_uninterrupted_counts(split_every_level, tmp_path,
                                                                                  spec, params, stop):
    ck = tmp_path / "w.ckpt"
    whole = explorer.check(spec, params=params)
    assert summary(explorer.check(spec, params=params, workers=3)) == summary(whole)  # no checkpoint: merged late
    # a checkpoint at every level start: each saves the visited set the pool keeps merged for it
    first = explorer.check(spec, params=params, workers=2, max_states=stop, checkpoint=str(ck),
                           checkpoint_every_s=0.0)
    assert first.stop_reason == "max_states" and ck.exists()
    rest = explorer.check(spec, params=params, workers=2, resume=str(ck))
    assert rest.complete and summary(rest) == summary(whole)
    if spec is TWOPHASE:
        assert (rest.distinct_states, rest.transitions) == twophase_closed_form(5)
    else:
        assert (rest.distinct_states, rest.transitions) == (41 * 3, 41 * 3 + 40 * 3 + 39 * 3)


def test_a_tiny_max_memory_stops_a_pool_run_cleanly(split_every_level):
    r = explorer.check(TWOPHASE, params={"n": 5}, workers=2, max_memory="1M")
    assert r.stop_reason == "max_memory" and not r.complete
    assert any("--max-memory limit of 1.0 MiB" in w for w in r.warnings), r.warnings


def test_the_memory_guard_counts_what_a_worker_holds_privately():
    """A forked process that fills 64 MiB of its own: the pool's guard must see it, the parent's alone not."""
    ctx = multiprocessing.get_context("fork")
    ready, done = ctx.Pipe()

    def hold(conn) -> None:
        block = np.ones(64 << 20, dtype=np.uint8)  # written, so resident and private
        conn.send(int(block.sum()))
        conn.recv()

    p = ctx.Process(target=hold, args=(done,), daemon=True)
    p.start()
    try:
        assert ready.recv() == 64 << 20
        alone = MemoryGuard(1 << 40)
        alone.over()
        pooled = PoolMemoryGuard(1 << 40, pids=[p.pid])
        pooled.over()
        assert pooled.last_rss - alone.last_rss >= 60 << 20
        assert PoolMemoryGuard(pooled.last_rss, pids=[p.pid]).over()  # and stops at that size
    finally:
        ready.send(None)
        p.join(timeout=10)


def test_a_range_of_several_chunks_with_no_new_state_finishes_empty():
    """_finish_sorted (the pool's range, parent's or worker's) of chunks whose successors were all seen
    before: _expand_range appends such chunks as empty arrays; it raised IndexError on two of them."""
    from explorer.api import load_model

    model, _ = load_model(str(SPECS / "lamport_twophase.py"), {"n": 2}, None)
    search = ParallelBatchSearch(model, Options(workers=2))
    search._emit_rank = lambda: (np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))  # one step, id 0
    z = np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    fp, par, em, sfp, order = search._finish_sorted([z, z])
    assert len(fp) == len(par) == len(em) == len(sfp) == len(order) == 0
    one = np.array([7, 9], dtype=np.uint64), np.array([1, 0]), np.array([0, 0])
    fp, par, em, sfp, order = search._finish_sorted([z, one, z])
    assert sfp.tolist() == [7, 9] and fp.tolist() == [9, 7] and par.tolist() == [0, 1]
    assert (sfp[order] == fp).all()


def test_a_worker_killed_between_levels_costs_speed_not_results(split_every_level, monkeypatch):
    """A worker process that dies (the OOM killer, kill -9) between two levels: sending it the next range
    fails; the parent expands that range itself from then on, says so, and the counts do not change."""
    import os
    import signal

    real = PoolBatchSearch._expand_level
    killed = []

    def kill_at_depth_4(self, cols, fps, visited):
        if len(self.level_parent) - 1 == 4 and self._pool and not killed:
            wk = self._pool[0]
            os.kill(wk.process.pid, signal.SIGKILL)
            wk.process.join()
            killed.append(wk.process.pid)
        return real(self, cols, fps, visited)

    monkeypatch.setattr(PoolBatchSearch, "_expand_level", kill_at_depth_4)
    searches = []
    run = PoolBatchSearch.run
    monkeypatch.setattr(PoolBatchSearch, "run", lambda self: searches.append(self) or run(self))
    got = explorer.check(TWOPHASE, params={"n": 4}, workers=2)
    assert killed and (got.distinct_states, got.transitions) == twophase_closed_form(4)
    assert summary(got) == summary(explorer.check(TWOPHASE, params={"n": 4}))
    assert [d for d, _k, why in searches[0].redone if "is gone" in why] == list(range(4, got.depth + 1))
    assert any("is gone" in w for w in got.warnings), got.warnings
