"""Renderings of counterexamples: text, our JSON, ITF, the DOT sequence chart and its SVG.

The traces come from real explorations: the known-buggy two-phase commit (the coordinator forgets
its decision in a crash) and a ping-pong protocol defined here whose properties each fail after
one kind of fault, so every mark of the chart (loss, dup, drop, crash, partition) is exercised.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import explorer
from explorer import Message, Node, Protocol, Spec, action, invariant, on, param
from explorer.dsl.values import FrozenDict, FrozenList, FrozenSet
from explorer.errors import TraceFileError
from explorer.trace import dot as dot_module
from explorer.trace.dot import _esc, find_renderer, render_dot, render_svg
from explorer.trace.json_io import (
    DecodedMessage,
    decode_value,
    encode_value,
    load_trace,
    save_trace,
    trace_from_json,
    trace_to_itf,
    trace_to_json,
)
from explorer.trace.model import Trace, TraceStep
from explorer.trace.render import write_outputs
from explorer.trace.text import render_text

SPECS = Path(__file__).resolve().parent.parent / "specs"
needs_renderer = pytest.mark.skipif(find_renderer() is None, reason="no Graphviz renderer (dot or graphviz-pure)")


# ---------------------------------------------------------------------- a zoo of tiny protocols

class Ping(Message):
    n: int


class Pong(Message):
    n: int


class Note(Message):
    text: str


class Client(Node):
    acked = 0

    def on_start(self):
        self.send("server", Ping(n=1))

    @on(Pong)
    def got_pong(self, msg, sender):
        self.acked = msg.n


class Server(Node):
    seen = 0

    @on(Ping)
    def got_ping(self, msg, sender):
        self.seen += 1
        self.send(sender, Pong(n=msg.n))


class PingPong(Protocol):
    """Each `check` makes one property fail after one kind of fault."""

    check = param("loss", choices=("loss", "dup", "partition", "crash"))

    def nodes(self):
        return {"client": Client(), "server": Server()}

    @invariant
    def pong_not_lost(self):
        if self.check == "loss" and self.node("server").seen and not self.node("client").acked \
                and not self.in_flight():
            return "the server answered but the Pong was lost"
        return True

    @invariant
    def at_most_once(self):
        if self.check == "dup" and self.node("server").seen > 1:
            return f"the server handled Ping {self.node('server').seen} times"
        return True

    @invariant
    def no_heal_after_reply(self):
        if self.check == "partition" and self.node("client").acked and self.faults_left.get("partition") == 0 \
                and self.partition is None:
            return "the partition healed after the reply"
        return True

    @invariant
    def ping_arrives(self):
        if self.check == "crash" and not self.in_flight() and not self.node("server").seen:
            return "the Ping never arrived"
        return True


class FifoPingPong(PingPong):
    fifo = True


class Scribe(Node):
    got = ""

    @on(Note)
    def got_note(self, msg, sender):
        self.got = msg.text


class Author(Node):
    def on_start(self):
        self.send("scribe", Note(text='<b>"quoted" & back\\slash</b>\nnew line'))


class Nasty(Protocol):
    """A message whose text has every character DOT and HTML care about."""

    def nodes(self):
        return {"author": Author(), "scribe": Scribe()}

    @invariant
    def nothing_written(self):
        return self.node("scribe").got == ""


class Counter(Spec):
    def init(self):
        self.x = 0
        self.seen = frozenset()

    @action
    def inc(self):
        self.x += 1
        self.seen = self.seen | {self.x}

    @invariant
    def small(self):
        return self.x < 3 or f"x = {self.x}"


def _trace(spec, **kw) -> Trace:
    r = explorer.check(spec, **kw)
    assert r.violations, "the spec was expected to fail"
    return r.violations[0].trace


@pytest.fixture(scope="module")
def twopc() -> Trace:
    return _trace(str(SPECS / "twopc.py"), params={"variant": "no_durable_log"}, faults="crash=1")


@pytest.fixture(scope="module")
def faulty() -> dict[str, Trace]:
    faults = {"loss": "loss=1", "dup": "dup=1", "partition": "partition=1", "crash": "crash=1"}
    return {k: _trace(PingPong, params={"check": k}, faults=f) for k, f in faults.items()}


@pytest.fixture(scope="module")
def counter() -> Trace:
    return _trace(Counter)


def _blocks(text: str) -> dict[int, list[str]]:
    """Splits text output into {step number: its change lines}."""
    out: dict[int, list[str]] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"\s*(\d+)\. ", line)
        if m:
            current = int(m.group(1))
            out[current] = []
        elif not line.strip() or not line.startswith("    "):
            current = None
        elif current is not None:
            out[current].append(line)
    return out


# ---------------------------------------------------------------------- text

def test_text_shows_each_step_with_only_the_fields_it_changed(twopc):
    text = render_text(twopc)
    blocks = _blocks(text)
    assert sorted(blocks) == list(range(1, twopc.length + 1))
    for step in twopc.steps:
        named = {re.match(r"\s+([\w.]+)", ln).group(1) for ln in blocks[step.index] if re.match(r"\s+[\w.]", ln)}
        assert named == set(step.changes), step.label
    assert " 4. p1→coord Vote(yes=True)" in text
    assert "    coord.votes: + 'p1'" in blocks[4]
    assert "    network: - p1→coord Vote(yes=True)" in blocks[4]
    assert "    p1.state: 'working' → 'prepared'" in blocks[1]


def test_text_shows_the_network_as_added_and_removed_messages(twopc):
    blocks = _blocks(render_text(twopc))
    assert blocks[1] == [
        "    p1.state: 'working' → 'prepared'",
        "    network: - coord→p1 Prepare()",
        "             + p1→coord Vote(yes=True)",
    ]
    assert not any("{" in ln for ln in blocks[1])  # never the whole dict


def test_text_has_a_header_the_initial_state_and_the_verdict(twopc):
    text = render_text(twopc)
    head, _, rest = text.partition("Initial state")
    assert "TwoPC" in head and "variant='no_durable_log'" in head and "faults: crash=1" in head
    assert "atomicity violated (invariant) after 11 steps" in head
    initial = rest.split("\n\n")[0]
    for f in twopc.fields:
        assert f"    {f}: " in initial
    verdict = text[text.index("Violated: atomicity (invariant)"):]
    assert twopc.reason in verdict
    assert "    p1.state: 'committed'" in verdict and "    p2.state: 'aborted'" in verdict


def test_text_is_plain_unless_colour_is_asked_for(twopc):
    assert "\x1b[" not in render_text(twopc)
    coloured = render_text(twopc, color=True)
    assert "\x1b[31m" in coloured and "\x1b[0m" in coloured
    assert re.sub(r"\x1b\[\d+m", "", coloured) == render_text(twopc)


def test_text_of_a_plain_spec_shows_set_deltas(counter):
    text = render_text(counter)
    assert "1. inc\n    x: 0 → 1\n    seen: + 1\n" in text
    assert "Violated: small (invariant)\n  x = 3\n" in text


def test_text_marks_where_a_lasso_loops(counter):
    lasso = Trace(**{**counter.__dict__, "loop_start": 2, "kind": "liveness"})
    text = render_text(lasso)
    assert text.index("loop: steps 2..3 repeat forever") < text.index("2. inc")
    assert "back to the state before step 2" in text


# ---------------------------------------------------------------------- our JSON

def test_json_round_trips_through_save_and_load(twopc, tmp_path):
    path = save_trace(twopc, tmp_path / "t.json")
    data = load_trace(path)
    for key in ("format", "version", "spec", "spec_file", "params", "faults", "property", "kind", "reason",
                "init_decisions", "steps", "initial", "loop_start"):
        assert key in data, key
    assert data["format"] == "explorer-trace" and data["version"] == 1
    assert data["property"] == "atomicity" and data["params"] == {"n": 3, "variant": "no_durable_log"}
    assert [(s["action"], tuple(s["decisions"])) for s in data["steps"]] == \
        [(s.action, s.decisions) for s in twopc.steps]
    assert set(data["steps"][0]) >= {"index", "action", "decisions", "label", "info", "changes", "state"}
    assert data["steps"][7]["info"]["kind"] == "crash"
    assert render_text(trace_from_json(data)) == render_text(twopc)


def test_json_is_deterministic(twopc):
    assert json.dumps(trace_to_json(twopc), sort_keys=False) == json.dumps(trace_to_json(twopc), sort_keys=False)


@pytest.mark.parametrize("value, encoded", [
    (None, None), (3, 3), ("a", "a"), (True, True),
    (FrozenList([1, 2]), [1, 2]),
    (FrozenDict({"b": 1, "a": 2}), {"a": 2, "b": 1}),
    (FrozenDict({1: "x"}), {"#map": [[1, "x"]]}),
    (FrozenDict({"#k": 1}), {"#map": [["#k", 1]]}),
    (FrozenSet({2, 1}), {"#set": [1, 2]}),
    (frozenset({"b", "a"}), {"#frozenset": ["a", "b"]}),
    ((1, "a"), {"#tup": [1, "a"]}),
    (Ping(n=1), {"#msg": "Ping", "fields": {"n": 1}}),
    (float("inf"), {"#float": "inf"}),
])
def test_encode_value_follows_the_documented_table(value, encoded):
    assert encode_value(value) == encoded
    back = decode_value(json.loads(json.dumps(encoded)))
    if isinstance(value, frozenset):  # a set's repr order follows PYTHONHASHSEED: compare values
        assert back == value and type(back) is type(value)
    else:
        assert repr(back) == repr(value)


def test_decoded_messages_print_like_the_originals():
    m = decode_value(encode_value(FrozenDict({("a", "b", Pong(n=2)): 1})))
    (key,) = m
    assert isinstance(key[2], DecodedMessage) and repr(key[2]) == "Pong(n=2)"


@pytest.mark.parametrize("content, message", [
    ('{"format": "explorer-trace", "version": 1, "spec": "X", "par', "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"format": "something-else", "version": 1}', "not an explorer trace"),
    ('{"format": "explorer-trace", "version": 7, "spec": "X", "params": {}, "steps": []}', "version 7"),
    ('{"format": "explorer-trace", "version": 1, "params": {}, "steps": []}', "no 'spec'"),
    ('{"format": "explorer-trace", "version": 1, "spec": "X", "params": {}, "steps": [{"action": "a", '
     '"decisions": ["x"]}]}', "steps[0].decisions"),
    ('{"#meta": {}, "vars": [], "states": []}', "ITF"),
])
def test_load_trace_rejects_a_damaged_file_with_a_clear_message(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(TraceFileError) as e:
        load_trace(path)
    assert message in str(e.value)
    assert str(path) in str(e.value)
    assert e.value.exit_code == 2


def test_load_trace_rejects_a_truncated_real_trace_and_a_missing_file(twopc, tmp_path):
    path = save_trace(twopc, tmp_path / "t.json")
    path.write_text(path.read_text()[:500])
    with pytest.raises(TraceFileError, match="not valid JSON"):
        load_trace(path)
    with pytest.raises(TraceFileError, match="no such trace file"):
        load_trace(tmp_path / "missing.json")


# ---------------------------------------------------------------------- ITF

def test_itf_has_the_documented_shape(twopc):
    itf = json.loads(json.dumps(trace_to_itf(twopc)))
    assert itf["#meta"]["format"] == "ITF"
    assert itf["vars"] == list(twopc.fields) and "coord.decision" in itf["vars"]
    assert len(itf["states"]) == twopc.length + 1
    for i, state in enumerate(itf["states"]):
        assert state["#meta"]["index"] == i
        assert set(state) == set(twopc.fields) | {"#meta"}
    first = itf["states"][0]
    assert first["coord.votes"] == {"#set": []}
    assert first["network"]["#map"][0] == [{"#tup": ["coord", "p1", {"tag": "Prepare", "value": {"#tup": []}}]}, 1]
    assert itf["states"][-1]["p2.state"] == "aborted"
    assert "loop" not in itf


def test_itf_writes_big_integers_as_strings_and_marks_a_loop(counter):
    t = Trace(**{**counter.__dict__, "loop_start": 2, "steps": list(counter.steps)})
    t.steps[-1] = TraceStep(**{**t.steps[-1].__dict__, "state": {**t.steps[-1].state, "x": 2**64}})
    itf = trace_to_itf(t)
    assert itf["states"][-1]["x"] == {"#bigint": str(2**64)}
    assert itf["states"][0]["x"] == 0
    assert itf["loop"] == 1


# ---------------------------------------------------------------------- DOT

def _edges(dot: str, cls: str) -> list[str]:
    return [ln for ln in dot.splitlines() if f'class="msg {cls}"' in ln]


def test_dot_draws_one_lifeline_per_node_in_field_order(twopc):
    dot = render_dot(twopc)
    headers = re.findall(r"^  (n\d+)_0 \[.*?label=<<b>(\w+)</b>", dot, re.M)
    assert [name for _, name in headers] == ["coord", "p1", "p2", "p3"]
    for j in range(4):
        chain = [ln for ln in dot.splitlines() if re.match(rf"  n{j}_\d+ -> n{j}_\d+ .*arrowhead=none", ln)]
        assert len(chain) == twopc.length + 1  # header, every step, the final state
    assert dot.count("rank=same") == twopc.length + 2


def test_dot_draws_one_arrow_per_delivered_message_and_the_ones_in_flight(twopc):
    dot = render_dot(twopc)
    delivered = [s for s in twopc.steps if s.info.get("kind") == "deliver"]
    assert len(_edges(dot, "deliver")) == len(delivered) == 8
    assert len(_edges(dot, "inflight")) == sum(twopc.final["network"].values()) == 4
    # the vote of p1, sent at step 1, arrives at coord in step 4
    assert any(ln.startswith("  n1_1 -> n0_4 ") for ln in _edges(dot, "deliver"))
    # the Prepares were in the initial network: they leave from the header
    assert any(ln.startswith("  n0_0 -> n3_3 ") for ln in _edges(dot, "deliver"))


def test_dot_marks_the_crash_the_restart_and_the_timer(twopc):
    dot = render_dot(twopc)
    crash = next(ln for ln in dot.splitlines() if ln.startswith("  n0_8 ["))
    assert "CRASH" in crash and "loses decision = True" in crash
    assert "RESTART (down since step 8)" in next(ln for ln in dot.splitlines() if ln.startswith("  n0_9 ["))
    assert "timer vote_timeout fires" in next(ln for ln in dot.splitlines() if ln.startswith("  n0_10 ["))
    assert re.search(r"n0_8 -> n0_9 \[style=dotted", dot)  # the lifeline while coord is down


def test_dot_highlights_the_violation(twopc):
    dot = render_dot(twopc)
    verdict = next(ln for ln in dot.splitlines() if ln.startswith("  verdict ["))
    assert "atomicity violated (invariant) after step 11" in verdict
    assert "some participants committed and others aborted" in verdict
    assert 'color="#c62828"' in verdict
    end_p2 = next(ln for ln in dot.splitlines() if ln.startswith("  n2_12 ["))
    assert "penwidth=2" in end_p2 and "<b>state = 'aborted'</b>" in end_p2  # a field the property read


def test_dot_names_the_sender_in_each_delivery_box(twopc):
    dot = render_dot(twopc)
    for s in twopc.steps:
        if s.info.get("kind") == "deliver":
            box = next(ln for ln in dot.splitlines() if ln.startswith(f"  {_cell(twopc, s.info['dst'], s.index)} ["))
            assert f"{s.index}  got {s.info['msg']} from {s.info['src']}" in box, box


def test_dot_event_boxes_let_the_arrows_passing_behind_them_show(twopc):
    """coord's Prepare to p3 (sent at the start, delivered at step 3) passes behind the boxes of steps 1
    and 2: drawn opaque, it looked as if p1 and p2 had sent it on. Every event box is partly transparent."""
    dot = render_dot(twopc)
    assert any(ln.startswith("  n0_0 -> n3_3 ") for ln in _edges(dot, "deliver"))
    events = [ln for ln in dot.splitlines() if re.match(r"  n\d+_(\d+) \[shape=box", ln)
              and 0 < int(re.match(r"  n\d+_(\d+)", ln).group(1)) <= twopc.length]
    assert len(events) >= twopc.length
    fills = [re.search(r'fillcolor="(#[0-9a-f]+)"', ln).group(1) for ln in events]
    assert all(len(f) == 9 and int(f[7:], 16) < 0xff for f in fills), fills


def _cell(trace: Trace, nid: str, row: int) -> str:
    """The DOT id of node `nid`'s cell in `row`, by the lifeline order the chart uses (field order)."""
    nodes = list(dict.fromkeys(f.split(".", 1)[0] for f in trace.fields if "." in f))
    return f"n{nodes.index(nid)}_{row}"


