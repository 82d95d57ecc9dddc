"""Timed specs (explorer/timed): zones by hand, zones against Z3 on random timings, state keys by (state, zone),
and specs/redis_lock.py in timed mode: concrete times, the ttl/pause/drift boundary, fencing for any pause."""
from __future__ import annotations

import json
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import explorer
from explorer import action, choose, require
from explorer.dsl.loader import load_spec
from explorer.timed import TimedSpec, Zone, within
from explorer.timed.schedule import TimingError, constraints, solve
from tests.conftest import SPECS, explore

LOCK = SPECS / "redis_lock.py"
F = Fraction


def violated(result):
    return [v.property for v in result.violations]


# ---------------------------------------------------------------- zones by hand

def test_a_settled_timer_may_have_run_up_to_its_deadline():
    z = Zone().start("lease", 10, 10).settle()
    assert z.elapsed("lease") == (0, 10)
    assert z.fire("lease") is not None  # the lease may expire (at 10)


def test_an_earlier_deadline_keeps_a_later_timer_from_firing():
    # both armed at once; the pause must end by 5, so the lease (10) cannot expire first
    z = Zone().start("lease", 10, 10).start("pause", 0, 5).settle()
    assert z.elapsed("lease") == (0, 5) and z.fire("lease") is None
    after = z.fire("pause").settle()  # once the pause ended, time may run on to the lease's deadline
    assert after.elapsed("lease") == (0, 10) and after.fire("lease") is not None


def test_the_canonical_form_does_not_depend_on_the_order_operations_were_written_in():
    a = Zone().start("x", 1, 3).start("y", 0, None).settle()
    b = Zone().start("y", 0, None).start("x", 1, 3).settle()
    assert a == b and a.names == ("x", "y")
    assert Zone().start("x", 1, 3).cancel("x").settle() == Zone()


def test_within_turns_a_drifting_local_delay_into_a_real_time_range():
    assert within(10, drift=0.5) == (F(19, 2), F(21, 2))
    assert within(10, rate=0.1) == (9, 11)
    assert within(1, drift=2) == (0, 3)


# ---------------------------------------------------------------- zones against Z3 and a plain checker

NAMES = ("a", "b", "c")
op_st = st.one_of(
    st.tuples(st.just("start"), st.sampled_from(NAMES), st.integers(0, 3), st.one_of(st.none(), st.integers(0, 3))),
    st.tuples(st.just("fire"), st.sampled_from(NAMES)),
    st.tuples(st.just("cancel"), st.sampled_from(NAMES)),
)


def normalise(steps):
    """Drops fires/cancels of timers not armed, makes hi >= lo; returns steps of ops with string numbers."""
    armed, out = set(), []
    for ops in steps:
        kept = []
        for op in ops:
            if op[0] == "start":
                lo, hi = op[2], (None if op[3] is None else op[2] + op[3])
                kept.append(("start", op[1], str(lo), None if hi is None else str(hi)))
                armed.add(op[1])
            elif op[1] in armed:
                kept.append(op)
                armed.discard(op[1])
        out.append(kept)
    return out


def zone_allows(steps) -> bool:
    """Replays each step's timer ops on a Zone (start, fire, cancel, a clock read's le/ge bound); False
    as soon as one is impossible. tests/test_timed_clock.py uses it too."""
    z = Zone()
    for ops in steps:
        for op in ops:
            if op[0] == "start":
                z = z.start(op[1], F(op[2]), None if op[3] is None else F(op[3]))
            elif op[0] == "fire":
                z = z.fire(op[1])
            elif op[0] == "cancel":
                z = z.cancel(op[1])
            else:
                z = z.bound(op[1], op[0], F(op[2]))
            if z is None:
                return False
        z = z.settle()
    return True


