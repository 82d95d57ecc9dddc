"""Local clocks (explorer/timed/clock.py): marks, reads that branch both ways on a drifting clock, the
infeasible answer pruned, the drift threshold where a verdict changes, and the catalog's uses: the
redis_lock client checking its lease on its own clock, and raft's election timeouts (specs/raft.py
timed mode). Thresholds are computed here from the closed forms (docs/symbolic.md, Time)."""
from __future__ import annotations

import json
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import explorer
from explorer import Message, Node, Protocol, action, invariant, on, param, require, timer
from explorer.replay import replay_file
from explorer.timed import TimedSpec, Zone
from explorer.timed.clock import real_bounds
from explorer.timed.schedule import TimingError, constraints, solve, times_of
from explorer.trace.dot import render_dot
from explorer.trace.json_io import save_trace, trace_to_json
from explorer.trace.text import render_text
from tests.conftest import SPECS, explore
from tests.test_timed import zone_allows

LOCK = SPECS / "redis_lock.py"
RAFT = SPECS / "raft.py"
F = Fraction


def violated(result):
    return [v.property for v in result.violations]


# ---------------------------------------------------------------- the zone side, by hand

def test_a_read_bounds_the_marks_clock_and_through_the_closure_every_clock_armed_with_it():
    z = Zone().start("mark m", 0, None).start("t", 10, 10).settle()  # both armed at 0: t - m = 0
    assert z.elapsed("mark m") == (0, 10)  # t's deadline bounds m too
    late = z.bound("mark m", "ge", 4)
    assert late.elapsed("mark m") == (4, 10) and late.elapsed("t") == (4, 10)
    early = z.bound("mark m", "le", 3)
    assert early.elapsed("t") == (0, 3) and early.fire("t") is None  # t needs 10: pruned
    assert early.bound("mark m", "ge", 5) is None  # x <= 3 and x >= 5: empty


def test_a_read_gives_the_same_canonical_zone_as_the_equal_zone_built_another_way():
    z = Zone().start("mark m", 0, None).start("t", 0, 4).settle()
    assert z.bound("mark m", "le", 7).settle() == z.bound("mark m", "le", 4).settle()  # t's deadline already said 4


@pytest.mark.parametrize("c,drift", [(9, "0"), (9, "0.1"), (10, "0.25"), (F(21, 2), "0.05")])
def test_the_real_time_bounds_of_a_read_are_c_over_one_minus_and_one_plus_drift(c, drift):
    le, ge = real_bounds(c, float(drift))
    rho = F(drift)
    assert (le, ge) == (F(c) / (1 - rho), F(c) / (1 + rho))


def test_a_drift_of_one_or_more_is_refused_and_a_reading_has_no_truth_value():
    with pytest.raises(ValueError, match="rate bound"):
        real_bounds(9, 1.0)
    from explorer.timed.clock import Elapsed

    e = Elapsed("mark m", "m", 0, lambda *a: None)
    with pytest.raises(TypeError, match="compare it"):
        bool(e)
    with pytest.raises(TypeError, match="not =="):
        e == 3  # noqa: B015


# ---------------------------------------------------------------- zones with reads against Z3 (hypothesis)

NAMES = ("a", "b")
op_st = st.one_of(
    st.tuples(st.just("start"), st.sampled_from(NAMES), st.integers(0, 3), st.one_of(st.none(), st.integers(0, 3))),
    st.tuples(st.just("fire"), st.sampled_from(NAMES)),
    st.tuples(st.sampled_from(["le", "ge"]), st.sampled_from(NAMES), st.integers(0, 6)),
)


def program(raw):
    """Keeps only ops on armed timers (a read keeps its timer armed), hi >= lo; numbers as strings."""
    armed, out = set(), []
    for ops in raw:
        kept = []
        for op in ops:
            if op[0] == "start":
                hi = None if op[3] is None else op[2] + op[3]
                kept.append(("start", op[1], str(op[2]), None if hi is None else str(hi)))
                armed.add(op[1])
            elif op[1] in armed:
                kept.append(op if op[0] == "fire" else (op[0], op[1], str(op[2])))
                if op[0] == "fire":
                    armed.discard(op[1])
        out.append(kept)
    return out


def reads_hold(steps, times) -> bool:
    """Checks the concrete times against each read directly: t_k - t_(mark) <= c or >= c."""
    since = {}
    for k, ops in enumerate(steps, start=1):
        for op in ops:
            if op[0] == "start":
                since[op[1]] = k
            elif op[0] in ("le", "ge"):
                d = times[k] - times[since[op[1]]]
                if (op[0] == "le" and d > F(op[2])) or (op[0] == "ge" and d < F(op[2])):
                    return False
    return True


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(op_st, max_size=2), max_size=5))
def test_zones_with_reads_allow_exactly_what_z3_can_time(raw):
    import z3

    steps = program(raw)
    _t, cs = constraints([], steps)
    s = z3.Solver()
    s.add(*cs)
    allows = zone_allows(steps)
    assert allows == (s.check() == z3.sat)
    if allows:
        assert reads_hold(steps, solve([], steps))
    else:
        with pytest.raises(TimingError):
            solve([], steps)


