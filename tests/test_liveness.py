"""Liveness under fairness: verdicts on tiny specs whose fair behaviours are known by hand, lasso traces
that really loop, the 2PC blocking result, and the fair-component search against brute force.
"""
from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import explorer
from explorer import (
    Message,
    Node,
    Protocol,
    Spec,
    action,
    always_eventually,
    eventually,
    leads_to,
    on,
    require,
    timer,
)
from explorer.liveness.fairness import STRONG, WEAK
from explorer.liveness.graph import Graph
from explorer.liveness.scc import fair_components, fair_loop

from .conftest import TWOPC, explore

# ---------------------------------------------------------------------- tiny plain specs

class Reach(Spec):
    """x counts up to 2; `@eventually x == 2` needs `inc` to be fair."""

    def init(self):
        self.x = 0

    @action
    def inc(self):
        require(self.x < 2)
        self.x += 1

    @eventually
    def reaches_two(self):
        return self.x == 2


class FairReach(Reach):
    @action(fair=True)
    def inc(self):
        require(self.x < 2)
        self.x += 1


def toggling(fairness):
    """`go` is enabled only while `flag` is up, and a fair `toggle` keeps flipping the flag."""

    class Toggle(Spec):
        def init(self):
            self.flag = False
            self.done = False

        @action(fair=True)
        def toggle(self):
            require(not self.done)
            self.flag = not self.flag

        @action(fair=fairness)
        def go(self):
            require(self.flag and not self.done)
            self.done = True

        @eventually
        def finishes(self):
            return self.done

    return Toggle


def test_without_any_fair_action_the_behaviour_may_stop_at_the_start():
    r = explorer.check(Reach)
    [v] = r.violations
    assert (v.property, v.kind, v.length) == ("reaches_two", "liveness", 0)
    assert v.trace.loop_start is None and "stops" in v.trace.notes[0]
    assert "no action is declared fair" in v.reason and "inc" in v.reason
    assert r.exit_code == 13 and r.unchecked == []


def test_a_weakly_fair_action_makes_progress():
    r = explorer.check(FairReach)
    assert r.violations == [] and r.unchecked == [] and r.result == "ok"


def test_weak_fairness_lets_an_intermittently_enabled_action_starve_forever():
    r = explorer.check(toggling(True))
    [v] = r.violations
    t = v.trace
    assert v.kind == "liveness" and t.loop_start is not None
    loop = [s.label for s in t.steps[t.loop_start - 1:]]
    assert loop and set(loop) == {"toggle"}, loop
    assert t.states()[-1] == t.states()[t.loop_start - 1], "the loop ends where it began"


def test_strong_fairness_takes_an_action_enabled_infinitely_often():
    r = explorer.check(toggling("strong"))
    assert r.violations == [] and r.result == "ok"


def test_an_unfair_action_in_the_loop_does_not_help():
    r = explorer.check(toggling(False))
    assert [v.property for v in r.violations] == ["finishes"]


class Clock(Spec):
    """x goes 0 → 1 → 2 → 0 fairly; an unfair `halt` from 1 parks it at 3 for good."""

    def init(self):
        self.x = 0

    @action(fair=True)
    def tick(self):
        require(self.x < 3)
        self.x = (self.x + 1) % 3

    @action
    def halt(self):
        require(self.x == 1)
        self.x = 3

    @always_eventually
    def back_to_zero(self):
        return self.x == 0

    @leads_to(lambda s: s.x == 1)
    def then_two(self):
        return self.x == 2


def test_always_eventually_fails_when_a_behaviour_settles_where_it_never_holds():
    r = explorer.check(Clock, max_violations=5)
    by = {v.property: v for v in r.violations}
    v = by["back_to_zero"]
    assert [s.label for s in v.trace.steps] == ["tick", "halt"] and v.trace.final == {"x": 3}


def test_leads_to_fails_after_the_trigger_when_the_consequence_never_follows():
    r = explorer.check(Clock, max_violations=5)
    by = {v.property: v for v in r.violations}
    assert "after step 1" in by["then_two"].reason
    assert [s.label for s in by["then_two"].trace.steps] == ["tick", "halt"]


def test_leads_to_and_always_eventually_hold_once_the_escape_is_gone():
    class Fixed(Clock):
        @action
        def halt(self):
            require(False)
            self.x = 3

    r = explorer.check(Fixed, max_violations=5)
    assert r.violations == [] and r.unchecked == []


