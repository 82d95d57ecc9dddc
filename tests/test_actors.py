"""The actor layer's semantics, on protocols small enough to count by hand.

Each protocol below is a few nodes exchanging one or two messages; `state_graph` (conftest) lists
every reachable state with the tests' own BFS, and `explorer.check` runs the real engine.
"""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import explorer
from explorer import Message, Node, Protocol, action_invariant, durable, invariant, on, reachable, require, timer
from explorer.actors.faults import KINDS, format_faults, parse_faults, partitions
from explorer.errors import UsageError

from .conftest import state_graph


class M(Message):
    v: int


class Receiver(Node):
    got = ()  # the values received, in order

    @on(M)
    def got_m(self, msg, sender):
        self.got = self.got + (msg.v,)


class SendsOneAndTwo(Node):
    def on_start(self):
        self.send("b", M(1))
        self.send("b", M(2))


class SendsOne(Node):
    def on_start(self):
        self.send("b", M(1))


class TwoMessages(Protocol):
    """a sends M(1) then M(2) to b."""

    def nodes(self):
        return {"a": SendsOneAndTwo(), "b": Receiver()}

    def got(self):
        return self.node("b").got

    @reachable
    def in_order(self):
        return self.got() == (1, 2)

    @reachable
    def reversed_order(self):
        return self.got() == (2, 1)


class FifoTwoMessages(TwoMessages):
    fifo = True


def test_an_unordered_network_delivers_two_messages_in_either_order():
    g = state_graph(TwoMessages)
    assert sorted(s["b.got"] for s in g.states) == [(), (1,), (1, 2), (2,), (2, 1)]
    r = explorer.check(TwoMessages)
    assert r.result == "ok"  # both witnesses found
    assert (r.distinct_states, r.transitions) == (5, 4)


def test_a_fifo_network_keeps_the_order_of_one_channel():
    g = state_graph(FifoTwoMessages)
    assert sorted(s["b.got"] for s in g.states) == [(), (1,), (1, 2)]
    r = explorer.check(FifoTwoMessages)
    assert [(v.property, v.kind) for v in r.violations] == [("reversed_order", "unreachable")]


class SendsTwo(Node):
    def on_start(self):
        self.send("b", M(2))


class TwoChannels(Protocol):
    """a sends M(1) to b, c sends M(2) to b: two channels, so even FIFO allows both orders."""

    fifo = True

    def nodes(self):
        return {"a": SendsOne(), "b": Receiver(), "c": SendsTwo()}


def test_a_fifo_network_lets_different_channels_interleave():
    g = state_graph(TwoChannels)
    assert {(1, 2), (2, 1)} <= {s["b.got"] for s in g.states}


class OneMessage(Protocol):
    """a sends M(1) to b once."""

    def nodes(self):
        return {"a": SendsOne(), "b": Receiver()}

    def done(self):
        return not self.in_flight()

    @reachable
    def delivered_twice(self):
        return self.node("b").got == (1, 1)

    @reachable
    def lost(self):
        return self.done() and self.node("b").got == ()


class OneOfTwo(TwoMessages):
    @invariant
    def at_most_one_lost(self):
        return not (not self.in_flight() and self.got() == ())

    @reachable
    def exactly_one_lost(self):
        return not self.in_flight() and len(self.got()) == 1

    def in_order(self):  # not witnesses here
        pass

    def reversed_order(self):
        pass


def test_loss_drops_a_message():
    g = state_graph(OneMessage, faults="loss=1")
    assert [s for s in g.states if s["b.got"] == () and not s["network"]]  # gone, and b never got it
    assert "loss" in g.kinds()


def test_a_loss_budget_of_one_drops_at_most_one_message():
    one = explorer.check(OneOfTwo, faults="loss=1")
    assert one.result == "ok"  # exactly one lost: reachable; both lost: never
    two = explorer.check(OneOfTwo, faults="loss=2")
    [v] = two.violations
    assert v.property == "at_most_one_lost" and v.length == 2
    assert [s.info["kind"] for s in v.trace.steps] == ["loss", "loss"]


