"""The invariants library on hand-made histories and event sets, and the linearizability search
against a brute-force reference (every permutation) on random small histories."""
from __future__ import annotations

from itertools import permutations

from hypothesis import given, settings
from hypothesis import strategies as st

from invariants import agreement, atomicity, mutual_exclusion
from invariants.clocks import Event, clock_condition, happens_before, lamport_converse, vector_clocks_exact, vector_less
from invariants.history import (
    Op,
    convergence,
    find_linearization,
    linearizable,
    monotonic_reads,
    no_stale_reads,
    read_your_writes,
    register_step,
    sequentially_consistent,
)


def W(client, value, invoke, ret):  # noqa: N802 - reads like the history notation
    return Op(client, "write", value, invoke, ret, None)


def R(client, value, invoke, ret):  # noqa: N802
    return Op(client, "read", None, invoke, ret, value)


def CAS(client, expected, new, ok, invoke, ret):  # noqa: N802
    return Op(client, "cas", (expected, new), invoke, ret, ok)


# ---------------------------------------------------------------------- the first three


def test_atomicity_agreement_and_mutual_exclusion_on_hand_cases():
    assert atomicity(["committed", "committed", "working"])
    assert not atomicity(["committed", "aborted"])
    assert agreement([None, 1, 1]) and not agreement([1, 2])
    assert mutual_exclusion([False, True, False]) and not mutual_exclusion([True, True])


# ---------------------------------------------------------------------- linearizability


def test_a_read_after_a_completed_write_must_see_it():
    assert linearizable([W("a", 1, 1, 2), R("b", 1, 3, 4)]) is True
    verdict = linearizable([W("a", 1, 1, 2), R("b", None, 3, 4)])
    assert verdict.startswith("not linearizable") and "a write(1) [1,2]" in verdict and "b read()->None [3,4]" in verdict


def test_a_read_concurrent_with_a_write_may_see_either_value():
    assert linearizable([W("a", 1, 1, 4), R("b", None, 2, 3)]) is True
    assert linearizable([W("a", 1, 1, 4), R("b", 1, 2, 3)]) is True


def test_new_then_old_inversion_between_two_readers_is_not_linearizable():
    # the write is still running, yet b saw 1 and c, starting after b returned, saw the old value
    h = [W("a", 1, 1, 10), R("b", 1, 2, 3), R("c", 0, 4, 5)]
    assert linearizable(h, init=0) != True  # noqa: E712 - a string means a violation
    assert sequentially_consistent(h, init=0) is True  # without real time, c's read may go first


def test_the_offending_subhistory_leaves_out_operations_the_anomaly_does_not_need():
    h = [R("x", 0, 1, 2), W("a", 1, 3, 4), W("z", 5, 20, 21), R("b", 0, 5, 6)]
    verdict = linearizable(h, init=0)
    assert "write(5)" not in verdict and "x read" not in verdict
    assert verdict == "not linearizable: a write(1) [3,4]; b read()->0 [5,6]"


def test_a_pending_write_may_or_may_not_have_taken_effect():
    assert linearizable([W("a", 1, 1, None), R("b", 1, 2, 3)], init=0) is True
    assert linearizable([W("a", 1, 1, None), R("b", 0, 2, 3)], init=0) is True
    # but once seen, it has taken effect: a later read cannot go back
    assert linearizable([W("a", 1, 1, None), R("b", 1, 2, 3), R("b", 0, 4, 5)], init=0) != True  # noqa: E712


def test_compare_and_set_results_must_match_the_register():
    assert linearizable([CAS("a", 0, 1, True, 1, 2), R("b", 1, 3, 4)], init=0) is True
    assert linearizable([CAS("a", 0, 1, True, 1, 2), CAS("b", 0, 2, True, 3, 4)], init=0) != True  # noqa: E712
    # two concurrent CAS(0 -> x): exactly one may succeed
    assert linearizable([CAS("a", 0, 1, True, 1, 4), CAS("b", 0, 2, False, 2, 3)], init=0) is True
    assert linearizable([CAS("a", 0, 1, True, 1, 4), CAS("b", 0, 2, True, 2, 3)], init=0) != True  # noqa: E712