class Parked(Spec):
    """`park` sets a = 1 for good (unfairly); `done` needs a == 0 and b == 1; c is never read."""

    def init(self):
        self.a, self.b, self.c = 0, 0, 0

    @action
    def park(self):
        require(self.a == 0)
        self.a, self.c = 1, 5

    @action(fair=True)
    def step_b(self):
        require(self.a == 0 and self.b == 0)
        self.b = 1

    @eventually
    def done(self):
        return self.a == 0 and self.b == 1


def test_a_lasso_names_the_values_its_property_read_in_the_state_it_stays_in():
    [v] = explorer.check(Parked).violations
    assert [s.label for s in v.trace.steps] == ["park"]
    assert v.trace.read == ("a",)  # a == 1 short-circuits the rest: only a keeps `done` false
    assert v.trace.final["a"] == 1


def test_a_lasso_of_2pc_names_the_participant_left_in_doubt():
    [v] = explorer.check(TWOPC, params={"n": 2}, faults="crash=1,restart=0").violations
    assert v.trace.read and all(f in v.trace.final for f in v.trace.read)
    assert any(f.endswith(".state") and v.trace.final[f] in ("working", "prepared") for f in v.trace.read)


def test_the_liveness_check_counts_in_the_elapsed_time():
    import time as _time

    calls = []

    class Slow(FairReach):
        @eventually
        def reaches_two(self):
            calls.append(1)
            _time.sleep(0.05)
            return self.x == 2

    r = explorer.check(Slow)
    assert r.violations == [] and len(calls) >= 3  # three states, each labelled once at least
    assert r.elapsed_s >= 0.05 * len(calls)


def test_a_fairness_that_is_not_weak_or_strong_is_a_spec_error():
    class Odd(Reach):
        @action(fair="sometimes")
        def inc(self):
            self.x = 2

    with pytest.raises(explorer.SpecError, match="fair='sometimes'"):
        explorer.check(Odd)


# ---------------------------------------------------------------------- actors: delivery is weakly fair

class Ping(Message):
    pass


class Pong(Message):
    pass


class Client(Node):
    answered = False

    def on_start(self):
        self.send("server", Ping())

    @on(Pong)
    def got_pong(self, msg, sender):
        self.answered = True


class Server(Node):
    @on(Ping)
    def got_ping(self, msg, sender):
        self.send(sender, Pong())


class PingPong(Protocol):
    def nodes(self):
        return {"client": Client(), "server": Server()}

    @eventually
    def client_answered(self):
        return self.node("client").answered


def test_messages_in_flight_are_eventually_delivered_by_default():
    r = explorer.check(PingPong)
    assert r.violations == [] and r.unchecked == []


def test_a_lost_message_is_never_delivered_so_progress_fails():
    r = explorer.check(PingPong, faults="loss=1")
    [v] = r.violations
    assert v.trace.steps[-1].info["kind"] == "loss" and v.trace.loop_start is None


class Retry(Client):
    """Re-sends Ping once on a timer unless answered: with a fair timer, one loss cannot block it."""

    tries = 0

    @timer(fair=True)
    def resend(self):
        require(not self.answered and self.tries < 1)
        self.tries += 1
        self.send("server", Ping())


def test_a_fair_retry_timer_survives_a_lost_message():
    class RetryPingPong(PingPong):
        def nodes(self):
            return {"client": Retry(), "server": Server()}

    r = explorer.check(RetryPingPong, faults="loss=1", max_states=10_000)
    assert r.complete and r.violations == []
    assert explorer.check(RetryPingPong, faults="loss=2").violations, "two losses can still block it"


# ---------------------------------------------------------------------- the catalog: 2PC

def test_twopc_without_faults_lets_everyone_decide():
    r = explorer.check(TWOPC, params={"n": 2})
    assert r.violations == [] and r.unchecked == [] and r.complete


def test_twopc_blocks_when_the_coordinator_crashes_for_good():
    r = explorer.check(TWOPC, params={"n": 2}, faults="crash=1,restart=0")
    [v] = r.violations
    assert (v.property, v.kind) == ("everyone_decides", "liveness")
    labels = [s.label for s in v.trace.steps]
    assert "crash coord" in labels
    final = v.trace.final
    assert "prepared" in {final["p1.state"], final["p2.state"]}, "a yes-voter is left in doubt"


def test_twopc_blocking_exits_13_and_saves_a_lasso_trace(tmp_path):
    run = explore(TWOPC, "--param", "n=2", "--faults", "crash=1,restart=0", "--out", tmp_path, "--json")
    assert run.code == 13, run
    data = json.loads(run.out)
    assert data["violations"][0]["kind"] == "liveness" and data["unchecked"] == []
    saved = json.loads((tmp_path / "everyone_decides.json").read_text())
    assert saved["kind"] == "liveness" and saved["property"] == "everyone_decides"