def test_without_faults_no_message_is_lost_or_duplicated():
    g = state_graph(OneMessage)
    assert sorted(s["b.got"] for s in g.states) == [(), (1,)]
    assert g.kinds() == {"deliver"}


def test_dup_delivers_a_message_twice():
    g = state_graph(OneMessage, faults="dup=1")
    assert sorted({s["b.got"] for s in g.states}) == [(), (1,), (1, 1)]
    assert "dup" in g.kinds()


def test_a_dup_budget_bounds_the_copies():
    g = state_graph(OneMessage, faults="dup=2")
    assert max(len(s["b.got"]) for s in g.states) == 3


class Worker(Node):
    log = durable(0)  # survives a crash
    scratch = 0  # lost on a crash
    restarts = durable(0)

    @timer
    def work(self):
        require(self.scratch == 0)
        self.scratch = 7
        self.log = 7

    def on_restart(self):
        self.restarts += 1


class OneWorker(Protocol):
    def nodes(self):
        return {"w": Worker()}

    @invariant
    def a_crashed_node_kept_only_durable_fields(self):
        w = self.node("w")
        return not (w.crashed and w.scratch != 0)

    @reachable
    def crashed_after_work(self):
        w = self.node("w")
        return w.crashed and w.log == 7 and w.scratch == 0

    @action_invariant
    def a_crashed_node_does_nothing(self, before, label):
        b, a = before.node("w"), self.node("w")
        return not (b.crashed and a.crashed) or (a.log, a.scratch) == (b.log, b.scratch)


def test_a_crash_resets_plain_fields_and_keeps_durable_ones():
    g = state_graph(OneWorker, faults="crash=1")
    crashed = [s for s in g.states if "w" in s["crashed"]]
    assert crashed and all(s["w.scratch"] == 0 for s in crashed)
    assert {s["w.log"] for s in crashed} == {0, 7}  # crashed before or after the work
    r = explorer.check(OneWorker, faults="crash=1")
    assert r.result == "ok"


def test_a_restart_runs_on_restart_with_the_durable_fields():
    g = state_graph(OneWorker, faults="crash=1")
    restarted = [s for s in g.states if s["w.restarts"] == 1]
    assert restarted and all("w" not in s["crashed"] for s in restarted)
    assert {(s["w.log"], s["w.scratch"]) for s in restarted} >= {(7, 0), (7, 7)}  # it may work again
    assert max(s["w.restarts"] for s in g.states) == 1  # crash=1: one crash, so one restart


def test_without_crash_faults_a_node_never_restarts():
    g = state_graph(OneWorker)
    assert {s["w.restarts"] for s in g.states} == {0}
    assert g.kinds() == {"timer"}


class Keeper(Receiver):
    got = durable(())  # what b received survives its crash: only the network can lose the message


class Silent(Protocol):
    """a sends M(1) to b, which keeps what it got across a crash."""

    def nodes(self):
        return {"a": SendsOne(), "b": Keeper()}

    @invariant
    def b_gets_the_message(self):
        return bool(self.in_flight()) or self.node("b").got == (1,)


def test_a_message_to_a_crashed_node_is_lost():
    r = explorer.check(Silent, faults="crash=1")
    [v] = r.violations
    kinds = [s.info["kind"] for s in v.trace.steps]
    assert kinds == ["crash", "drop"]
    assert v.trace.steps[1].info["dst"] == "b"
    assert v.trace.final["b.got"] == ()


class Pair(Protocol):
    """a sends M(1) to b; the only partition is {a} | {b}."""

    def nodes(self):
        return {"a": SendsOne(), "b": Receiver()}

    @action_invariant
    def nothing_crosses_the_cut(self, before, label):
        if before.partition is None:
            return True
        return self.node("b").got == before.node("b").got


