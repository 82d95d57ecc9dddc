"""Induction (`--engine induction`): TwoPhase's invariant is proved with the usual strengthening, and
without it Z3 returns a counterexample to induction, shown like any trace but marked unreachable.
"""
from __future__ import annotations

import json

import pytest

import explorer
from explorer import invariant
from explorer.symbolic.engine import CTI_NOTE
from explorer.trace.text import render_text
from specs.lamport_twophase import TwoPhase

from .conftest import TWOPHASE, explore, state_graph


class StrengthenedTwoPhase(TwoPhase):
    """TwoPhase with the auxiliary invariants that make `consistent` inductive (each is itself true)."""

    @invariant
    def commit_msg_means_tm_committed(self):
        return not self.msg_commit or self.tm_state == "committed"

    @invariant
    def abort_msg_means_tm_aborted(self):
        return not self.msg_abort or self.tm_state == "aborted"

    @invariant
    def tm_commits_only_when_all_prepared(self):
        return self.tm_state != "committed" or all(self.tm_prepared.values())

    @invariant
    def tm_knows_only_what_was_sent(self):
        return all(self.msg_prepared[r] for r in self.rms() if self.tm_prepared[r])

    @invariant
    def a_prepared_message_means_the_rm_left_working(self):
        return all(self.rm_state[r] != "working" for r in self.rms() if self.msg_prepared[r])

    @invariant
    def a_prepared_rm_aborts_only_on_the_abort_message(self):
        return all(self.msg_abort for r in self.rms() if self.msg_prepared[r] and self.rm_state[r] == "aborted")

    @invariant
    def committed_rms_got_the_commit_message(self):
        return all(self.msg_commit for r in self.rms() if self.rm_state[r] == "committed")


@pytest.mark.parametrize("n", [2, 3, 5])
def test_induction_proves_twophase_consistent_with_the_usual_strengthening(n):
    r = explorer.check(StrengthenedTwoPhase, params={"n": n}, engine="induction")
    assert r.result == "ok" and r.violations == [], [v.trace and render_text(v.trace) for v in r.violations]
    assert r.symbolic["proved"] is True and r.symbolic["k"] == 1
    assert "consistent" in r.symbolic["invariants"]


def test_the_strengthening_invariants_hold_in_every_reachable_state():
    assert explorer.check(StrengthenedTwoPhase, params={"n": 3}).result == "ok"


def test_consistent_alone_is_not_inductive_and_the_counterexample_to_induction_shows_why():
    r = explorer.check(TwoPhase, params={"n": 3}, engine="induction")
    assert r.result == "violation" and r.exit_code == 12
    [v] = r.violations
    assert (v.property, v.kind, v.length) == ("consistent", "not_inductive", 1)
    t = v.trace
    model = TwoPhase.build_model({"n": 3})
    start = tuple(t.initial[f] for f in model.fields)
    after = tuple(t.final[f] for f in model.fields)
    # it starts from a state that satisfies the invariant, and its one step breaks it ...
    assert all(res.holds for _, res in model.check_invariants(start))
    assert not all(res.holds for _, res in model.check_invariants(after))
    # ... a state no run from the initial state reaches
    reachable = explorer.check(TwoPhase, params={"n": 3})
    assert reachable.result == "ok"
    assert CTI_NOTE in t.notes and "NOT reachable" in render_text(t)


def test_k_induction_needs_a_larger_k_for_the_weak_invariant_but_stays_sound():
    r = explorer.check(TwoPhase, params={"n": 2}, engine="induction", depth=3)
    assert r.result == "violation" and r.violations[0].kind == "not_inductive"
    assert r.violations[0].length == 3


def test_induction_finds_a_real_violation_in_its_base_case():
    class Broken(TwoPhase):
        @invariant
        def nobody_starts_working(self):
            return "working" not in self.rm_state.values()

    r = explorer.check(Broken, params={"n": 2}, engine="induction")
    [v] = r.violations
    assert (v.property, v.kind, v.length) == ("nobody_starts_working", "invariant", 0)


def test_induction_on_the_command_line_prints_and_saves_the_counterexample_to_induction(tmp_path):
    run = explore(TWOPHASE, "--param", "n=2", "--engine", "induction", "--out", tmp_path, "--json", "--no-progress")
    assert run.code == 12, run
    data = json.loads(run.out)
    assert data["engine"] == "induction" and data["symbolic"]["proved"] is False
    [v] = data["violations"]
    assert (v["property"], v["kind"], v["length"]) == ("consistent", "not_inductive", 1)
    saved = json.loads((tmp_path / "consistent.json").read_text())
    assert saved["kind"] == "not_inductive" and any("NOT reachable" in n for n in saved["notes"])
    text = explore(TWOPHASE, "--param", "n=2", "--engine", "induction", "--no-progress")
    assert "counterexample to induction" in text.out and "NOT reachable from an initial state" in text.out


AUX = [name for name, f in vars(StrengthenedTwoPhase).items() if callable(f) and not name.startswith("_")]


@pytest.mark.parametrize("drop", AUX)
def test_each_auxiliary_invariant_is_needed_dropping_it_gives_a_genuine_counterexample_to_induction(drop):
    weak = type(f"Without_{drop}", (TwoPhase,), {n: vars(StrengthenedTwoPhase)[n] for n in AUX if n != drop})
    r = explorer.check(weak, params={"n": 2}, engine="induction")
    assert r.result == "violation" and r.symbolic["proved"] is False
    [v] = r.violations
    assert v.kind == "not_inductive" and v.length == 1
    model = weak.build_model({"n": 2})
    start = tuple(v.trace.initial[f] for f in model.fields)
    after = tuple(v.trace.final[f] for f in model.fields)
    assert all(res.holds for _, res in model.check_invariants(start))  # the weakened invariant holds ...
    assert not dict(model.check_invariants(after))[v.property].holds  # ... and one step breaks it
    assert after in {nxt for nxt, _ in model.successors(start)}  # by a real step of the spec
    reachable = state_graph(weak, {"n": 2}).states  # an independent BFS: the start is not reachable
    assert model.as_dict(start) not in reachable