def test_the_linearization_found_is_an_order_the_register_accepts():
    h = [W("a", 1, 1, 5), W("b", 2, 2, 6), R("c", 1, 7, 8), R("d", 1, 3, 9)]
    order = find_linearization(h, init=0)
    assert order is not None and set(order) == set(h)
    assert order.index(h[1]) < order.index(h[0])  # b's write must come before a's for c to read 1


def test_sequential_consistency_keeps_each_clients_order():
    h = [W("a", 1, 1, 2), R("a", 0, 3, 4)]  # a client must read its own earlier write
    assert sequentially_consistent(h, init=0) != True  # noqa: E712
    assert sequentially_consistent([W("a", 1, 1, 2), R("b", 0, 3, 4)], init=0) is True


def brute_force_linearizable(history, init, real_time=True):
    """The definition, naively: some order of the completed ops plus some subset of the pending writes."""
    done = [op for op in history if op.ret is not None]
    pending = [op for op in history if op.ret is None and op.kind != "read"]
    for mask in range(1 << len(pending)):
        chosen = done + [p for i, p in enumerate(pending) if mask >> i & 1]
        for order in permutations(chosen):
            pos = {id(op): k for k, op in enumerate(order)}
            if real_time and any(b.ret is not None and b.ret < a.invoke and pos[id(b)] > pos[id(a)]
                                 for a in chosen for b in chosen):
                continue
            if not real_time and any(a.client == b.client and b.invoke < a.invoke and pos[id(b)] > pos[id(a)]
                                     for a in chosen for b in chosen):
                continue
            state, ok = init, True
            for op in order:
                good, state = register_step(state, op)
                ok = ok and good
            if ok:
                return True
    return False


@st.composite
def histories(draw):
    """Up to 5 operations of up to 3 sequential clients on a register of values 0..2."""
    n = draw(st.integers(1, 5))
    clock = 0
    ops, busy = [], {}
    events = []
    for k in range(n):
        c = draw(st.sampled_from("abc"))
        kind = draw(st.sampled_from(["read", "write", "cas"]))
        events.append((c, kind, k))
    # each client runs its ops one after another; interleave the invoke/return events at random
    per_client = {}
    for c, kind, k in events:
        per_client.setdefault(c, []).append((kind, k))
    cursors = {c: 0 for c in per_client}
    while any(cursors[c] < len(per_client[c]) for c in per_client) or busy:
        movable = [c for c in per_client if c in busy or cursors[c] < len(per_client[c])]
        c = draw(st.sampled_from(sorted(movable)))
        clock += 1
        if c in busy:
            kind, arg, inv = busy.pop(c)
            if draw(st.integers(0, 9)) == 0 and cursors[c] == len(per_client[c]):
                ops.append(Op(c, kind, arg, inv, None, None))  # never returns
                continue
            result = None if kind == "write" else draw(st.integers(0, 2)) if kind == "read" else draw(st.booleans())
            ops.append(Op(c, kind, arg, inv, clock, result))
        else:
            kind, _ = per_client[c][cursors[c]]
            cursors[c] += 1
            arg = None if kind == "read" else draw(st.integers(0, 2)) if kind == "write" else (
                draw(st.integers(0, 2)), draw(st.integers(0, 2)))
            busy[c] = (kind, arg, clock)
    return ops


@settings(max_examples=300, deadline=None)
@given(histories())
def test_linearizability_search_agrees_with_trying_every_order(h):
    assert (linearizable(h, init=0) is True) == brute_force_linearizable(h, 0)


@settings(max_examples=300, deadline=None)
@given(histories())
def test_sequential_consistency_search_agrees_with_trying_every_order(h):
    assert (sequentially_consistent(h, init=0) is True) == brute_force_linearizable(h, 0, real_time=False)


@settings(max_examples=200, deadline=None)
@given(histories())
def test_every_linearizable_history_is_sequentially_consistent(h):
    if linearizable(h, init=0) is True:
        assert sequentially_consistent(h, init=0) is True