def schedule_ok(steps, times) -> bool:
    """Checks concrete times against the timed semantics directly (monotone, fire in [lo, hi], urgency)."""
    if times[0] != 0 or any(b < a for a, b in zip(times, times[1:], strict=False)):
        return False
    armed = {}
    for k, ops in enumerate(steps, start=1):
        for i, _lo, hi in armed.values():
            if hi is not None and times[k] - times[i] > hi:
                return False
        for op in ops:
            if op[0] == "start":
                armed[op[1]] = (k, F(op[2]), None if op[3] is None else F(op[3]))
            elif op[0] == "fire":
                i, lo, hi = armed.pop(op[1])
                if times[k] - times[i] < lo:
                    return False
            else:
                armed.pop(op[1], None)
    return True


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(op_st, max_size=2), max_size=6))
def test_zones_allow_exactly_the_orders_z3_can_time_and_the_times_obey_the_semantics(raw):
    import z3

    steps = normalise(raw)
    _t, cs = constraints([], steps)
    s = z3.Solver()
    s.add(*cs)
    assert zone_allows(steps) == (s.check() == z3.sat)
    if zone_allows(steps):
        assert schedule_ok(steps, solve([], steps))
    else:
        with pytest.raises(TimingError):
            solve([], steps)


# ---------------------------------------------------------------- the visited set keys states by (state, zone)

class TwoTimers(TimedSpec):
    """Start a and b (no deadline) one after the other or together, then stop both.

    By hand: {} ; {a} ; {b} ; {a,b} three ways with three zones (a armed first: a - b >= 0; b first;
    together: a - b = 0) ; stopped, one state whatever the order (the zone is empty again).
    7 states; transitions 3 (from {}) + 1 + 1 + 3 (stop) = 8.
    """

    def init(self):
        self.started = frozenset()

    @action
    def start(self):
        names = choose([("a",), ("b",), ("a", "b")], "names")
        require(not set(names) & self.started and "stopped" not in self.started)
        for n in names:
            self.set_timer(n, after=(0, None))
        self.started = self.started | set(names)

    @action
    def stop(self):
        require(self.started == {"a", "b"})
        self.cancel_timer("a")
        self.cancel_timer("b")
        self.started = frozenset({"stopped"})


def test_one_discrete_state_with_three_timings_is_three_states_and_equal_zones_merge():
    r = explorer.check(TwoTimers)
    assert (r.distinct_states, r.transitions) == (7, 8)


@pytest.mark.parametrize("max_pause,want", [(5.0, (6, 5)), (15.0, (7, 7))])
def test_one_client_timed_counts_by_hand(max_pause, want):
    # pause 5 < ttl 10: the lease cannot expire before the write, so "holding after expiry" is gone
    # (waiting; holding; wrote; wrote+expired; done; done+expired). Pause 15: the untimed 7 states.
    r = explorer.check(LOCK, params={"n": 1, "timing": True, "max_pause": max_pause})
    assert (r.distinct_states, r.transitions) == want


# ---------------------------------------------------------------- redis_lock in timed mode


def timed_trace(**params):
    r = explorer.check(LOCK, params={"variant": "no_fencing", "timing": True, **params})
    assert violated(r) == ["mutual_exclusion"]
    return r.violations[0].trace


def test_ttl_10_and_pauses_up_to_15_break_mutual_exclusion_at_concrete_times():
    from explorer.timed.show import step_times

    t = timed_trace()
    times = step_times(t)
    assert [f"{times[s.index]}: {s.label}" for s in t.steps] == [
        "t = 0.0: acquire(c='A')", "t = 10.0: lease_expires", "t = 10.1: acquire(c='B')",
        "t = 10.2: write(c='B')", "t = 10.3: write(c='A')"]