# ---------------------------------------------------------------- a tiny spec read both ways

class Reader(TimedSpec):
    """Mark m and arm t (exactly 10) at once; read "m < 9" before t rings, or after it."""

    drift = param(0.0)

    def init(self):
        self.phase = "start"
        self.saw = None

    @action
    def begin(self):
        require(self.phase == "start")
        self.clock_mark("m")
        self.set_timer("t", after=10)
        self.phase = "marked"

    @action
    def ring(self):
        require(self.phase == "marked")
        self.fire("t")
        self.phase = "rang"

    @action
    def read(self):
        require(self.phase in ("marked", "rang"))
        below = self.elapsed_since("m", drift=self.drift) < 9
        self.saw = (self.phase, "below" if below else "above")
        self.phase = "read"

    @invariant
    def never_below_after_the_ring(self):
        return self.saw != ("rang", "below")


def reachable_readings(drift):
    model = Reader.build_model({"drift": drift})
    i = model.fields.index("saw")
    seen, frontier, out = set(), [s for s, _ in model.initial_states()], set()
    while frontier:
        s = frontier.pop()
        if s in seen:
            continue
        seen.add(s)
        if s[i] is not None:
            out.add(s[i])
        frontier.extend(n for n, _ in model.successors(s))
    return out


def test_before_the_ring_the_read_goes_both_ways_and_after_it_only_above_without_drift():
    # before t rings, real x is anywhere in [0, 10]: x <= 9 and x >= 9 are both possible
    assert reachable_readings(0.0) == {("marked", "below"), ("marked", "above"), ("rang", "above")}


@pytest.mark.parametrize("drift", [0.0, 0.05, 0.09, 0.1, 0.2])
def test_drift_changes_the_verdict_at_the_hand_worked_threshold(drift):
    # after the ring x >= 10; "below 9" needs x <= 9 / (1 - drift): possible iff drift >= 0.1
    below_possible = F(9) / (1 - F(str(drift))) >= 10
    r = explorer.check(Reader, params={"drift": drift})
    assert (violated(r) == ["never_below_after_the_ring"]) == below_possible
    assert (("rang", "below") in reachable_readings(drift)) == below_possible


def test_the_infeasible_answer_is_pruned_not_kept_as_a_successor():
    model = Reader.build_model({"drift": 0.0})
    (s0, _), = model.initial_states()
    marked = next(n for n, st in model.successors(s0))
    rang = next(n for n, st in model.successors(marked) if st.label == "ring")
    reads = [st.label for _n, st in model.successors(rang)]
    assert reads == ["read(m < 9=False)"]  # the True answer emptied the zone
    model2 = Reader.build_model({"drift": 0.2})
    rang2 = next(n for n, st in model2.successors(next(n for n, _ in model2.successors(s0))) if st.label == "ring")
    assert sorted(st.label for _n, st in model2.successors(rang2)) == ["read(m < 9=False)", "read(m < 9=True)"]


def test_the_counterexample_has_times_that_fit_the_drifting_read_in_text_json_and_dot():
    trace = explorer.check(Reader, params={"drift": 0.2}).violations[0].trace
    t = times_of(trace)[1:]
    assert t[1] == 10.0 and 10.0 <= t[2] <= 9 / 0.8  # rang at 10, read after it, within 9 / (1 - drift)
    data = trace_to_json(trace)
    assert [s["time"] for s in data["steps"]] == t
    assert ["le", "mark m", "45/4"] in [list(op) for op in data["steps"][2]["info"]["timing"]]
    assert "t = 10.0" in render_dot(trace)
    assert "3. t = " in render_text(trace) and "read(m < 9=True)" in render_text(trace)


def test_reading_a_mark_never_set_is_an_action_error_that_says_what_to_do():
    class NoMark(TimedSpec):
        def init(self):
            self.done = False

        @action
        def read(self):
            require(not self.done)
            self.done = self.elapsed_since("m") < 3

    with pytest.raises(explorer.errors.ActionError, match="clock_mark"):
        explorer.check(NoMark)


# ---------------------------------------------------------------- a node's clock (actors)

class Ping(Message):
    pass


class Holder(Node):
    saw = None

    def clock_drift(self):
        return self.world.drift

    def on_start(self):
        self.clock_mark("start")
        self.set_timer("look")

    @timer(after=10)
    def look(self):
        self.saw = "below" if self.elapsed_since("start") < 9 else "above"

    @on(Ping)
    def got(self, msg, sender):
        pass