def test_a_liveness_loop_is_marked_in_the_text_and_json(tmp_path):
    from explorer.trace.json_io import trace_to_itf
    from explorer.trace.text import render_text

    [v] = explorer.check(toggling(True)).violations
    text = render_text(v.trace)
    assert "--- loop: steps" in text
    assert trace_to_itf(v.trace)["loop"] == v.trace.loop_start - 1


# ---------------------------------------------------------------------- bounds and refusals

def test_a_depth_bound_makes_the_verdict_partial():
    r = explorer.check(FairReach, depth=1)
    assert r.violations == []
    assert any("liveness verdict partial" in w and "depth bound" in w for w in r.warnings), r.warnings


def test_a_violation_inside_the_depth_bound_is_still_real():
    r = explorer.check(TWOPC, params={"n": 2}, faults="crash=1,restart=0", depth=6)
    assert [v.property for v in r.violations] == ["everyone_decides"]


def test_random_walks_refuse_liveness_and_keep_it_unchecked():
    r = explorer.check(FairReach, strategy="random", walks=3)
    assert r.unchecked == ["reaches_two"]
    assert any("liveness not checked" in w and "random" in w for w in r.warnings)


def test_a_safety_violation_first_leaves_liveness_unchecked():
    r = explorer.check(TWOPC, params={"variant": "no_durable_log", "n": 2}, faults="crash=1")
    assert [v.kind for v in r.violations] == ["invariant"]
    assert r.unchecked == ["everyone_decides"]


# ---------------------------------------------------------------------- the algorithm against brute force

@st.composite
def fair_graphs(draw):
    """A random graph of at most 5 states whose edges belong to tasks of random fairness."""
    n = draw(st.integers(1, 5))
    k = draw(st.integers(1, 3))
    fair = draw(st.lists(st.sampled_from([None, WEAK, STRONG]), min_size=k, max_size=k))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(0, k - 1)),
                          max_size=10, unique=True))
    g = Graph(states=[(i,) for i in range(n)], tasks=list(range(k)), task_fair=fair)
    g.succ = [[] for _ in range(n)]
    for u, v, t in edges:
        g.succ[u].append((v, len(g.edge_move)))
        g.edge_move.append(("a", ()))
        g.edge_task.append(t)
    g.enabled = [frozenset(g.edge_task[e] for _v, e in g.succ[u] if fair[g.edge_task[e]]) for u in range(n)]
    g.expanded = [True] * n
    return g


def _strongly_connected(g, s):
    for a in s:
        seen, todo = {a}, [a]
        while todo:
            u = todo.pop()
            for v, _e in g.succ[u]:
                if v in s and v not in seen:
                    seen.add(v)
                    todo.append(v)
        if seen != s:
            return False
    return True


def _fair_set(g, s):
    """A behaviour staying in s forever, taking every edge inside it, is fair."""
    taken = {g.edge_task[e] for u in s for v, e in g.succ[u] if v in s}
    always = frozenset.intersection(*(g.enabled[u] for u in s))
    some = set().union(*(g.enabled[u] for u in s))
    return all(t in taken for t in always if g.task_fair[t] == WEAK) and \
        all(t in taken for t in some if g.task_fair[t] == STRONG)


def brute_force_fair(g) -> bool:
    n = len(g.states)
    return any(_strongly_connected(g, set(s)) and _fair_set(g, set(s))
               for r in range(1, n + 1) for s in itertools.combinations(range(n), r))


@settings(max_examples=400, deadline=None)
@given(fair_graphs())
def test_fair_components_exist_exactly_when_brute_force_finds_a_fair_set(g):
    found = fair_components(g, set(range(len(g.states))))
    assert bool(found) == brute_force_fair(g)
    for comp in found:
        assert _strongly_connected(g, comp) and _fair_set(g, comp)


@settings(max_examples=300, deadline=None)
@given(fair_graphs())
def test_the_loop_through_a_fair_component_is_a_fair_cycle(g):
    for comp in fair_components(g, set(range(len(g.states)))):
        entry = min(comp)
        loop = fair_loop(g, comp, entry)
        succ = {e: v for u in range(len(g.states)) for v, e in g.succ[u]}
        src = {e: u for u in range(len(g.states)) for _v, e in g.succ[u]}
        cur, visited = entry, [entry]
        for e in loop:
            assert src[e] == cur
            cur = succ[e]
            assert cur in comp
            visited.append(cur)
        assert cur == entry
        taken = {g.edge_task[e] for e in loop}
        always = frozenset.intersection(*(g.enabled[u] for u in visited))
        some = set().union(*(g.enabled[u] for u in visited))
        assert all(t in taken for t in always if g.task_fair[t] == WEAK)
        assert all(t in taken for t in some if g.task_fair[t] == STRONG)


