"""invariants/locks.py on hand-made cases: holders, lease-ordered writes, fencing tokens, overlapping ownership."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from invariants.locks import at_most_one_holder, overlapping_ownership, tokens_increase, writes_in_lease_order


def test_one_holder_or_none_is_mutual_exclusion():
    assert at_most_one_holder({}) is True
    assert at_most_one_holder({"A": True, "B": False}) is True
    assert at_most_one_holder(["A"]) is True


def test_two_holders_are_named_in_the_reason():
    r = at_most_one_holder({"A": True, "B": True, "C": False})
    assert r is not True and "2 clients" in r and "A, B" in r
    assert at_most_one_holder(["B", "A", "B"]) == "2 clients hold the lock at once: A, B"


def test_writes_in_lease_order_accept_serial_histories():
    assert writes_in_lease_order([]) is True
    assert writes_in_lease_order([("A", 1), ("A", 1), ("B", 2), ("C", 4)]) is True
    # the older lease wrote first (maybe after its lease expired), then the newer one: serialisable
    assert writes_in_lease_order([("A", 1), ("B", 2)]) is True


def test_a_stale_write_after_a_newer_leases_write_breaks_mutual_exclusion():
    r = writes_in_lease_order([("B", 2), ("A", 1)])
    assert r is not True
    assert "write 2 by A under lease 1" in r and "B's write under the newer lease 2" in r


def test_the_newest_lease_is_remembered_across_later_writes():
    # once lease 3 wrote, every later write under an older lease is stale, however many writes came between
    r = writes_in_lease_order([("C", 3), ("C", 3), ("B", 2)])
    assert r is not True and "lease 2" in r and "lease 3" in r
    assert writes_in_lease_order([("A", 1), ("C", 3), ("A", 1)]) is not True


def test_fencing_tokens_may_repeat_unless_strict():
    assert tokens_increase([]) is True
    assert tokens_increase([1, 1, 2, 5]) is True
    assert tokens_increase([1, 1], strict=True) == "token 2 is 1 after 1: fencing tokens must strictly increase"
    assert tokens_increase([33, 34, 33]) == "token 3 is 33 after 34: fencing tokens must increase"


def test_overlapping_ownership_uses_half_open_intervals():
    assert overlapping_ownership([("A", 0, 10), ("B", 10, 20)]) == []
    assert overlapping_ownership([("A", 0, 10.5), ("B", 10, 20)]) == [("A", "B")]
    assert overlapping_ownership([("A", 0, None), ("B", 30, 31)]) == [("A", "B")]  # A never released
    assert overlapping_ownership([("A", 0, 5), ("A", 3, 8)]) == []  # one client with itself is fine


@given(st.lists(st.integers(1, 4), max_size=8))
def test_lease_order_is_the_same_as_non_decreasing_leases(leases):
    writes = [(f"c{x}", x) for x in leases]
    assert (writes_in_lease_order(writes) is True) == (leases == sorted(leases))
    assert (tokens_increase(leases) is True) == (leases == sorted(leases))
