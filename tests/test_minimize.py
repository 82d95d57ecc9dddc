"""Minimisation (explorer/minimize.py): shortest, then fewest injected faults, then no needless step.

The properties DESIGN section 7 asks for are checked with hypothesis on small specs: a minimised
trace is never longer than the one it came from, still replays and still violates the same property,
and has the fewest faults of any shortest violating path (found here by enumerating every path).
"""
from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import explorer
from explorer import Message, Node, Protocol, Spec, action, invariant, on, param, require
from explorer.engine.paths import replay_trace
from explorer.minimize import fault_count, is_fault, minimize
from explorer.trace.model import Trace

from .conftest import FIXTURES, explore

GRAPH = FIXTURES / "graph.py"


# ---------------------------------------------------------------------- a tiny faulty protocol

class Ping(Message):
    pass


class Ack(Message):
    pass


class Asker(Node):
    done = False

    def on_start(self):
        self.send("b", Ping())

    @on(Ack)
    def got_ack(self, msg, sender):
        self.done = True


class Answerer(Node):
    count = 0

    @on(Ping)
    def got_ping(self, msg, sender):
        self.count += 1
        self.send(sender, Ack())


class Relay(Protocol):
    """`answered`: broken by the normal run (2 steps) and by a dup then a delivery (2 steps, one fault).
    `not_quiet`: broken only by a fault (a loss, or a crash that drops a message)."""

    prop = param("answered", choices=("answered", "not_quiet"))

    def nodes(self):
        return {"a": Asker(), "b": Answerer()}

    @invariant
    def answered(self):
        return self.prop != "answered" or not self.node("a").done

    @invariant
    def not_quiet(self):
        return self.prop != "not_quiet" or self.node("a").done or bool(self.in_flight())


class Silent(Node):
    got = 0

    @on(Ping)
    def got_ping(self, msg, sender):
        self.got += 1


class Pinger(Node):
    def on_start(self):
        self.send("b", Ping())


class OneShot(Protocol):
    """The network empties in one step: by a delivery (no fault) or by a loss (one fault)."""

    def nodes(self):
        return {"a": Pinger(), "b": Silent()}

    @invariant
    def something_in_flight(self):
        return bool(self.in_flight())


FAULTS = "loss=1,dup=1,crash=1"


def _model(cls, params=None, faults=None):
    return cls.build_model(params or {}, faults)


def _violates(model, trace: Trace) -> bool:
    """Replays the trace from its decisions; tells whether its last state breaks its property (and no earlier one)."""
    t, states, failed = replay_trace(model, trace.init_decisions, [(s.action, s.decisions) for s in trace.steps])
    assert failed is None, "the minimised trace does not replay"
    bad = [k for k, s in enumerate(states)
           if any(n == trace.violated and not r.holds for n, r in model.check_invariants(s))]
    return bool(bad) and bad[0] == len(states) - 1


def _fewest_faults_among_shortest(model, prop: str, limit: int = 12) -> tuple[int, int]:
    """(shortest violating length, fewest faults at that length), by enumerating every path: a reference."""
    layer = [(s, 0) for s, _ in model.initial_states()]
    for depth in range(limit + 1):
        bad = [f for s, f in layer if any(n == prop and not r.holds for n, r in model.check_invariants(s))]
        if bad:
            return depth, min(bad)
        layer = [(n, f + is_fault(step.info)) for s, f in layer for n, step in model.successors(s)]
    raise AssertionError("no violation within the limit")


def _walk(model, prop: str, picks: list[int]) -> Trace | None:
    """A random walk steered by `picks`, cut at the first state violating `prop` (None if it never does)."""
    init, init_step = model.initial_states()[0]
    state, steps = init, []
    for p in picks:
        if any(n == prop and not r.holds for n, r in model.check_invariants(state)):
            break
        succs = model.successors(state)
        if not succs:
            return None
        state, step = succs[p % len(succs)]
        steps.append((step.action, step.decisions))
    if not any(n == prop and not r.holds for n, r in model.check_invariants(state)):
        return None
    t, _states, failed = replay_trace(model, init_step.decisions, steps, faults=FAULTS)
    assert failed is None
    t.violated, t.kind = prop, "invariant"
    return t


