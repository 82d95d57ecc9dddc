"""specs/split_brain.py in timed mode: heartbeats renew the primary's lease, a backup takes over after
`timeout` of silence, messages arrive within `max_delay` (issue 6: "split_brain ... uses the same
constructs where the spec gains from them").

The rule the tests hold the model to, worked out by hand. Let h be the time of the primary's last
heartbeat. Its lease ends at most lease + drift after h, so its last write is sent by h + lease +
drift and lands by h + lease + drift + max_delay. The backup received that heartbeat no earlier than
h, so it takes over, and its own write lands, no earlier than h + timeout. Bounds are closed, so
without epochs the old primary's write can land after the new one's iff
timeout <= lease + drift + max_delay (heartbeats come every period < timeout - max_delay, so the
backup never times out between two of them). With epochs the storage rejects the older write, for any
timing.
"""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import explorer
from explorer.api import load_model
from explorer.dsl.loader import load_spec
from explorer.replay import replay_file
from explorer.symbolic.boundary import find_boundary
from explorer.timed.show import step_times

from .conftest import ROOT, SPECS, explore

SPLIT = SPECS / "split_brain.py"
SAVED = ROOT / "counterexamples" / "split_brain"
TIMED = {"variant": "no_epoch", "timing": True}


def split_brain(**params) -> bool:
    """Says whether two primaries accept writes (one_primary fails) with these parameters."""
    r = explorer.check(SPLIT, params={**TIMED, **params})
    assert [v.property for v in r.violations] in ([], ["one_primary"])
    return bool(r.violations)


def by_hand(timeout, lease=10.0, drift=0.0, max_delay=1.0) -> bool:
    return timeout <= lease + drift + max_delay


@pytest.mark.parametrize("timeout,lease,drift,max_delay", [
    (10.0, 10.0, 0.0, 1.0),   # the default: unsafe
    (11.0, 10.0, 0.0, 1.0),   # exactly at the bound: closed, so unsafe
    (11.5, 10.0, 0.0, 1.0),   # past it: safe
    (11.5, 10.0, 0.5, 1.0),   # the drift moves the bound: unsafe again
    (11.6, 10.0, 0.5, 1.0),   # safe
    (10.0, 10.0, 0.0, 0.0),   # instant messages: equal instants, either order: unsafe
    (10.1, 10.0, 0.0, 0.0),   # safe
    (12.0, 8.0, 2.0, 2.0),    # unsafe: 8 + 2 + 2
    (12.5, 8.0, 2.0, 2.0),    # safe
])
def test_two_primaries_write_iff_the_timeout_is_at_most_lease_plus_drift_plus_delay(timeout, lease, drift, max_delay):
    got = split_brain(timeout=timeout, lease=lease, drift=drift, max_delay=max_delay)
    assert got == by_hand(timeout, lease, drift, max_delay)


@settings(max_examples=25, deadline=None)
@given(timeout=st.integers(16, 32), lease=st.integers(10, 20), drift=st.integers(0, 4), max_delay=st.integers(0, 4))
def test_the_rule_holds_at_random_half_unit_points(timeout, lease, drift, max_delay):
    t, le, d, m = (x / 2 for x in (timeout, lease, drift, max_delay))  # 8..16, 5..10, 0..2, 0..2
    if 4.0 + m >= t:  # the rule assumes heartbeats come often enough (period 4 + delay < timeout)
        return
    assert split_brain(timeout=t, lease=le, drift=d, max_delay=m) == by_hand(t, le, d, m)


@pytest.mark.parametrize("timeout,drift,max_delay", [(2.0, 0.0, 1.0), (10.0, 1.0, 1.0), (5.0, 2.0, 0.0), (20.0, 0.0, 3.0)])
def test_epoch_fencing_holds_for_any_timing(timeout, drift, max_delay):
    r = explorer.check(SPLIT, params={"timing": True, "timeout": timeout, "drift": drift, "max_delay": max_delay})
    assert r.complete and r.violations == []


def test_the_counterexample_times_respect_every_bound():
    r = explorer.check(SPLIT, params={**TIMED, "drift": 0.5})
    t = r.violations[0].trace
    assert len(step_times(t)) == t.length + 1  # fills info["time"] on every step (Z3)
    times = [Fraction(s.info["time"]).limit_denominator(1000) for s in t.steps]
    labels = [s.label for s in t.steps]
    assert times == sorted(times)
    at = {label: times[i] for i, label in enumerate(labels)}
    beats = [times[i] for i, s in enumerate(t.steps) if s.info.get("msg_type") == "Heartbeat"]
    last_beat = max(beats)
    assert at["r2: timer takeover"] - last_beat >= 10  # timeout after the last heartbeat r2 heard
    assert at["r1: timer write"] <= last_beat + Fraction(105, 10)  # within lease + drift of r1's last renewal
    landed = at["r1→disk Write(epoch=(1, 'r1'))"]
    assert 0 <= landed - at["r1: timer write"] <= 1  # max_delay
    assert labels.index("r2→disk Write(epoch=(2, 'r2'))") < labels.index("r1→disk Write(epoch=(1, 'r1'))")


def test_the_sweep_finds_the_rule_as_a_formula():
    b = find_boundary(load_spec(SPLIT), params=TIMED, method="sweep", trace=False,
                      bounds={"timeout": (9, 12), "lease": (9, 10), "drift": (0, 1), "max_delay": (0, 1)})
    assert b.formula == "timeout > lease + drift + max_delay" and b.runs == 32
    for p in b.safe + b.unsafe:
        assert b.holds_at(p) == (not by_hand(p["timeout"], p["lease"], p["drift"], p["max_delay"])), p
    fenced = find_boundary(load_spec(SPLIT), params={"timing": True}, method="sweep", trace=False,
                           bounds={"timeout": (9, 12), "lease": (9, 10), "drift": (0, 1)})
    assert fenced.formula == "true" and fenced.unsafe == []


def test_the_untimed_spec_is_unchanged_by_the_timed_mode():
    model, _ = load_model(SPLIT, {}, None)
    assert "timers" not in model.fields and not model.interpreted_only
    timed, _ = load_model(SPLIT, {"timing": "true"}, None)  # a CLI string picks the timed protocol too
    assert "timers" in timed.fields and timed.name == "SplitBrain"
    assert {type(n).__name__ for n in timed._base["_node_options"].values()} == {"TimedReplica", "Storage"}


def test_the_cli_shows_the_failover_with_times_and_exits_12():
    run = explore(SPLIT, "--param", "variant=no_epoch", "--param", "timing=true")
    assert run.code == 12
    assert "t = 14.0: r2: timer takeover" in run.out and "r1 wrote in epoch (1, 'r1') after r2" in run.out


@pytest.mark.parametrize("name", ["no_epoch_timed", "no_epoch_timed-at_the_bound"])
def test_the_saved_timed_counterexamples_replay(name):
    code, message = replay_file(str(SAVED / name / "one_primary.json"))
    assert code == 12 and "still violates one_primary" in message, message