@pytest.fixture(scope="module")
def blocked() -> Trace:
    """2PC (n=2) whose coordinator crashes for good: a liveness counterexample that stops."""
    return _trace(str(SPECS / "twopc.py"), params={"n": 2}, faults="crash=1,restart=0")


def test_dot_of_a_behaviour_that_stops_says_it_stays_there_and_marks_who_is_stuck(blocked):
    assert blocked.kind == "liveness" and blocked.loop_start is None
    dot = render_dot(blocked)
    end = next(ln for ln in dot.splitlines() if ln.startswith("  g_end ["))
    assert "stays here forever" in end
    stuck = [nid for nid in ("p1", "p2") if blocked.final[f"{nid}.state"] == "prepared"]
    assert stuck and all(f"{nid}.state" in blocked.read for nid in stuck)
    for nid in stuck:
        box = next(ln for ln in dot.splitlines() if ln.startswith(f"  {_cell(blocked, nid, blocked.length + 1)} ["))
        assert "penwidth=2" in box and "<b>state = 'prepared'</b>" in box


def test_dot_of_an_invariant_violation_does_not_say_it_stays_forever(twopc):
    end = next(ln for ln in render_dot(twopc).splitlines() if ln.startswith("  g_end ["))
    assert "forever" not in end


def test_dot_ends_a_lost_message_in_a_red_cross(faulty):
    trace = faulty["loss"]
    assert [s.info["kind"] for s in trace.steps] == ["deliver", "loss"]
    dot = render_dot(trace)
    (loss,) = _edges(dot, "loss")
    assert loss.startswith("  n1_1 -> lost_2 ")  # the server's Pong, sent at step 1
    cross = next(ln for ln in dot.splitlines() if ln.startswith("  lost_2 ["))
    assert "×" in cross and "#c62828" in cross and "Pong(n=1)" in cross
    assert "{ rank=same; g_2; n0_2; lost_2; n1_2; }" in dot  # the cross sits between the two lifelines
    assert len(_edges(dot, "deliver")) == 1


