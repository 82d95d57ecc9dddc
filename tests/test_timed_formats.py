"""A timed trace shows its per-step time in the Mermaid diagram and the HTML report too (issue 6: "every
step of a timed counterexample carries a concrete time ... shown in the text, JSON and the sequence
diagram"; issue 5: every format), and an untimed trace shows none."""
from __future__ import annotations

import json
import re

import pytest

import explorer
from explorer import Node, Protocol, invariant, timer
from explorer.trace.dot import render_dot
from explorer.trace.html import render_html
from explorer.trace.json_io import load_trace, trace_from_json, trace_to_json
from explorer.trace.mermaid import render_mermaid
from explorer.trace.text import render_text

from .conftest import ROOT, SPECS, explore

SAVED = ROOT / "counterexamples" / "redis_lock" / "no_fencing_timed" / "mutual_exclusion.json"
UNTIMED = ROOT / "counterexamples" / "redis_lock" / "no_fencing" / "mutual_exclusion.json"  # the same bug, untimed


def _saved_times() -> list[float]:
    """The times the saved JSON gives each step, read straight from the file (not through the trace model)."""
    return [s["time"] for s in json.loads(SAVED.read_text())["steps"]]


def _fmt(x: float) -> str:
    return f"{x:.1f}"


@pytest.fixture(scope="module")
def saved():
    return trace_from_json(load_trace(SAVED))


def test_the_saved_timed_trace_is_the_lease_story_with_times_that_fit_the_ttl():
    times = _saved_times()
    assert len(times) == 5 and times == sorted(times)  # time never goes back
    params = json.loads(SAVED.read_text())["params"]
    assert times[1] - times[0] >= params["ttl"] - params["drift"]  # the lease expires no earlier than ttl - drift
    assert times[4] - times[0] <= params["max_pause"]  # A's pause ends by max_pause


def test_every_mermaid_step_of_a_timed_trace_carries_the_time_the_json_gives_it(saved):
    text = render_mermaid(saved)
    shown = [(int(i), float(x)) for i, x in re.findall(r"Note over system: (\d+)\. t = ([\d.]+): ", text)]
    assert shown == [(i, x) for i, x in enumerate(_saved_times(), start=1)]
    assert "Note over system: initial state, t = 0.0<br/>" in text


def test_the_mermaid_times_read_like_the_text_ones(saved):
    text_times = re.findall(r"^\s*\d+\. (t = [\d.]+): ", render_text(saved), flags=re.M)
    mermaid_times = re.findall(r"\d+\. (t = [\d.]+): ", render_mermaid(saved))
    assert text_times == mermaid_times == [f"t = {_fmt(x)}" for x in _saved_times()]


def _rows(page: str) -> list[list[str]]:
    table = page.split("<h2>Step by step</h2>", 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table)]


def test_the_html_step_table_has_a_time_column_with_each_steps_time(saved):
    rows = _rows(render_html(saved))
    assert rows[0][:3] == ["step", "time", "what happened"]
    body = rows[1:]
    assert [r[0] for r in body] == [str(i) for i in range(6)]
    assert [float(r[1]) for r in body] == [0.0] + _saved_times()
    assert body[2][2] == "lease_expires" and body[2][1] == "10.0"
    assert len({len(r) for r in rows}) == 1  # every row has as many cells as the header


def test_an_untimed_trace_shows_no_time_in_mermaid_or_html():
    trace = trace_from_json(load_trace(UNTIMED))
    assert "t = " not in render_mermaid(trace)
    rows = _rows(render_html(trace))
    assert rows[0][:2] == ["step", "what happened"] and "time" not in rows[0]


def test_a_fresh_timed_run_and_its_saved_copy_render_the_same_times(saved):
    r = explorer.check(SPECS / "redis_lock.py", params={"variant": "no_fencing", "timing": True})
    fresh = r.violations[0].trace
    assert re.findall(r"t = [\d.]+", render_mermaid(fresh)) == re.findall(r"t = [\d.]+", render_mermaid(saved))


# ---------------------------------------------------------------- an actor trace: times on arrows and notes

