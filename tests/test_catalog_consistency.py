"""The consistency specs of the catalog (quorum, eventual, cap): verdicts, counterexample lengths and
state counts of the tiniest configurations, worked out by hand."""
from __future__ import annotations

import pytest

import explorer
from tests.conftest import SPECS

QUORUM, EVENTUAL, CAP = SPECS / "quorum.py", SPECS / "eventual.py", SPECS / "cap.py"


def violated(result):
    return [v.property for v in result.violations]


@pytest.mark.parametrize("n,r,w", [(n, r, w) for n in (1, 2, 3) for r in range(1, n + 1) for w in range(1, n + 1)])
def test_a_quorum_read_sees_the_latest_write_exactly_when_r_plus_w_exceeds_n(n, r, w):
    result = explorer.check(QUORUM, params={"n": n, "r": r, "w": w})
    assert (violated(result) == []) == (r + w > n), violated(result)
    assert result.complete or result.violations  # a holding verdict comes from a complete search


def test_one_replica_quorum_has_seven_states_in_a_line():
    # write invoked, Write delivered, Ack delivered (write done), read invoked, Read delivered,
    # Value delivered: one path of 6 steps, so 7 states and 6 transitions
    result = explorer.check(QUORUM, params={"n": 1, "r": 1, "w": 1})
    assert (result.distinct_states, result.transitions, result.depth) == (7, 6, 6)


def test_the_stale_read_at_consistency_level_one_takes_six_steps():
    # start_write, Write to r1, Ack (write done with w=1), start_read, Read to r2, Value(0)
    result = explorer.check(QUORUM, params={"preset": "one"})
    assert violated(result) == ["read_sees_latest_write"]
    assert result.violations[0].length == 6
    assert "stale read" in result.violations[0].reason


def test_sticky_sessions_keep_every_session_guarantee_and_replicas_converge():
    assert violated(explorer.check(EVENTUAL)) == []


def test_any_replica_breaks_read_your_writes_in_six_steps():
    # invoke write at r1, Put delivered, PutOk delivered, invoke read at r2, Get delivered, GetOk delivered
    result = explorer.check(EVENTUAL, params={"variant": "any_replica", "script": ("wr",)})
    assert violated(result) == ["read_your_writes"] and result.violations[0].length == 6


def test_any_replica_breaks_monotonic_reads_in_eight_steps():
    # s1's write reaches r1 (invoke, Put: its PutOk is not needed), s2 reads r1 (invoke, Get, GetOk),
    # then reads r2 (invoke, Get, GetOk): 2 + 3 + 3
    result = explorer.check(EVENTUAL, params={"variant": "any_replica", "script": ("w", "rr")})
    assert violated(result) == ["monotonic_reads"] and result.violations[0].length == 8


def test_a_lost_replication_message_prevents_convergence():
    # invoke, Put at r1, lose Replicate, PutOk: quiescent with r1 != r2
    result = explorer.check(EVENTUAL, params={"script": ("w",)}, faults="loss=1")
    assert violated(result) == ["convergence"] and result.violations[0].length == 4


def test_cap_in_cp_mode_is_linearizable_and_available_without_a_partition():
    result = explorer.check(CAP, params={"script": ("w",)})
    assert violated(result) == [] and result.complete


def test_cap_in_cp_mode_blocks_a_request_in_the_minority():
    result = explorer.check(CAP, params={"script": ("w",)}, faults="partition=1")
    assert violated(result) == ["available"]
    assert result.violations[0].kind == "liveness"


def test_cap_in_ap_mode_reads_stale_data():
    result = explorer.check(CAP, params={"mode": "ap"}, faults="partition=1")
    assert violated(result) == ["linearizable"]
    assert result.violations[0].length == 6  # write at r1 (invoke, deliver, answer), read at r2 (same)


def test_cap_in_ap_mode_stays_available_under_a_partition():
    result = explorer.check(CAP, params={"mode": "ap", "script": ("w", "w")}, faults="partition=1")
    assert violated(result) == [] and result.complete


CLOCKS = SPECS / "clocks.py"


def test_lamport_and_vector_clocks_keep_their_conditions():
    result = explorer.check(CLOCKS)
    assert violated(result) == [] and result.complete


def test_lamport_clocks_order_concurrent_events_in_three_steps():
    # p1 local (L=1), p2 local (L=1), p2 local (L=2): p1.1 and p2.2 are concurrent, yet 1 < 2;
    # two events are never enough (first events tie at 1; otherwise they are causally related)
    result = explorer.check(CLOCKS, params={"variant": "lamport_converse"})
    assert violated(result) == ["lamport_converse"] and result.violations[0].length == 3
    assert "concurrent" in result.violations[0].reason