def test_an_unknown_operation_is_named_in_the_error():
    try:
        linearizable([Op("a", "incr", 1, 1, 2, None)])
    except ValueError as e:
        assert "incr" in str(e)
    else:
        raise AssertionError("an unknown operation must raise")


# ---------------------------------------------------------------------- session guarantees


def test_read_your_writes_fails_when_a_session_reads_an_older_version_than_it_wrote():
    assert read_your_writes([W("s", 1, 1, 2)._replace(result=1), R("s", 1, 3, 4)]) is True
    assert read_your_writes([W("s", 1, 1, 2)._replace(result=1), R("s", 2, 3, 4)]) is True  # newer is fine
    bad = read_your_writes([W("s", 1, 1, 2)._replace(result=1), R("s", 0, 3, 4)])
    assert bad.startswith("s read an older version")
    assert read_your_writes([W("s", 1, 1, 2)._replace(result=1), R("t", 0, 3, 4)]) is True  # another session


def test_monotonic_reads_fails_when_a_session_goes_back_in_time():
    assert monotonic_reads([R("s", 1, 1, 2), R("s", 2, 3, 4)]) is True
    assert monotonic_reads([R("s", 2, 1, 2), R("s", 1, 3, 4)]).startswith("s read a newer version")
    assert monotonic_reads([R("s", 2, 1, 2), R("t", 1, 3, 4)]) is True
    # versions may be LWW timestamps (counter, replica): compared as tuples
    assert monotonic_reads([R("s", (1, "r2"), 1, 2), R("s", (1, "r1"), 3, 4)]) != True  # noqa: E712


def test_no_stale_reads_counts_only_writes_completed_before_the_read():
    w = W("a", 1, 1, 2)._replace(result=1)
    assert no_stale_reads([w, R("b", 0, 3, 4)]).startswith("stale read")
    assert no_stale_reads([w, R("b", 0, 2, 4)._replace(invoke=2)]) is True  # started before the write returned
    assert no_stale_reads([w, R("b", 1, 3, 4)]) is True


def test_convergence_is_only_required_once_quiescent():
    assert convergence({"r1": 1, "r2": 2}, quiescent=False) is True
    assert convergence({"r1": 1, "r2": 1}, quiescent=True) is True
    assert convergence({"r1": 1, "r2": 2}, quiescent=True).startswith("quiescent, yet replicas differ")


# ---------------------------------------------------------------------- clocks


def lamport_run():
    """p1: local(1), send m(2); p2: local(1), receive m(3); p3: local(1). Hand-computed clocks."""
    return [
        Event("p1", 1, "local", None, 1, (1, 0, 0)),
        Event("p1", 2, "send", "m", 2, (2, 0, 0)),
        Event("p2", 1, "local", None, 1, (0, 1, 0)),
        Event("p2", 2, "receive", "m", 3, (2, 2, 0)),
        Event("p3", 1, "local", None, 1, (0, 0, 1)),
    ]


def test_happens_before_is_program_order_and_messages_closed_transitively():
    hb = happens_before(lamport_run())
    assert hb == {(("p1", 1), ("p1", 2)), (("p1", 1), ("p2", 2)), (("p1", 2), ("p2", 2)), (("p2", 1), ("p2", 2))}


def test_correct_clocks_satisfy_the_clock_condition_and_vectors_are_exact():
    assert clock_condition(lamport_run()) is True
    assert vector_clocks_exact(lamport_run()) is True


def test_lamport_clocks_order_concurrent_events():
    verdict = lamport_converse(lamport_run())
    assert "concurrent" in verdict  # p2.1 (L=1) and p1.2 (L=2) are concurrent, yet 1 < 2


def test_a_receive_that_does_not_advance_past_the_message_breaks_the_clock_condition():
    run = lamport_run()
    run[3] = run[3]._replace(lamport=2, vector=(1, 2, 0))
    assert clock_condition(run) != True  # noqa: E712
    assert vector_clocks_exact(run) != True  # noqa: E712


def test_vector_less_is_the_pointwise_strict_order():
    assert vector_less((1, 0), (1, 1)) and not vector_less((1, 1), (1, 1)) and not vector_less((2, 0), (0, 1))