def test_a_timed_traces_times_satisfy_its_constraints():
    t = timed_trace(drift=1.0, max_pause=12.0)
    from explorer.timed.schedule import times_of

    times = [F(x).limit_denominator(1000) for x in times_of(t)]
    steps = [s.info.get("timing", []) for s in t.steps]
    assert schedule_ok(steps, times)
    acquire_a, expiry, write_a = times[1], times[2], times[5]
    assert 9 <= expiry - acquire_a <= 11  # ttl 10 with drift 1
    assert expiry <= write_a - acquire_a <= 12  # A paused past its lease's end, at most max_pause


@pytest.mark.parametrize("ttl,max_pause,drift", [
    (10.0, 9.5, 0.5), (10.0, 9.49, 0.5), (10.0, 10.0, 0.0), (10.0, 9.99, 0.0), (10.0, 15.0, 6.0), (10.0, 3.0, 6.5),
    (4.0, 4.0, 0.0), (4.0, 2.5, 1.0),
])
def test_without_fencing_mutual_exclusion_fails_exactly_when_the_pause_can_reach_ttl_minus_drift(ttl, max_pause, drift):
    # worked out by hand: the lease ends at ttl - drift at the earliest; B can acquire and write then,
    # and A's write lands after it iff A's pause (<= max_pause, closed bounds) can last that long
    r = explorer.check(LOCK, params={"variant": "no_fencing", "timing": True, "ttl": ttl, "max_pause": max_pause,
                                     "drift": drift})
    assert (violated(r) == ["mutual_exclusion"]) == (max_pause >= ttl - drift)


@pytest.mark.parametrize("n", [2, 3])
def test_with_fencing_mutual_exclusion_holds_for_any_pause(n):
    r = explorer.check(LOCK, params={"n": n, "timing": True, "max_pause": float("inf"), "drift": 2.0})
    assert violated(r) == [] and r.complete


def test_a_saved_timed_trace_has_times_in_every_format_and_replays(tmp_path):
    run = explore(LOCK, "--param", "variant=no_fencing", "--param", "timing=true", "--out", tmp_path)
    assert run.code == 12, run
    assert "t = 10.0: lease_expires" in run.text
    data = json.loads((tmp_path / "mutual_exclusion.json").read_text())
    assert [s["time"] for s in data["steps"]] == [0.0, 10.0, 10.1, 10.2, 10.3]
    assert data["steps"][1]["state"]["timers"] == {"#repr": "Zone(pause A 10..15)"}  # as it prints
    itf = json.loads((tmp_path / "mutual_exclusion.itf.json").read_text())
    assert itf["states"][2]["timers"] == "Zone(pause A 10..15)"
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(data, json.loads((SPECS.parent / "docs" / "trace.schema.json").read_text()))
    assert "10. t = " not in (dot := (tmp_path / "mutual_exclusion.dot").read_text())
    assert "2. t = 10.0: lease_expires" in dot
    replay = explore("replay", tmp_path / "mutual_exclusion.json")
    assert replay.code == 12 and "still violates mutual_exclusion at step 5" in replay.text, replay


# ---------------------------------------------------------------- actor timers: @timer(after=...)

from explorer import Node, Protocol, invariant, param, timer  # noqa: E402


class Sensor(Node):
    ticks = 0

    def on_start(self):
        self.set_timer("tick")

    @timer(after=lambda node: (node.world.lo, node.world.hi))
    def tick(self):
        self.ticks += 1
        if self.ticks < 3:
            self.set_timer("tick")


class Watchdog(Node):
    barked = False

    def on_start(self):
        self.set_timer("bark")

    @timer(after=5)
    def bark(self):
        self.barked = True


class Watch(Protocol):
    """A sensor ticks every lo..hi (3 times); a watchdog armed at 0 barks at exactly 5.

    By hand: the k-th tick comes at most k*hi after the start, so `need` ticks precede the bark iff
    need*hi < 5 (at need*hi = 5 the two may happen at the same instant, in either order).
    """

    lo = param(1.0)
    hi = param(2.0)
    need = param(2)

    def nodes(self):
        return {"s": Sensor(), "w": Watchdog()}

    @invariant
    def enough_ticks_before_the_bark(self):
        return not self.node("w").barked or self.node("s").ticks >= self.need


