"""Coverage counted by the batched engine (coverage.CoveringBatchSearch) against the interpreted one
(coverage.CountingModel): the same units enabled and taken, the same @reachable witnessed, on plain
and actor catalog specs; so the gate may run them on the batched engine (raft's vote_rule=seed:
~40 s of CPU interpreted).
"""
from __future__ import annotations

import pytest

from explorer.api import load_model
from explorer.coverage import CountingModel, CoveringBatchSearch
from explorer.dsl.expect import holds
from explorer.engine.options import Options
from explorer.engine.search import Search
from explorer.gate import run_check

from .conftest import ROOT

SPECS = ROOT / "specs"

CASES = [  # (spec, params, faults, depth), each about a second on both engines
    ("lamport_twophase.py", {"n": 3}, None, None),
    ("paxos.py", {}, None, 5),
    ("raft.py", {}, None, 6),
    ("quorum.py", {}, None, None),
    ("eventual.py", {}, None, 5),
    ("clocks.py", {}, None, 5),
    # actor specs: units are handlers and timers; a duplicated delivery counts for its handler and "duplicate"
    ("twopc.py", {"n": 2}, "loss=1,dup=1", None),
    ("twopc.py", {"n": 2}, "crash=1", None),
    ("threepc.py", {}, "crash=1", 6),
    ("cap.py", {}, "partition=1", 6),
]


def _both(spec: str, params: dict, faults, depth):
    model, _ = load_model(str(SPECS / spec), dict(params), faults)
    counting = CountingModel(model)
    ri = Search(counting, Options(depth=depth, backend="interp")).run()
    model, _ = load_model(str(SPECS / spec), dict(params), faults)
    search = CoveringBatchSearch(model, Options(depth=depth))
    rb = search.run()
    return (ri, counting.coverage), (rb, search.coverage())


@pytest.mark.parametrize("spec, params, faults, depth", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_the_batched_engine_counts_the_coverage_the_interpreted_engine_counts(spec, params, faults, depth):
    (ri, ci), (rb, cb) = _both(spec, params, faults, depth)
    assert rb.backend == "batch" and ri.backend != "batch"  # a real comparison: no silent fallback
    assert (rb.distinct_states, rb.transitions) == (ri.distinct_states, ri.transitions)
    assert cb.units == ci.units and cb.as_dict() == ci.as_dict()
    assert +cb.taken == +ci.taken and +cb.enabled == +ci.enabled  # units outside the declared list too
    # taken adds up to the engine's own count (a duplicated delivery counts for its handler and "duplicate")
    assert sum(ci.taken.values()) - ci.taken["duplicate"] == ri.transitions
    assert (cb.reachables, cb.witnessed) == (ci.reachables, ci.witnessed)
    assert cb.never_enabled() == ci.never_enabled() and cb.unwitnessed() == ci.unwitnessed()
    assert all(ci.enabled[u] <= ri.distinct_states for u in ci.units)


def test_a_depth_bound_that_hides_an_action_and_a_witness_shows_on_both_engines():
    # raft within 2 steps: no leader yet, so no append; the @reachable witnesses lie deeper
    (ri, ci), (rb, cb) = _both("raft.py", {}, None, 2)
    assert rb.backend == "batch"
    assert cb.as_dict() == ci.as_dict() and ci.never_enabled() and cb.never_enabled() == ci.never_enabled()
    assert cb.unwitnessed() == ci.unwitnessed()


def test_the_gate_runs_a_plain_spec_on_the_batched_engine_and_judges_it_by_that_coverage(write_spec):
    path = write_spec('''
        from explorer import Spec, action, invariant, require

        class Door(Spec):
            def init(self):
                self.open = False
                self.locked = False

            @action
            def toggle(self):
                require(not self.locked)
                self.open = not self.open

            @action
            def lock(self):
                require(not self.open and not self.locked)
                self.locked = True

            @action
            def pick(self):
                require(self.locked and self.open)  # never: a locked door is shut
                self.locked = False

            @invariant
            def locked_is_shut(self):
                return not (self.locked and self.open)
        ''', name="door.py")
    o = run_check(path, "Door", holds())
    assert o.result.backend == "batch" and not o.passed and "never enabled: pick" in o.message, o.message
    # (open, locked): shut (F, F) -toggle-> (T, F) -toggle-> (F, F); (F, F) -lock-> (F, T), where nothing is enabled
    assert o.coverage.as_dict() == {"toggle": {"enabled": 2, "taken": 2}, "lock": {"enabled": 1, "taken": 1},
                                    "pick": {"enabled": 0, "taken": 0}}
    bounded = run_check(path, "Door", holds(max_states=2))  # may stop mid-level: the interpreted engine
    assert bounded.result.backend != "batch"


@pytest.mark.slow
def test_the_gate_checks_raft_vote_rule_seed_on_the_batched_engine():
    from explorer.dsl.loader import load_module, spec_classes

    [raft] = [c for c in spec_classes(load_module(SPECS / "raft.py")) if c.__name__ == "Raft"]
    [check] = [c for c in raft.checks if c.name == "vote_rule=seed"]  # the gate's own check
    o = run_check(SPECS / "raft.py", "Raft", check)
    assert o.result.backend == "batch" and o.passed, o.message
    assert o.result.complete and not o.coverage.never_enabled()