def test_dot_marks_a_duplicate_delivery(faulty):
    dot = render_dot(faulty["dup"])
    assert len(_edges(dot, "dup")) == 1 and len(_edges(dot, "deliver")) == 1
    assert "(dup: a copy stays in flight)" in dot
    assert len(_edges(dot, "inflight")) == 2  # both Pongs


def test_dot_draws_a_partition_as_a_band_until_the_heal(faulty):
    dot = render_dot(faulty["partition"])
    band = dot[dot.index("subgraph cluster_partition_0"):]
    band = band[:band.index("}")]
    assert "partition: client  |  server" in band and "healed at step 4" in band
    assert "g_3" in band and "g_4" in band and "g_2;" not in band


def test_dot_shows_a_message_dropped_at_a_crashed_node(faulty):
    dot = render_dot(faulty["crash"])
    assert len(_edges(dot, "drop")) == 1
    assert "Ping(n=1) dropped: server is down" in dot
    assert "server (down)" in dot


def test_a_fifo_network_renders_like_an_unordered_one():
    trace = _trace(FifoPingPong, params={"check": "loss"}, faults="loss=1")
    blocks = _blocks(render_text(trace))
    assert blocks[1][1:] == ["    network: - client→server Ping(n=1)", "             + server→client Pong(n=1)"]
    dot = render_dot(trace)
    assert len(_edges(dot, "deliver")) == 1 and len(_edges(dot, "loss")) == 1