# ---------------------------------------------------------------------- properties

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prop=st.sampled_from(["answered", "not_quiet"]), picks=st.lists(st.integers(0, 50), min_size=1, max_size=10))
def test_minimisation_never_lengthens_keeps_the_violation_and_has_the_fewest_faults(prop, picks):
    model = _model(Relay, {"prop": prop}, FAULTS)
    raw = _walk(model, prop, picks)
    assume(raw is not None)
    small, report = minimize(model, raw)
    assert small.length <= raw.length
    assert small.violated == prop and _violates(model, small)
    shortest, fewest = _fewest_faults_among_shortest(model, prop)
    assert (small.length, fault_count(small)) == (shortest, fewest)
    assert report.length_after == small.length and report.faults_after == fault_count(small)


@settings(max_examples=40, deadline=None)
@given(chain=st.lists(st.integers(1, 7), min_size=1, max_size=7, unique=True),
       extra=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=20))
def test_a_dfs_trace_on_any_graph_shrinks_to_a_shortest_path(chain, extra):
    path = [0, *chain]
    edges = list(zip(path, path[1:], strict=False)) + extra  # the avoided node is always reachable
    avoid = chain[-1]
    g = nx.DiGraph(edges)
    params = {"edges": tuple(edges), "starts": (0,), "avoid": avoid}
    model = explorer.api.load_model(str(GRAPH), params)[0]
    r = explorer.api.run_model(model, explorer.Options(strategy="dfs"))
    raw = r.violations[0].trace
    small, _ = minimize(model, raw)
    assert small.length <= raw.length
    assert small.length == nx.shortest_path_length(g, 0, avoid)
    assert small.final["at"] == avoid and _violates(model, small)


# ---------------------------------------------------------------------- examples

def test_a_needless_fault_is_replaced_by_a_fault_free_trace_of_the_same_length():
    model = _model(OneShot, faults="loss=1")
    t, _s, failed = replay_trace(model, (), [("lose", (0,))], faults="loss=1")
    assert failed is None and t.steps[0].info["kind"] == "loss"
    t.violated, t.kind = "something_in_flight", "invariant"
    small, report = minimize(model, t, shortest=True)
    assert [s.info["kind"] for s in small.steps] == ["deliver"]
    assert (report.faults_before, report.faults_after) == (1, 0)
    assert any("0 injected faults replaces the engine's 1 steps with 1" in n for n in small.notes)


def test_delta_debugging_removes_steps_that_do_not_matter_and_says_which():
    model = _model(Relay, {"prop": "answered"}, "crash=1")
    # a needless crash and restart of a, then the Ping and the Ack: 4 steps, 2 faults
    steps = [("crash", (0,)), ("restart", (0,)), ("deliver", (0,)), ("deliver", (0,))]
    t, _s, failed = replay_trace(model, (), steps)
    assert failed is None and [s.info["kind"] for s in t.steps] == ["crash", "restart", "deliver", "deliver"]
    t.violated, t.kind = "answered", "invariant"
    # with the fewest-faults search switched off (a 1-state budget), delta debugging does the work alone
    small, report = minimize(model, t, shortest=True, max_states=1)
    assert [s.info["kind"] for s in small.steps] == ["deliver", "deliver"]
    assert report.removed == ["crash a", "restart a"]
    assert "minimised: removed 2 steps that did not matter: crash a; restart a" in small.notes
    assert any("fewest-faults search passed 1 states" in n for n in small.notes)
    assert _violates(model, small)


def test_a_shortest_trace_without_faults_is_returned_as_it_is():
    model = _model(Relay, {"prop": "answered"})
    raw = explorer.api.run_model(model, explorer.Options()).violations[0].trace
    small, report = minimize(model, raw, shortest=True)
    assert [s.label for s in small.steps] == [s.label for s in raw.steps]
    assert small.notes == raw.notes and not report.removed