# ---------------------------------------------------------------------- replaying saved lassos

TOGGLE_FILE = """
from explorer import Spec, action, eventually, require


class Toggle(Spec):
    def init(self):
        self.flag = False
        self.done = False

    @action(fair=True)
    def toggle(self):
        require(not self.done)
        self.flag = not self.flag

    @action(fair=FAIRNESS)
    def go(self):
        require(self.flag and not self.done)
        self.done = True

    @eventually
    def finishes(self):
        return self.done
"""


def test_a_saved_lasso_still_violates_and_no_longer_does_once_fairness_is_strong(write_spec, tmp_path):
    path = write_spec(TOGGLE_FILE.replace("FAIRNESS", "True"), "toggle.py")
    run = explore(path, "--out", tmp_path / "out")
    assert run.code == 13, run
    again = explore("replay", tmp_path / "out" / "finishes.json")
    assert again.code == 13 and "still violates finishes: loops fairly through steps" in again.out, again
    path.write_text(TOGGLE_FILE.replace("FAIRNESS", '"strong"'))
    fixed = explore("replay", tmp_path / "out" / "finishes.json")
    assert fixed.code == 0 and "no longer violates finishes: the loop is no longer fair: it starves go" in fixed.out, fixed


def test_a_saved_stop_of_2pc_still_blocks_on_replay(tmp_path):
    run = explore(TWOPC, "--param", "n=2", "--faults", "crash=1,restart=0", "--out", tmp_path)
    assert run.code == 13, run
    again = explore("replay", tmp_path / "everyone_decides.json")
    assert again.code == 13 and "no fair step is enabled" in again.out, again


def test_under_symmetry_liveness_is_checked_on_the_full_graph_and_says_so():
    from types import SimpleNamespace

    from explorer.liveness.check import reductions_note, refusal

    opts = SimpleNamespace(symmetry=True, por=False, strategy="bfs")
    assert refusal(opts) is None
    assert "full state graph, without symmetry reduction" in reductions_note(opts)
    assert reductions_note(SimpleNamespace(symmetry=False, por=False, strategy="bfs")) is None
    assert "random" in refusal(SimpleNamespace(symmetry=False, por=False, strategy="random"))


def test_symmetry_keeps_the_2pc_liveness_verdicts():
    import dataclasses

    from explorer.engine.options import Options

    if "symmetry" not in {f.name for f in dataclasses.fields(Options)}:
        pytest.skip("--symmetry is not in this version yet")
    for faults, want in (("crash=1,restart=0", ["everyone_decides"]), (None, [])):
        r = explorer.check(TWOPC, params={"n": 2}, faults=faults, symmetry=True)
        assert [v.property for v in r.violations] == want
        assert any("full state graph" in w for w in r.warnings)


def test_a_handler_declared_unfair_may_leave_its_message_in_flight_forever():
    class LazyServer(Node):
        @on(Ping, fair=False)
        def got_ping(self, msg, sender):
            self.send(sender, Pong())

    class LazyPingPong(PingPong):
        def nodes(self):
            return {"client": Client(), "server": LazyServer()}

    [v] = explorer.check(LazyPingPong).violations
    assert v.length == 0 and "delivery of client→server Ping()" in v.reason


class Flip(Message):
    pass


def gated(fairness):
    """A node whose Ping handler is enabled only while a self-sent Flip keeps toggling `open`."""

    class Gate(Node):
        open = False
        served = False

        def on_start(self):
            self.send(self.id, Flip())
            self.send(self.id, Ping())

        @on(Flip)
        def flip(self, msg, sender):
            require(not self.served)
            self.open = not self.open
            self.send(self.id, Flip())

        @on(Ping, fair=fairness)
        def got_ping(self, msg, sender):
            require(self.open)
            self.served = True

    class Served(Protocol):
        def nodes(self):
            return {"g": Gate()}

        @eventually
        def served(self):
            return self.node("g").served

    return Served


def test_a_weakly_fair_handler_may_starve_while_only_intermittently_enabled():
    [v] = explorer.check(gated(True)).violations
    assert v.property == "served" and v.trace.loop_start is not None


def test_a_strongly_fair_handler_is_served_even_when_only_intermittently_enabled():
    assert explorer.check(gated("strong")).violations == []