def test_dot_of_a_plain_spec_is_a_chain_of_states_ending_in_red(counter):
    dot = render_dot(counter)
    assert [ln.strip() for ln in dot.splitlines() if "->" in ln] == ["s0 -> s1;", "s1 -> s2;", "s2 -> s3;"]
    last = next(ln for ln in dot.splitlines() if ln.startswith("  s3 ["))
    assert "#c62828" in last and "small violated (invariant)" in last and "x: 2 → 3" in last
    assert "initial state" in dot and "x = 0" in dot


def test_esc_escapes_every_character_dot_labels_care_about():
    assert _esc('a"b\\c<d>&e\nf') == 'a&quot;b&#92;c&lt;d&gt;&amp;e<br align="left"/>f'


def test_dot_labels_are_escaped():
    trace = _trace(Nasty)
    dot = render_dot(trace)
    assert "&lt;b&gt;&quot;quoted&quot; &amp; back&#92;&#92;slash" in dot
    assert "<b>\"quoted" not in dot


# ---------------------------------------------------------------------- SVG and files

@needs_renderer
def test_every_chart_renders_to_svg_and_png(twopc, faulty, counter):
    for trace in [twopc, counter, _trace(Nasty), *faulty.values()]:
        svg = render_svg(render_dot(trace))
        assert svg is not None and b"<svg" in svg, trace.violated
    png = render_svg(render_dot(twopc), fmt="png")
    assert png is not None and png.startswith(b"\x89PNG")


@needs_renderer
def test_render_svg_refuses_traces_too_long_to_lay_out(counter):
    steps = [TraceStep(i, "inc", (0,), "inc", {}, {"x": i, "seen": frozenset()}, {"x": (i - 1, i)})
             for i in range(1, 202)]
    long = Trace(**{**counter.__dict__, "steps": steps})
    assert render_svg(render_dot(long)) is None
    assert render_svg(render_dot(Trace(**{**counter.__dict__, "steps": steps[:200]}))) is not None


def test_render_svg_returns_none_without_a_renderer(monkeypatch, counter):
    monkeypatch.setattr(dot_module.shutil, "which", lambda name: None)
    assert render_svg(render_dot(counter)) is None


def test_write_outputs_writes_every_format(faulty, tmp_path):
    files = write_outputs(faulty["loss"], tmp_path / "out", "pong_not_lost")
    assert {"text", "json", "itf", "dot"} <= set(files)
    assert Path(files["text"]).name == "pong_not_lost.txt"
    assert Path(files["itf"]).name == "pong_not_lost.itf.json"
    for path in files.values():
        assert Path(path).stat().st_size > 0
    assert load_trace(files["json"])["property"] == "pong_not_lost"
    assert ("svg" in files) == (find_renderer() is not None)
