"""Verdicts and counterexample traces: what holds, what fails, and the shortest path to the failure."""
from __future__ import annotations

import pytest

import explorer
from explorer import Spec, action, action_invariant, choose, invariant, reachable, require

from .conftest import FIXTURES, TWOPC


@pytest.fixture(scope="module")
def forgetful_coordinator():
    """2PC whose coordinator does not log its decision, with one crash allowed (about 6 s)."""
    return explorer.check(TWOPC, params={"variant": "no_durable_log"}, faults="crash=1")


def test_twopc_holds_to_depth_12():
    r = explorer.check(TWOPC, depth=12)
    assert r.result == "ok" and r.exit_code == 0 and not r.violations
    assert r.distinct_states > 100  # it explored something real


def test_twopc_can_commit_so_atomicity_is_not_vacuous():
    # can_commit is a @reachable witness: a spec where nobody ever commits would hold vacuously.
    r = explorer.check(TWOPC)
    assert r.result == "ok" and r.complete


def test_a_coordinator_that_forgets_its_decision_breaks_atomicity(forgetful_coordinator):
    r = forgetful_coordinator
    assert r.result == "violation" and r.exit_code == 12
    [v] = r.violations
    assert (v.property, v.kind, v.length) == ("atomicity", "invariant", 11)


def test_the_forgetful_coordinator_trace_crashes_and_restarts_coord(forgetful_coordinator):
    trace = forgetful_coordinator.violations[0].trace
    kinds = [(s.info.get("kind"), s.info.get("node")) for s in trace.steps]
    assert ("crash", "coord") in kinds and ("restart", "coord") in kinds
    assert kinds.index(("crash", "coord")) < kinds.index(("restart", "coord"))
    final = trace.final
    states = {final[f"p{i}.state"] for i in (1, 2, 3)}
    assert {"committed", "aborted"} <= states
    # Every state before the last satisfies atomicity: the trace stops at the first bad state.
    for state in trace.states()[:-1]:
        assert not {"committed", "aborted"} <= {state[f"p{i}.state"] for i in (1, 2, 3)}


@pytest.mark.slow
def test_the_forgetful_coordinator_trace_is_the_shortest():
    r = explorer.check(TWOPC, params={"variant": "no_durable_log"}, faults="crash=1", depth=10)
    assert safety(r) == [], "a violation within 10 steps means the 11-step trace was not the shortest"


def safety(r):
    """Returns the safety violations of a result (2PC under faults also blocks: a liveness violation)."""
    return [v.property for v in r.violations if v.kind != "liveness"]


def test_the_forgetful_coordinator_trace_with_two_participants_is_the_shortest():
    bug = explorer.check(TWOPC, params={"variant": "no_durable_log", "n": 2}, faults="crash=1")
    assert [v.length for v in bug.violations] == [9]
    shorter = explorer.check(TWOPC, params={"variant": "no_durable_log", "n": 2}, faults="crash=1", depth=8)
    assert safety(shorter) == [], "a violation within 8 steps means the 9-step trace was not the shortest"


def test_the_durable_coordinator_survives_a_crash():
    r = explorer.check(TWOPC, params={"n": 2}, faults="crash=1")
    assert safety(r) == [] and r.complete  # (it blocks, a liveness violation: tests/test_liveness.py)


@pytest.mark.slow
def test_the_durable_coordinator_of_three_participants_survives_a_crash():
    r = explorer.check(TWOPC, faults="crash=1", depth=11)
    assert safety(r) == []


def test_twopc_trace_steps_show_only_what_changed(forgetful_coordinator):
    trace = forgetful_coordinator.violations[0].trace
    for before, step in zip(trace.states()[:-1], trace.steps, strict=True):
        assert step.changes, f"step {step.index} ({step.label}) changed nothing"
        for name, (old, new) in step.changes.items():
            assert before[name] == old and step.state[name] == new and old != new


class BadFromTheStart(Spec):
    def init(self):
        self.x = 5

    @action
    def dec(self):
        require(self.x > 0)
        self.x -= 1

    @invariant
    def small(self):
        return self.x < 3


def test_an_invariant_false_in_the_initial_state_gives_a_zero_step_trace():
    r = explorer.check(BadFromTheStart)
    [v] = r.violations
    assert (v.property, v.kind, v.length) == ("small", "invariant", 0)
    assert v.trace.initial["x"] == 5 and r.exit_code == 12