@pytest.mark.parametrize("hi,need", [(2.0, 2), (2.0, 3), (1.5, 3), (5 / 3, 3), (1.6, 3), (2.5, 2), (2.4, 2)])
def test_an_actor_timer_fires_within_its_delay_after_it_was_armed(hi, need):
    r = explorer.check(Watch, params={"hi": hi, "need": need})
    assert (violated(r) == []) == (need * hi < 5), violated(r)


def test_a_timed_actor_trace_has_times_that_respect_the_delays():
    from explorer.timed.schedule import times_of

    r = explorer.check(Watch, params={"need": 3})
    t = r.violations[0].trace
    assert [s.label for s in t.steps] == ["s: timer tick", "s: timer tick", "w: timer bark"]
    times = [F(x).limit_denominator(1000) for x in times_of(t)]
    assert times[3] == 5 and 1 <= times[1] <= 2 and 1 <= times[2] - times[1] <= 2
    # the timers on_start armed are an extra step at time 0 for the plain checker
    initial = [("start", name, str(lo), None if hi is None else str(hi)) for name, lo, hi in t.initial["timers"].timers]
    assert schedule_ok([initial] + [s.info.get("timing", []) for s in t.steps], [F(0)] + times)


def test_a_crash_disarms_the_nodes_timers():
    # the sensor crashes at once: the watchdog barks at 5 with no tick (need 1 fails only because of the crash)
    assert violated(explorer.check(Watch, params={"need": 1})) == []
    r = explorer.check(Watch, params={"need": 1}, faults="crash=1,restart=0")
    assert violated(r) == ["enough_ticks_before_the_bark"]
    assert [s.label for s in r.violations[0].trace.steps] == ["crash s", "w: timer bark"]


def test_arming_an_undeclared_timer_names_the_timed_timers():
    class Bad(Node):
        def on_start(self):
            self.set_timer("nope")

        @timer(after=1)
        def ring(self):
            pass

    class P(Protocol):
        def nodes(self):
            return {"a": Bad()}

    with pytest.raises(explorer.errors.ExplorerError, match="no timed timer 'nope' .*timed timers: ring"):
        explorer.check(P)


# ---------------------------------------------------------------- the timing boundary as a formula

def test_z3_finds_that_the_lock_without_fencing_fails_iff_ttl_is_at_most_pause_plus_drift():
    from explorer.timed.boundary import timing_boundary

    b = timing_boundary(LOCK, "mutual_exclusion", symbolic=("ttl", "max_pause", "drift"),
                        params={"variant": "no_fencing", "timing": True})
    assert b.fitted and b.unsafe_text == "ttl <= max_pause + drift"
    # each witness gives the verdict the formula predicts, with the explicit timed search
    for point, fails in ((b.unsafe_witness, True), (b.safe_witness, False)):
        r = explorer.check(LOCK, params={"variant": "no_fencing", "timing": True, **point})
        assert (violated(r) == ["mutual_exclusion"]) == fails, point
    # and the formula agrees with the hand-worked sweep of test_without_fencing_...: max_pause >= ttl - drift
    import z3

    for ttl, pause, drift in [(10, 9.5, 0.5), (10, 9.49, 0.5), (10, 10, 0), (4, 2.5, 1), (10, 3, 6.5)]:
        at = z3.substitute(b.unsafe, *[(z3.Real(n), z3.RealVal(str(v))) for n, v in
                                        (("ttl", ttl), ("max_pause", pause), ("drift", drift))])
        assert z3.is_true(z3.simplify(at)) == (pause >= ttl - drift)


def test_with_fencing_no_timing_breaks_mutual_exclusion():
    from explorer.timed.boundary import timing_boundary

    b = timing_boundary(LOCK, "mutual_exclusion", symbolic=("ttl", "max_pause", "drift"), params={"timing": True})
    assert b.paths == 0 and b.unsafe_text.startswith("false") and b.unsafe_witness is None