class Looker(Protocol):
    drift = param(0.0)

    def nodes(self):
        return {"a": Holder()}

    @invariant
    def never_below(self):
        return self.node("a").saw != "below"


@pytest.mark.parametrize("drift,fails", [(0.0, False), (0.05, False), (0.1, True), (0.3, True)])
def test_a_node_reads_its_own_drifting_clock(drift, fails):
    r = explorer.check(Looker, params={"drift": drift})  # the read happens at exactly 10: below iff 9/(1-d) >= 10
    assert (violated(r) == ["never_below"]) == fails


def test_a_crash_drops_a_nodes_marks():
    r = explorer.check(Looker, params={"drift": 0.0}, faults="crash=1,restart=0")
    assert violated(r) == []


# ---------------------------------------------------------------- redis_lock: the client checks its lease on its clock

def lease_check(client_drift, drift=0.0):
    return explorer.check(LOCK, params={"variant": "no_fencing", "timing": True, "lease_check": True,
                                        "client_drift": client_drift, "drift": drift})


@pytest.mark.parametrize("client_drift,drift", [(0.0, 0.0), (0.05, 0.0), (0.09, 0.0), (0.1, 0.0), (0.2, 0.0),
                                                (0.05, 0.5), (0.06, 0.5)])
def test_the_lease_check_holds_iff_ttl_minus_margin_over_one_minus_drift_is_below_the_earliest_expiry(
        client_drift, drift):
    ttl, margin = F(10), F(1)
    fails = (ttl - margin) / (1 - F(str(client_drift))) >= ttl - F(str(drift))  # closed bounds: equality fails
    assert (violated(lease_check(client_drift, drift)) == ["mutual_exclusion"]) == fails


def test_the_stale_lease_passes_the_check_at_concrete_times(tmp_path):
    trace = lease_check(0.2).violations[0].trace
    labels = [s.label for s in trace.steps]
    assert labels == ["acquire(c='A')", "lease_expires", "acquire(c='B')", "write(c='B', lease B < 9=True)",
                      "write(c='A', lease A < 9=True)"]
    t = times_of(trace)[1:]
    assert t[1] == 10.0 and 10.0 <= t[4] <= 9 / 0.8  # A writes after the expiry, its clock still under 9
    path = save_trace(trace, tmp_path / "lease.json")
    code, message = replay_file(str(path), str(LOCK))
    assert message.startswith("still violates mutual_exclusion at step 5"), message
    assert json.loads(path.read_text())["steps"][4]["time"] == t[4]


# ---------------------------------------------------------------- raft: election timeouts and heartbeats

def raft_timed(**params):
    return explorer.check(RAFT, params={"timing": True, "max_term": 1, **params})


def test_a_heartbeat_period_plus_delay_reaching_the_minimum_timeout_disrupts_the_leader_at_concrete_times():
    r = raft_timed(period=9.0)  # 9 + 1 >= 10
    assert violated(r) == ["leader_not_disrupted"]
    times_of(r.violations[0].trace)
    steps = r.violations[0].trace.steps
    assert steps[-1].label.startswith("timeout(")
    heard = max(s.info["time"] for s in steps if s.label.startswith("heartbeat(") and
                f"follower={steps[-1].label[len('timeout(s='):-1]}" in s.label)
    assert steps[-1].info["time"] - heard == 10.0  # exactly timeout_min after the heartbeat it heard


def test_timed_raft_is_raft_by_name_and_the_untimed_default_is_unchanged():
    from explorer.dsl.loader import load_spec

    cls = load_spec(RAFT)
    assert cls.build_model({"timing": True, "max_term": 1}).name == "Raft"
    assert cls.build_model({}).fields == cls.build_model({"timing": False}).fields
    assert "timers" not in cls.build_model({}).fields


def test_raft_timed_refuses_a_delay_not_below_the_period_with_a_usage_error():
    run = explore(RAFT, "--param", "timing=true", "--param", "max_delay=5")
    assert run.code == 2, run
    assert "raft.py:" in run.err and "max_delay 5.0 >= period 4.0" in run.err and "Traceback" not in run.text


@pytest.mark.slow
@pytest.mark.parametrize("period,max_delay", [(8.0, 1.0), (8.5, 1.0), (9.0, 1.0), (7.0, 2.5), (8.0, 2.5)])
def test_raft_timed_holds_iff_period_plus_delay_is_below_the_minimum_timeout(period, max_delay):
    fails = period + max_delay >= 10
    assert (violated(raft_timed(period=period, max_delay=max_delay)) == ["leader_not_disrupted"]) == fails
