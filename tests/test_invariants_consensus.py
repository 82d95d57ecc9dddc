"""invariants/consensus.py on hand-made cases, and against the properties' textbook definitions written
out by brute force (hypothesis draws the logs)."""
from __future__ import annotations

from itertools import combinations

from hypothesis import given
from hypothesis import strategies as st

from invariants.consensus import (
    agreement,
    leader_completeness,
    log_matching,
    prefix_consistency,
    single_leader_per_term,
    state_machine_safety,
    validity,
)

# ---------------------------------------------------------------------- agreement, validity


def test_agreement_ignores_the_undecided_and_names_both_values():
    assert agreement({}) is True
    assert agreement({"l1": None, "l2": None}) is True
    assert agreement({"l1": "a", "l2": None, "l3": "a"}) is True
    msg = agreement({"l1": "a", "l2": "b", "l3": None})
    assert msg is not True and "l1='a'" in msg and "l2='b'" in msg and "l3" not in msg


def test_validity_names_the_value_nobody_proposed():
    assert validity([None, "a"], ["a", "b"]) is True
    assert validity([], []) is True
    msg = validity(["a", "c", "c"], ["a", "b"])
    assert msg is not True and "'c'" in msg and "'a'" not in msg


# ---------------------------------------------------------------------- election safety


def test_one_leader_per_term():
    assert single_leader_per_term([]) is True
    assert single_leader_per_term([(1, 1), (2, 2), (3, 3)]) is True  # stale leaders of older terms are fine
    assert single_leader_per_term([(1, 2), (1, 2)]) is True  # the same server listed twice is one leader
    msg = single_leader_per_term([(1, 1), (3, 2), (2, 2)])
    assert msg is not True and "term 2" in msg and "2, 3" in msg


# ---------------------------------------------------------------------- log matching


def test_log_matching_on_the_papers_figures():
    # Figure 7 style: followers missing entries or holding extra uncommitted ones still match
    assert log_matching({"a": [1, 1, 2], "b": [1, 1], "c": [1, 1, 2, 2], "d": []}) is True
    assert log_matching({"a": [1, 2], "b": [1, 3]}) is True  # they differ at index 2, and no later entry agrees
    assert log_matching({"a": [1], "b": [2]}) is True
    # entry (2, term 2) in both, but index 1 differs: what append_check=False produces
    msg = log_matching({1: (1, 2), 2: (2, 2)})
    assert msg is not True and "index 2" in msg and "term 2" in msg


def test_log_matching_finds_an_early_divergence_behind_a_later_match():
    assert log_matching({"a": [1, 1, 3, 3], "b": [1, 2, 3, 3]}) is not True
    assert log_matching({"a": [1, 1, 3], "b": [1, 2, 2]}) is True  # nothing after index 2 agrees


def matching_by_definition(logs):
    """Two logs with an entry of the same index and term are identical in all entries up to it."""
    return all(a[:k] == b[:k] for a, b in combinations(logs, 2) for k in range(min(len(a), len(b))) if a[k] == b[k])


LOGS = st.lists(st.lists(st.integers(1, 3), max_size=4).map(tuple), max_size=4)


@given(LOGS)
def test_log_matching_agrees_with_its_definition(logs):
    assert (log_matching(dict(enumerate(logs))) is True) == matching_by_definition(logs)


# ---------------------------------------------------------------------- prefixes and state machine safety


def test_prefix_consistency():
    assert prefix_consistency({"a": [], "b": [1], "c": [1, 2]}) is True
    msg = prefix_consistency({"a": [1, 2], "b": [1, 3, 4]})
    assert msg is not True and "diverge" in msg


@given(LOGS)
def test_prefix_consistency_agrees_with_its_definition(logs):
    by_definition = all(a == b[:len(a)] or b == a[:len(b)] for a, b in combinations(logs, 2))
    assert (prefix_consistency(dict(enumerate(logs))) is True) == by_definition


def test_state_machine_safety():
    assert state_machine_safety([]) is True
    assert state_machine_safety([(1, 1), (2, 1), (1, 1)]) is True  # the same entry committed twice is fine
    msg = state_machine_safety([(1, 1), (2, 1), (2, 2)])
    assert msg is not True and "index 2" in msg and "[1, 2]" in msg


# ---------------------------------------------------------------------- leader completeness


def test_leader_completeness_binds_leaders_of_the_commit_term_and_later():
    committed = {(1, 1, 1), (2, 2, 2)}  # index 1 (term 1) committed in term 1, index 2 (term 2) in term 2
    assert leader_completeness(committed, {"s1": (2, [1, 2])}) is True
    assert leader_completeness(committed, {"s1": (3, [1, 2, 3])}) is True
    # a stale leader of term 1 need not hold what term 2 committed
    assert leader_completeness(committed, {"s1": (1, [1])}) is True
    msg = leader_completeness(committed, {"s1": (3, [1, 3])})
    assert msg is not True and "s1" in msg and "index 2" in msg and "term 3" in msg
    assert leader_completeness(committed, {"s2": (3, [1])}) is not True  # too short
    assert leader_completeness(set(), {"s1": (5, [])}) is True