def test_a_symbolic_parameter_used_outside_timer_bounds_is_refused():
    from explorer.timed.boundary import timing_boundary

    class Branchy(TimedSpec):
        ttl = explorer.param(10.0)

        def init(self):
            self.x = 0

        @action
        def go(self):
            require(self.x == 0)
            self.x = 1 if self.ttl > 5 else 2

        @explorer.invariant
        def small(self):
            return self.x < 2

    with pytest.raises(explorer.errors.UsageError, match="used outside timer bounds"):
        timing_boundary(Branchy, "small", symbolic=("ttl",))


# ---------------------------------------------------------------- zones against integer time (digitization)

def integer_time_projections(n, fencing, ttl, max_pause, drift):
    """Discrete states the redis lock reaches when events happen only at integer times (naive, no zones).

    With closed bounds and integer constants, integer times reach every discrete state real times
    reach (digitization, Henzinger-Manna-Pnueli 1992), so this is an independent second semantics.
    """
    clients = "ABC"[:n]
    lo_lease, hi_lease = max(ttl - drift, 0), ttl + drift
    init = (None, 0, ("waiting",) * n, (0,) * n, 0, (), False, None, (None,) * n)

    def succ(s):
        holder, tok, ph, le, smax, writes, expired, lc, pc = s
        out = []
        armed = ([(lc, hi_lease)] if lc is not None else []) + [(x, max_pause) for x in pc if x is not None]
        if all(x + 1 <= hi for x, hi in armed):  # one time unit passes
            out.append((holder, tok, ph, le, smax, writes, expired, None if lc is None else lc + 1,
                        tuple(None if x is None else x + 1 for x in pc)))
        for i, c in enumerate(clients):
            if ph[i] == "waiting" and holder is None:
                out.append((c, tok + 1, ph[:i] + ("holding",) + ph[i + 1:], le[:i] + (tok + 1,) + le[i + 1:], smax,
                            writes, False, 0, pc[:i] + (0,) + pc[i + 1:]))
            if ph[i] == "holding":
                npc = pc[:i] + (None,) + pc[i + 1:]
                if fencing and le[i] < smax:
                    out.append((holder, tok, ph[:i] + ("rejected",) + ph[i + 1:], le, smax, writes, expired, lc, npc))
                else:
                    out.append((holder, tok, ph[:i] + ("wrote",) + ph[i + 1:], le, le[i] if fencing else smax,
                                writes + ((c, le[i]),), expired, lc, npc))
            if ph[i] in ("wrote", "rejected"):
                mine = holder == c
                out.append((None if mine else holder, tok, ph[:i] + ("done",) + ph[i + 1:], le, smax, writes, expired,
                            None if mine else lc, pc))
        if holder is not None and lc >= lo_lease:
            out.append((None, tok, ph, le, smax, writes, True, None, pc))
        return out

    seen, frontier = {init}, [init]
    while frontier:
        frontier = [t for s in frontier for t in succ(s) if t not in seen and not seen.add(t)]
    return {s[:7] for s in seen}


def zone_projections(**params):
    m = load_spec(LOCK).model(timing=True, **params)
    i = m.fields.index("timers")
    start = [s for s, _ in m.initial_states()]
    seen, frontier = set(start), list(start)
    while frontier:
        frontier = [t for s in frontier for t, _ in m.successors(s) if t not in seen and not seen.add(t)]
    return {tuple(m.as_dict(s)[f] for f in m.fields if f != "timers") for s in seen}, i


def _plain(t):
    holder, tok, ph, le, smax, writes, expired = t
    return (holder, tok, tuple(ph.values()) if isinstance(ph, dict) else ph,
            tuple(le.values()) if isinstance(le, dict) else le, smax, tuple(writes), expired)