class Ticker(Node):
    ticks = 0

    def on_start(self):
        self.set_timer("tick")

    @timer(after=2)
    def tick(self):
        self.ticks += 1
        self.set_timer("tick")


class Alarm(Node):
    rang = False

    def on_start(self):
        self.set_timer("ring")

    @timer(after=5)
    def ring(self):
        self.rang = True


class Clock(Protocol):
    """A ticker every exactly 2, an alarm at exactly 5: by hand, ticks at 2 and 4 come first, the alarm at 5."""

    def nodes(self):
        return {"a": Ticker(), "b": Alarm()}

    @invariant
    def alarm_never_rings(self):
        return not self.node("b").rang


def test_an_actor_trace_shows_the_time_of_each_timer_note():
    trace = explorer.check(Clock).violations[0].trace
    text = render_mermaid(trace)
    notes = re.findall(r"Note over (\w+): (\d+)\. t = ([\d.]+): timer (\w+) fires", text)
    assert notes == [("a", "1", "2.0", "tick"), ("a", "2", "4.0", "tick"), ("b", "3", "5.0", "ring")]
    rows = _rows(render_html(trace))
    assert [r[1] for r in rows[1:]] == ["0.0", "2.0", "4.0", "5.0"]


# ---------------------------------------------------------------- --backend batch on a timed spec says why it is not used

def test_backend_batch_on_a_timed_spec_runs_interpreted_and_says_why():
    timed = {"variant": "no_fencing", "timing": True}
    r = explorer.check(SPECS / "redis_lock.py", params=timed, backend="batch")
    auto = explorer.check(SPECS / "redis_lock.py", params=timed)
    assert r.backend == "interp" and (r.distinct_states, r.transitions) == (auto.distinct_states, auto.transitions)
    assert [w for w in r.warnings if "timed spec" in w] == [
        "batched engine not used: RedisLock is a timed spec (time passes after each step, in zones), "
        "which only the interpreted engine runs"]
    assert not any("timed spec" in w for w in auto.warnings)  # auto picks interp silently: nothing was asked
    plain = explorer.check(SPECS / "lamport_twophase.py", params={"n": 2}, backend="batch")
    assert plain.backend == "batch" and not any("timed spec" in w for w in plain.warnings)


def test_the_cli_prints_the_warning_on_one_line():
    run = explore(SPECS / "redis_lock.py", "--param", "timing=true", "--backend", "batch")
    lines = [ln for ln in (run.out + run.err).splitlines() if "timed spec" in ln]
    assert run.code == 0 and len(lines) == 1 and lines[0].startswith("warning: batched engine not used")


def test_the_text_trace_says_what_each_step_did_to_the_clocks_not_two_zones():
    """A zone is a line of difference constraints; the text shows fired/armed/cancelled per step instead
    (the step's time says when), and the initial state lists the armed timers with their delays."""
    r = explorer.check(SPECS / "raft.py", params={"timing": True, "max_term": 1, "period": 9})
    v = next(v for v in r.violations if v.property == "leader_not_disrupted")
    text = render_text(v.trace)
    assert "Zone(" not in text
    assert "    timers: election 1 (10..20), election 2 (10..20), election 3 (10..20)\n" in text
    assert "1. t = 10.0: timeout(s=1)\n    timers: election 1 fired; armed election 1 (10..20)\n" in text
    assert "beat 1 fired; armed heartbeat 1->2 (0..1); armed heartbeat 1->3 (0..1); armed beat 1 (9)" in text
    last = text.split(f"{v.trace.length}. t = ", 1)[1]
    assert last.startswith("20.2: timeout(s=2)\n    timers: election 2 fired; armed election 2 (10..20)\n")
    assert "Zone(election 1" in json.dumps(trace_to_json(v.trace))  # the exact zone stays in the JSON
    for chart in (render_dot(v.trace), render_mermaid(v.trace), render_html(v.trace)):  # and the charts read alike
        assert "Zone(" not in chart and "election 2 fired" in chart and "armed election 2 (10..20)" in chart


def test_an_untimed_trace_keeps_its_fields_as_they_are():
    text = render_text(trace_from_json(load_trace(UNTIMED)))
    assert " t = " not in text and "fired" not in text
