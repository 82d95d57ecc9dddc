"""Bounded model checking (`--engine bmc`): the spec's own actions on Z3 terms agree with explicit search.

Agreement means the same verdict and the same shortest counterexample length: BMC asks Z3 depth by
depth, BFS explores level by level, so both find the first depth where an invariant fails.
"""
from __future__ import annotations

import json

import pytest

import explorer
from explorer import action, invariant, require
from explorer.errors import SpecError, UsageError
from explorer.symbolic import SymbolicModel
from specs.lamport_twophase import TwoPhase

from .conftest import FIXTURES, TWOPHASE, explore


class EagerTM(TwoPhase):
    """A buggy TwoPhase: the TM commits as soon as one RM has told it it is prepared."""

    @action
    def tm_commit(self):
        require(self.tm_state == "init" and any(self.tm_prepared.values()))
        self.tm_state = "committed"
        self.msg_commit = True


def _verdict(r):
    return r.result, [(v.property, v.kind, v.length) for v in r.violations]


@pytest.mark.parametrize("n", [2, 3])
def test_bmc_proves_twophase_up_to_its_diameter_3n_plus_1(n):
    bfs = explorer.check(TwoPhase, params={"n": n})
    assert bfs.result == "ok" and bfs.depth == 3 * n + 1  # the diameter, as BFS measures it
    r = explorer.check(TwoPhase, params={"n": n}, engine="bmc", depth=3 * n + 1)
    assert r.result == "ok" and r.violations == []
    assert r.symbolic["depth_checked"] == 3 * n + 1 and r.symbolic["proved_up_to_depth"] == 3 * n + 1


@pytest.mark.parametrize("n", [2, 3])
def test_bmc_and_bfs_find_the_same_shortest_counterexample_when_the_tm_commits_too_early(n):
    bfs = explorer.check(EagerTM, params={"n": n})
    bmc = explorer.check(EagerTM, params={"n": n}, engine="bmc", depth=12)
    assert _verdict(bmc) == _verdict(bfs) == ("violation", [("consistent", "invariant", bfs.violations[0].length)])
    trace = bmc.violations[0].trace
    final = trace.final["rm_state"]
    assert "committed" in final.values() and "aborted" in final.values()
    assert trace.steps[-1].action in ("rm_rcv_commit", "rm_rcv_abort", "rm_choose_to_abort")


def test_bmc_stops_short_of_a_counterexample_deeper_than_its_bound():
    shortest = explorer.check(EagerTM, params={"n": 2}).violations[0].length
    r = explorer.check(EagerTM, params={"n": 2}, engine="bmc", depth=shortest - 1)
    assert r.result == "ok" and r.symbolic["proved_up_to_depth"] == shortest - 1


@pytest.mark.parametrize("name", ["counter", "buggy_counter", "graph", "lock_deadlock", "two_bits"])
def test_bmc_and_bfs_agree_on_every_small_fixture_spec(name):
    path = FIXTURES / f"{name}.py"
    bfs = explorer.check(path, depth=10)
    bmc = explorer.check(path, engine="bmc", depth=10)
    assert _verdict(bmc) == _verdict(bfs)


def test_a_bmc_counterexample_is_saved_and_replays_with_explore_replay(tmp_path):
    spec = tmp_path / "eager.py"
    spec.write_text(
        "from explorer import action, require\n"
        "from specs.lamport_twophase import TwoPhase\n\n\n"
        "class EagerTM(TwoPhase):\n"
        "    @action\n"
        "    def tm_commit(self):\n"
        "        require(self.tm_state == 'init' and any(self.tm_prepared.values()))\n"
        "        self.tm_state = 'committed'\n"
        "        self.msg_commit = True\n")
    from .conftest import ROOT

    env = {"PYTHONPATH": str(ROOT)}
    run = explore(spec, "--param", "n=2", "--engine", "bmc", "--depth", "10", "--out", tmp_path / "out", "--json",
                  env=env)
    assert run.code == 12, run
    data = json.loads(run.out)
    assert data["engine"] == "bmc" and data["result"] == "violation"
    assert data["symbolic"]["depth_checked"] == data["violations"][0]["length"]
    replay = explore("replay", tmp_path / "out" / "consistent.json", env=env)
    assert replay.code == 12 and "still violates consistent" in replay.out, replay


def test_bmc_on_the_command_line_reports_the_bound_it_proved():
    run = explore(TWOPHASE, "--param", "n=2", "--engine", "bmc", "--depth", "7", "--no-progress")
    assert run.code == 0, run
    assert "no violation in any state reachable in <= 7 steps" in run.out


def test_bmc_without_a_depth_is_a_usage_error():
    with pytest.raises(UsageError, match="--depth"):
        explorer.check(TwoPhase, engine="bmc")
    run = explore(TWOPHASE, "--engine", "bmc")
    assert run.code == 2 and "--depth" in run.err and "Traceback" not in run.err


def test_twophase_maps_to_enumerations_and_bools_one_per_rm():
    sm = SymbolicModel(TwoPhase.build_model({"n": 3}))
    kinds = {leaf.name: leaf.kind for leaf in sm.layout.leaves}
    assert kinds["tm_state"] == "enum" and kinds["rm_state[0]"] == "enum" and kinds["msg_commit"] == "bool"
    assert kinds["tm_prepared[2]"] == "bool" and len(kinds) == 12
    # one path per action and RM (tm_commit and tm_abort take no choice)
    assert sorted({p.action for p in sm.paths}) == sorted(a.name for a in TwoPhase._actions)


class Ledger(explorer.Spec):
    """A counter whose history grows forever: no finite Z3 sort holds the history."""

    def init(self):
        self.x = 0
        self.history = ()

    @action
    def tick(self):
        self.x = (self.x + 1) % 3
        self.history = self.history + (self.x,)

    @invariant
    def small(self):
        return self.x < 3


def test_a_field_without_a_finite_domain_is_refused_with_a_message_naming_it():
    with pytest.raises(SpecError, match="history") as e:
        explorer.check(Ledger, engine="bmc", depth=3)
    assert "explicit engine" in str(e.value)


class Meter(explorer.Spec):
    """An unbounded counter logged into a tuple: the log would hold a symbolic integer."""

    def init(self):
        self.x = 0
        self.log = ()

    @action
    def tick(self):
        self.x = self.x + 1
        self.log = (self.x,)

    @invariant
    def fine(self):
        return True


def test_a_field_that_would_hold_a_symbolic_number_is_refused_with_its_name():
    with pytest.raises(SpecError, match="field log"):
        explorer.check(Meter, engine="bmc", depth=3)