@pytest.mark.parametrize("ttl,max_pause,drift", [(3, 2, 0), (3, 3, 0), (3, 1, 1), (3, 2, 1), (2, 5, 0)])
@pytest.mark.parametrize("variant", ["fencing", "no_fencing"])
def test_zones_reach_the_same_discrete_states_as_integer_time(variant, ttl, max_pause, drift):
    want = integer_time_projections(2, variant == "fencing", ttl, max_pause, drift)
    got, _ = zone_projections(variant=variant, ttl=float(ttl), max_pause=float(max_pause), drift=float(drift))
    assert {_plain(t) for t in got} == want


# ---------------------------------------------------------------- actors: a bound on message delays

from explorer import Message, on  # noqa: E402


class Ping(Message):
    pass


class Pong(Message):
    pass


class Client(Node):
    got = False
    timed_out = False

    def on_start(self):
        self.send("server", Ping())
        self.set_timer("timeout")

    @timer(after=lambda node: node.world.limit)
    def timeout(self):
        self.timed_out = True

    @on(Pong)
    def pong(self, msg, sender):
        self.got = True
        self.cancel_timer("timeout")


class Server(Node):
    @on(Ping)
    def ping(self, msg, sender):
        self.send(sender, Pong())


class RoundTrip(Protocol):
    """A request and its reply, each delayed 0..hi; the client gives up `limit` after sending.

    By hand: the reply is back by 2*hi, so the client can time out iff 2*hi >= limit (closed bounds).
    """

    hi = param(2.0)
    limit = param(5.0)

    def delay(self):
        return (0, self.hi)

    def nodes(self):
        return {"client": Client(), "server": Server()}

    @invariant
    def no_spurious_timeout(self):
        return not self.node("client").timed_out


@pytest.mark.parametrize("hi,limit", [(2.0, 5.0), (2.5, 5.0), (2.4, 5.0), (3.0, 5.0), (1.0, 2.0), (0.9, 2.0)])
def test_a_message_delay_bound_decides_whether_a_timeout_is_spurious(hi, limit):
    r = explorer.check(RoundTrip, params={"hi": hi, "limit": limit})
    assert (violated(r) == ["no_spurious_timeout"]) == (2 * hi >= limit), violated(r)


def test_a_lost_or_partitioned_request_makes_the_timeout_fire_at_its_deadline():
    from explorer.timed.show import step_times

    for faults in ("loss=1", "partition=1"):
        r = explorer.check(RoundTrip, faults=faults)
        assert violated(r) == ["no_spurious_timeout"], faults
        t = r.violations[0].trace
        assert step_times(t)[t.length] == "t = 5.0"  # the timeout fires exactly at its deadline


class Sender(Node):
    def on_start(self):
        self.send("b", Ping())  # at 0
        self.set_timer("again")

    @timer(after=2)
    def again(self):
        self.send("b", Ping())  # at 2: a second, identical copy


class Sink(Node):
    count = 0
    seen = None

    def on_start(self):
        self.set_timer("look")

    @on(Ping)
    def got(self, msg, sender):
        self.count += 1

    @timer(after=lambda node: node.world.look_at)
    def look(self):
        self.seen = self.count


class TwoCopies(Protocol):
    """Two identical Pings sent at 0 and 2, each delayed 0..3; b looks at its count at `look_at`.

    By hand: the first copy is in by 3, the second by 5; at look_at b has seen at least
    (look_at > 3) + (look_at > 5) of them (at exactly 3 or 5 the look may come first).
    """

    delay = (0, 3)
    look_at = param(3.5)
    need = param(1)

    def nodes(self):
        return {"a": Sender(), "b": Sink()}

    @invariant
    def enough_seen(self):
        seen = self.node("b").seen
        return seen is None or seen >= self.need