def test_a_partition_blocks_delivery_across_the_cut_until_heal():
    g = state_graph(Pair, faults="partition=1")
    cut = g.index(partition=frozenset({frozenset({"a"}), frozenset({"b"})}), **{"b.got": ()})
    assert cut, "a state with the partition up and the message in flight is reachable"
    for i in cut:
        assert {s.info["kind"] for s in g.steps_from(i)} == {"heal"}
    healed = g.index(partition=None, **{"b.got": ()})
    healed = [i for i in healed if g.states[i]["faults_left"]["partition"] == 0]
    assert healed and all("deliver" in {s.info["kind"] for s in g.steps_from(i)} for i in healed)
    assert explorer.check(Pair, faults="partition=1").result == "ok"


class Quiet(Node):
    pass


def _quiet(n: int, family: str) -> type[Protocol]:
    class QuietNodes(Protocol):
        partition_family = family

        def nodes(self):
            return {f"n{i}": Quiet() for i in range(n)}

    return QuietNodes


@pytest.mark.parametrize("n, family, count", [(2, "any", 1), (3, "any", 3), (4, "any", 7), (5, "any", 15),
                                              (3, "isolate_one", 3), (4, "isolate_one", 4),
                                              (5, "isolate_one", 5), (4, "majority", 4)])
def test_partition_families_offer_the_expected_partitions(n, family, count):
    ps = partitions([f"n{i}" for i in range(n)], family)
    assert len(ps) == len(set(ps)) == count
    for p in ps:
        a, b = sorted(p, key=sorted)
        assert a and b and not a & b and len(a | b) == n
    if family == "isolate_one":
        assert all(min(len(b) for b in p) == 1 for p in ps)
    # In the explorer: init, one state per partition, and the healed state (budget spent).
    r = explorer.check(_quiet(n, family), faults="partition=1")
    assert (r.distinct_states, r.transitions) == (count + 2, 2 * count)


@given(st.integers(2, 8))
def test_any_bipartition_of_n_nodes_is_one_of_2_to_the_n_minus_1_minus_1(n):
    assert len(partitions([f"n{i}" for i in range(n)], "any")) == 2 ** (n - 1) - 1


def test_faults_all_switches_on_every_kind_with_budget_one():
    assert parse_faults("all") == {"loss": 1, "dup": 1, "partition": 1, "crash": 1}
    g = state_graph(OneMessage, faults="all")
    assert g.kinds() >= {"deliver", "loss", "dup", "partition", "heal", "crash", "restart", "drop"}
    r = explorer.check(OneMessage, faults="all")
    assert r.faults == "loss=1,dup=1,partition=1,crash=1"
    assert r.result == "ok"


def test_faults_none_and_empty_mean_no_faults():
    assert parse_faults(None) == parse_faults("") == parse_faults("none") == {}
    assert state_graph(OneMessage, faults="none").kinds() == {"deliver"}


@given(st.dictionaries(st.sampled_from([k for k in KINDS if k != "restart"]), st.integers(1, 5), min_size=1))
def test_a_fault_budget_reads_back_from_its_text(budget):
    text = format_faults(budget)
    assert parse_faults(text) == budget
    assert parse_faults(" , ".join(f"{k} = {v}" for k, v in budget.items())) == budget


@pytest.mark.parametrize("text, words", [("boom=1", ["boom"]), ("loss=x", ["loss=x", "whole number"]),
                                         ("loss=-1", ["loss=-1"]), ("loss=1,crash", []), ])
def test_a_bad_fault_string_is_a_usage_error_naming_the_bad_part(text, words):
    if not words:  # a bare kind means budget 1
        assert parse_faults(text) == {"loss": 1, "crash": 1}
        return
    with pytest.raises(UsageError) as e:
        parse_faults(text)
    assert all(w in str(e.value) for w in words)