def test_a_lasso_is_left_alone():
    model = _model(Relay, {"prop": "answered"})
    raw = explorer.api.run_model(model, explorer.Options()).violations[0].trace
    lasso = Trace(**{**raw.__dict__, "loop_start": 1, "kind": "liveness"})
    assert minimize(model, lasso)[0] is lasso


# ---------------------------------------------------------------------- the command line

def test_the_cli_minimises_a_dfs_trace_and_says_so_unless_asked_for_the_raw_trace(tmp_path):
    spec = tmp_path / "ring.py"
    spec.write_text(Path(GRAPH).read_text())
    # DFS goes 0 -> 1 -> 2 -> 3 before it tries 0 -> 4 -> 3
    args = [spec, "--strategy", "dfs", "--param", "edges=((0,1),(1,2),(2,3),(0,4),(4,3))", "--param", "avoid=3"]
    run = explore(*args)
    assert run.code == 12, run
    assert "note: minimised: a trace of 2 steps with 0 injected faults replaces the engine's 3 steps" in run.out
    assert "1. move(4)" in run.out and "2. move(3)" in run.out and "3. move" not in run.out
    raw = explore(*args, "--raw-trace")
    assert raw.code == 12 and "minimised" not in raw.out
    assert "3. move(3)" in raw.out


def test_gate_save_writes_the_minimised_trace(tmp_path):
    out = tmp_path / "cx"
    run = explore("check", FIXTURES / "buggy_counter.py", "--save", out)
    # buggy_counter declares no checks: it must hold, so the gate fails and saves nothing
    assert run.code == 1 and not out.exists()


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_minimised_twopc_keeps_its_crash_and_restart(strategy):
    model = explorer.api.load_model("specs/twopc.py", {"variant": "no_durable_log", "n": 2}, "crash=1")[0]
    raw = explorer.api.run_model(model, explorer.Options(strategy=strategy, backend="interp")).violations[0].trace
    small, _ = minimize(model, raw, shortest=strategy == "bfs")
    kinds = [s.info["kind"] for s in small.steps]
    assert kinds.count("crash") == 1 and kinds.count("restart") == 1
    assert small.length <= raw.length and _violates(model, small)


class Fragile(Spec):
    """`b` raises when run before `a`: a removal that makes a step raise is not a valid removal."""

    def init(self):
        self.x = 0

    @action
    def a(self):
        require(self.x == 0)
        self.x = 1

    @action
    def b(self):
        require(self.x < 2)
        if self.x == 0:
            raise ValueError("b before a")
        self.x = 2

    @invariant
    def small(self):
        return self.x < 2


def test_a_removal_that_makes_a_step_raise_is_skipped_not_reported():
    model = _model(Fragile)
    t, _s, failed = replay_trace(model, (), [("a", ()), ("b", ())])
    assert failed is None
    t.violated, t.kind = "small", "invariant"
    small, report = minimize(model, t, shortest=True)
    assert [s.action for s in small.steps] == ["a", "b"] and not report.removed


def test_several_counterexamples_stay_distinct_after_minimisation():
    from explorer.minimize import last_action_key, minimize_result

    model = _model(Relay, {"prop": "answered"}, "dup=1")
    r = explorer.api.run_model(model, explorer.Options(max_violations=3, backend="interp"))
    before = sorted(last_action_key(v.trace) for v in r.violations)
    assert before == ["deliver Ack", "duplicate Ack"]
    minimize_result(model, r, shortest=True)
    assert sorted(last_action_key(v.trace) for v in r.violations) == before
    # alone, the duplicated Ack gives way to the fault-free delivery of the same length
    dup = next(v.trace for v in r.violations if last_action_key(v.trace) == "duplicate Ack")
    assert last_action_key(minimize(model, dup, shortest=True)[0]) == "deliver Ack"