def test_the_violation_is_found_after_the_fewest_steps():
    r = explorer.check(FIXTURES / "buggy_counter.py", params={"limit": 3})
    [v] = r.violations
    assert v.length == 3 and [s.label for s in v.trace.steps] == ["inc", "inc", "inc"]
    assert v.reason == "x reached 3"  # an invariant may return a string saying what is wrong


def test_a_depth_bound_short_of_the_bug_finds_nothing():
    r = explorer.check(FIXTURES / "buggy_counter.py", params={"limit": 3}, depth=2)
    assert r.result == "ok" and r.depth_bound_hit


class NeverReaches(Spec):
    def init(self):
        self.x = 0

    @action
    def inc(self):
        require(self.x < 3)
        self.x += 1

    @reachable
    def reaches_three(self):
        return self.x == 3

    @reachable
    def reaches_ten(self):
        return self.x == 10


def test_a_reachable_property_without_a_witness_is_reported_as_unreachable():
    r = explorer.check(NeverReaches)
    assert [(v.property, v.kind) for v in r.violations] == [("reaches_ten", "unreachable")]
    assert r.result == "violation" and r.exit_code != 0


def test_a_reachable_property_is_not_judged_when_the_depth_bound_cut_the_search():
    r = explorer.check(NeverReaches, depth=1)
    assert not r.violations
    assert any("reaches_ten" in w for w in r.warnings)


class Skipper(Spec):
    """A counter that must go up by one at a time, except one action jumps by two from 1."""

    def init(self):
        self.x = 0

    @action
    def inc(self):
        require(self.x < 4)
        self.x += 1

    @action
    def jump(self):
        require(self.x == 1)
        self.x += 2

    @action_invariant
    def one_at_a_time(self, before, label):
        return self.x - before.x == 1 or f"{label} went from {before.x} to {self.x}"


def test_an_action_invariant_sees_both_states_and_the_action():
    r = explorer.check(Skipper)
    [v] = r.violations
    assert (v.property, v.kind) == ("one_at_a_time", "action_invariant")
    assert [s.label for s in v.trace.steps] == ["inc", "jump"]
    assert v.reason == "jump went from 1 to 3"
    assert r.exit_code == 12


class SteadyCounter(Skipper):
    def jump(self):  # no longer an action
        pass


def test_an_action_invariant_that_always_holds_passes():
    r = explorer.check(SteadyCounter)
    assert r.result == "ok"


LOCKS = FIXTURES / "lock_deadlock.py"


BACKENDS = ["auto", "interp"]  # plain specs run batched by default; interp is the reference engine


@pytest.mark.parametrize("backend", BACKENDS)
def test_deadlocks_are_not_reported_unless_asked(backend):
    r = explorer.check(LOCKS, backend=backend)
    assert r.result == "ok" and (r.distinct_states, r.transitions) == (13, 14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_deadlock_detection_finds_the_lock_order_deadlock(backend):
    r = explorer.check(LOCKS, deadlock=True, backend=backend)
    [v] = r.violations
    assert v.kind == "deadlock" and v.length == 2
    assert r.result == "deadlock" and r.exit_code == 11
    assert dict(v.trace.final["holds"]) == {"p": ("l1",), "q": ("l2",)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_terminal_state_is_not_a_deadlock(backend):
    finished_is_fine = explorer.check(LOCKS, deadlock=True, max_violations=5, backend=backend)
    finished_is_stuck = explorer.check(LOCKS, params={"done_is_terminal": False}, deadlock=True, max_violations=5,
                                       backend=backend)
    assert [v.length for v in finished_is_fine.violations] == [2]
    assert sorted(v.length for v in finished_is_stuck.violations) == [2, 6]


class TwoBugs(Spec):
    def init(self):
        self.x = 0

    @action
    def inc(self):
        require(self.x < 5)
        self.x += choose([1, 2])

    @invariant
    def below_three(self):
        return self.x < 3

    @invariant
    def not_four(self):
        return self.x != 4


def test_the_search_stops_at_the_first_violation_by_default():
    r = explorer.check(TwoBugs)
    assert [v.property for v in r.violations] == ["below_three"]


def test_max_violations_two_gives_two_distinct_violations():
    r = explorer.check(TwoBugs, max_violations=2)
    assert len(r.violations) == 2
    assert {v.property for v in r.violations} == {"below_three", "not_four"}
    for v in r.violations:
        assert v.trace is not None and v.trace.length == 2  # 0 -> 2 -> 3, and 0 -> 2 -> 4


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_dfs_and_bfs_agree_on_the_verdict(strategy):
    r = explorer.check(TwoBugs, strategy=strategy)
    assert r.result == "violation" and r.violations[0].trace.final["x"] >= 3