@pytest.mark.parametrize("look_at,need", [(3.5, 1), (3.0, 1), (4.5, 2), (5.5, 2), (5.0, 2), (1.0, 1)])
def test_two_identical_messages_in_flight_keep_their_own_clocks(look_at, need):
    r = explorer.check(TwoCopies, params={"look_at": look_at, "need": need})
    guaranteed = (look_at > 3) + (look_at > 5)
    assert (violated(r) == []) == (guaranteed >= need), violated(r)


def test_symmetry_is_refused_on_timed_specs_whose_clock_names_hold_node_ids():
    with pytest.raises(explorer.errors.UsageError, match="timed spec"):
        explorer.check(Watch, symmetry=True)


def test_partial_order_reduction_is_refused_on_timed_actor_specs():
    with pytest.raises(explorer.errors.UsageError, match="do not commute"):
        explorer.check(Watch, por=True)


# ---------------------------------------------------------------- random timer programs: engine vs integer time

def program_spec(program):
    """A TimedSpec with one action per entry of `program` (a list of op lists); at most 4 steps."""

    class Program(TimedSpec):
        def init(self):
            self.n = 0
            self.last = None

        @action
        def step(self):
            i = choose(range(len(program)), "i")
            require(self.n < 4)
            for op in program[i]:
                if op[0] == "start":
                    self.set_timer(op[1], after=(op[2], op[3]))
                elif op[0] == "fire":
                    self.fire(op[1])
                else:
                    self.cancel_timer(op[1])
            self.n += 1
            self.last = i

    return Program


def integer_time_program(program):
    """(n, last, armed timers) reachable when steps happen only at integer times."""
    init = (0, None, ())

    def succ(s):
        n, last, clocks = s
        out = []
        if all(hi is None or x + 1 <= hi for _name, x, _lo, hi in clocks):
            # a clock past its timer's lo with no deadline: every larger value behaves the same (cap it)
            out.append((n, last, tuple((nm, x + 1 if hi is not None or x < lo else x, lo, hi)
                                       for nm, x, lo, hi in clocks)))
        if n < 4:
            for i, ops in enumerate(program):
                c, ok = {nm: (x, lo, hi) for nm, x, lo, hi in clocks}, True
                for op in ops:
                    if op[0] == "start":
                        c[op[1]] = (0, op[2], op[3])
                    elif op[0] == "fire":
                        if op[1] not in c or c[op[1]][0] < c[op[1]][1]:
                            ok = False
                            break
                        del c[op[1]]
                    else:
                        c.pop(op[1], None)
                if ok:
                    out.append((n + 1, i, tuple(sorted((nm, *v) for nm, v in c.items()))))
        return out

    seen, frontier = {init}, [init]
    while frontier:
        frontier = [t for s in frontier for t in succ(s) if t not in seen and not seen.add(t)]
    return {(n, last, tuple(nm for nm, *_ in clocks)) for n, last, clocks in seen}


prog_op = st.one_of(
    st.builds(lambda nm, lo, d: ("start", nm, lo, None if d is None else lo + d),
              st.sampled_from("xy"), st.integers(0, 2), st.one_of(st.none(), st.integers(0, 2))),
    st.tuples(st.just("fire"), st.sampled_from("xy")),
    st.tuples(st.just("cancel"), st.sampled_from("xy")),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(prog_op, min_size=1, max_size=2), min_size=1, max_size=3))
@example([[("start", "x", 0, 0), ("start", "y", 2, None)], [("fire", "y")], [("fire", "x")]])  # urgency matters
def test_random_timer_programs_reach_the_same_states_with_zones_and_with_integer_time(program):
    m = program_spec(program).model()
    start = [s for s, _ in m.initial_states()]
    seen, frontier = set(start), list(start)
    while frontier:
        frontier = [t for s in frontier for t, _ in m.successors(s) if t not in seen and not seen.add(t)]
    got = {(d["n"], d["last"], d["timers"].names) for d in map(m.as_dict, seen)}
    assert got == integer_time_program(program)
