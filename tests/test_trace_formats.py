"""The formats added for study: Mermaid, the HTML report, PNG, the state-graph view, `explore render`
in every format, `--max-violations`, and what the sequence chart must show (issue 5, section 4)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import explorer
from explorer import Spec, action, invariant, require
from explorer.errors import UsageError
from explorer.trace.dot import find_renderer, render_dot
from explorer.trace.html import command_line, render_html
from explorer.trace.json_io import load_trace, save_trace, trace_from_json
from explorer.trace.mermaid import render_mermaid
from explorer.trace.model import Trace
from explorer.trace.render import write_outputs
from explorer.trace.stategraph import GraphTooBig, state_graph_dot

from .conftest import FIXTURES, SPECS, explore
from .test_trace_render import PingPong, _trace

needs_renderer = pytest.mark.skipif(find_renderer() is None, reason="no Graphviz renderer (dot or graphviz-pure)")
TWOPC = SPECS / "twopc.py"


class Steps(Spec):
    """Counts to 3 in steps of 1 or 2: 4 states, a small graph with two ways to the bad state."""

    def init(self):
        self.x = 0

    @action
    def one(self):
        from explorer import require

        require(self.x < 3)
        self.x += 1

    @action
    def two(self):
        from explorer import require

        require(self.x < 2)
        self.x += 2

    @invariant
    def below_three(self):
        return self.x < 3 or f"x = {self.x}"


@pytest.fixture(scope="module")
def twopc() -> Trace:
    return _trace(str(TWOPC), params={"variant": "no_durable_log", "n": 2}, faults="crash=1")


@pytest.fixture(scope="module")
def faulty() -> dict[str, Trace]:
    faults = {"loss": "loss=1", "dup": "dup=1", "partition": "partition=1", "crash": "crash=1"}
    return {k: _trace(PingPong, params={"check": k}, faults=f) for k, f in faults.items()}


# ---------------------------------------------------------------------- the trace model

def test_an_actor_trace_knows_each_nodes_class_and_keeps_it_in_json(twopc, tmp_path):
    assert twopc.nodes == {"coord": "ForgetfulCoordinator", "p1": "Participant", "p2": "Participant"}
    data = load_trace(save_trace(twopc, tmp_path / "t.json"))
    assert data["nodes"] == twopc.nodes
    assert trace_from_json(data).nodes == twopc.nodes


def test_a_plain_trace_has_no_nodes():
    assert _trace(Steps).nodes == {}


# ---------------------------------------------------------------------- the sequence chart (issue 5, section 4)

def test_every_step_of_the_chart_carries_the_number_the_text_gives_it(twopc):
    dot = render_dot(twopc)
    for s in twopc.steps:
        row = re.search(rf"^  g_{s.index} \[.*label=<(.*)>\];$", dot, re.M)
        assert row and re.match(rf"{s.index}\b", re.sub("<[^>]+>", "", row.group(1))), s.index
        actor = s.info["node"]
        col = list(twopc.nodes).index(actor)
        mark = re.search(rf"^  n{col}_{s.index} \[(.*)\];$", dot, re.M).group(1)
        assert f"{s.index}  " in mark, (s.index, mark)  # the event box starts with its step number


def test_the_chart_shows_a_timer_firing_and_the_state_a_crash_lost(twopc):
    dot = render_dot(twopc)
    timer = next(s for s in twopc.steps if s.info["kind"] == "timer")
    assert f"{timer.index}  timer vote_timeout fires" in dot
    crash = next(s for s in twopc.steps if s.info["kind"] == "crash")
    assert f"{crash.index}  CRASH" in dot and "loses decision = True" in dot


def test_the_chart_draws_one_edge_per_delivered_message_copy(faulty):
    for trace in faulty.values():
        dot = render_dot(trace)
        ends = sum(1 for s in trace.steps if s.info.get("kind") in ("deliver", "dup", "loss", "drop"))
        drawn = len(re.findall(r'class="msg (deliver|dup|loss|drop)"', dot))
        assert drawn == ends, trace.violated


# ---------------------------------------------------------------------- Mermaid

def test_mermaid_has_a_lifeline_per_node_and_an_arrow_per_delivery(twopc):
    text = render_mermaid(twopc)
    lines = text.splitlines()
    assert lines[0] == "sequenceDiagram"
    assert "    participant coord as coord (ForgetfulCoordinator)" in lines
    delivered = [s for s in twopc.steps if s.info["kind"] == "deliver"]
    arrows = [ln for ln in lines if "->>" in ln]
    assert len(arrows) == len(delivered)
    for s in delivered:
        assert any(ln.strip().startswith(f"{s.info['src']}->>{s.info['dst']}: {s.index}. ") for ln in arrows)
    assert any("CRASH, loses decision = True" in ln for ln in lines)
    assert lines[-1].startswith("    Note over coord,p2: atomicity violated (invariant) after step")


def test_mermaid_marks_loss_with_a_cross_duplicates_and_a_partition_band(faulty):
    assert re.search(r"^    server-xclient: 2\. LOST Pong\(n=1\) \(sent at 1\)$", render_mermaid(faulty["loss"]), re.M)
    assert "DUPLICATE" in render_mermaid(faulty["dup"])
    part = render_mermaid(faulty["partition"]).splitlines()
    opened = part.index("    rect rgba(198, 40, 40, 0.12)")
    assert "PARTITION" in part[opened + 1]
    closing = next(i for i, ln in enumerate(part) if "HEAL" in ln)
    assert part[closing + 1] == "    end"


def test_mermaid_escapes_semicolons_and_hashes():
    from explorer.trace.mermaid import _t

    assert _t("a;b#c<d>") == "a#59;b#35;c#lt;d#gt;"


# ---------------------------------------------------------------------- HTML

def test_the_html_report_is_self_contained_and_has_the_table_the_stats_and_the_command(twopc):
    page = render_html(twopc, "<svg><g/></svg>", stats={"distinct_states": 1169}, json_name="atomicity.json")
    assert page.startswith("<!DOCTYPE html>") and "<svg><g/></svg>" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page) and "<script" not in page
    assert "distinct_states" in page and "1169" in page
    assert "explore replay atomicity.json" in page
    assert command_line(twopc) in page.replace("&#x27;", "'")
    assert page.count('<td class="step">') == twopc.length + 1
    assert 'class="bad"' in page  # the fields the property read, in the final state


def test_the_command_line_names_the_spec_parameters_and_faults(twopc):
    cmd = command_line(twopc)
    assert cmd.startswith("explore ") and "twopc.py" in cmd
    assert "--param n=2" in cmd and "--param variant=no_durable_log" in cmd and "--faults crash=1" in cmd


def test_the_html_report_without_a_renderer_says_how_to_get_one(twopc):
    page = render_html(twopc, None, dot_text="digraph {}")
    assert "pip install graphviz-pure" in page and "digraph {}" in page


# ---------------------------------------------------------------------- the state graph

def test_the_state_graph_highlights_the_path_and_the_violating_state():
    model = Steps.build_model({})
    trace = _trace(Steps)
    from explorer.engine.paths import replay_trace

    _t, states, _f = replay_trace(model, trace.init_decisions, [(s.action, s.decisions) for s in trace.steps])
    dot = state_graph_dot(model, trace, states)
    assert dot.count("[label=<<b>s") == 4  # x = 0, 1, 2, 3
    assert len(re.findall(r"penwidth=2\.2", dot)) == trace.length
    bad = re.search(r'^  (s\d+) \[.*color="#c62828".*$', dot, re.M)
    assert bad and "x=3" in bad.group(0)
    assert "below_three violated" in dot


def test_a_state_graph_above_the_limit_is_refused_with_a_clear_message():
    model = explorer.api.load_model(str(TWOPC), {"n": 2})[0]
    with pytest.raises(GraphTooBig) as e:
        state_graph_dot(model, None, (), limit=50)
    assert isinstance(e.value, UsageError) and "more than 50 states" in str(e.value)


# ---------------------------------------------------------------------- files

def test_write_outputs_writes_every_format_and_the_state_graph_of_a_small_spec(tmp_path):
    trace = _trace(Steps)
    files = write_outputs(trace, tmp_path, "below_three", model=Steps.build_model({}), stats={"distinct_states": 4})
    assert {"text", "json", "itf", "dot", "mermaid", "html", "states_dot"} <= set(files)
    if find_renderer():
        assert {"svg", "png", "states_svg"} <= set(files)
        assert Path(files["png"]).read_bytes().startswith(b"\x89PNG")
    assert load_trace(files["json"])["stats"] == {"distinct_states": 4}


@needs_renderer
def test_explore_out_writes_png_mermaid_and_html(tmp_path):
    run = explore(FIXTURES / "buggy_counter.py", "--out", tmp_path)
    assert run.code == 12, run
    for suffix in (".txt", ".json", ".itf.json", ".dot", ".svg", ".png", ".mmd", ".html", ".states.dot"):
        assert (tmp_path / f"below_limit{suffix}").exists(), suffix
    assert "wrote png:" in run.out and "wrote html:" in run.out


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A counterexample saved by `explore --out` (BuggyCounter: x reaches 3)."""
    out = tmp_path_factory.mktemp("saved")
    run = explore(FIXTURES / "buggy_counter.py", "--out", out)
    assert run.code == 12, run
    return out / "below_limit.json"


@pytest.mark.parametrize("fmt, suffix, start", [
    ("mermaid", "mmd", "sequenceDiagram"), ("html", "html", "<!DOCTYPE html>"), ("text", "txt", "Trace of"),
    ("graph-dot", "states.dot", "// explorer state graph"), ("itf", "itf.json", "{"), ("dot", "dot", "// explorer"),
])
def test_render_writes_each_format(saved, tmp_path, fmt, suffix, start):
    from explorer.replay import render_file

    path = render_file(str(saved), fmt, str(tmp_path / f"x.{suffix}"))
    assert Path(path).read_text().startswith(start)


def test_explore_render_all_writes_every_format_next_to_each_other(saved, tmp_path):
    r = explore("render", saved, "--format", "all", "-o", tmp_path)
    assert r.code == 0, r
    names = {p.name for p in tmp_path.iterdir()}
    assert {"below_limit.json", "below_limit.mmd", "below_limit.html", "below_limit.states.dot"} <= names


def test_explore_render_keeps_the_fields_read_and_the_loop_of_the_saved_trace(saved, tmp_path):
    from explorer.replay import render_file

    data = json.loads(saved.read_text())
    data["loop_start"] = 2
    path = tmp_path / "lasso.json"
    path.write_text(json.dumps(data))
    text = Path(render_file(str(path), "text", str(tmp_path / "x.txt"), spec=str(FIXTURES / "buggy_counter.py")))
    text = text.read_text()
    assert "loop: steps 2..3 repeat forever" in text
    assert "it read, in the final state:\n    x: 3" in text


def test_explore_render_of_a_big_state_graph_is_refused_with_exit_2(tmp_path):
    run = explore(TWOPC, "--param", "variant=no_durable_log", "--param", "n=2", "--faults", "crash=1",
                  "--out", tmp_path, "--raw-trace")
    assert run.code == 12
    r = explore("render", tmp_path / "atomicity.json", "--format", "graph")
    assert r.code == 2 and "state graph has more than" in r.err and "Traceback" not in r.err


def test_explore_render_of_a_damaged_file_exits_2(tmp_path):
    bad = tmp_path / "t.json"
    bad.write_text("{")
    r = explore("render", bad, "--format", "html")
    assert r.code == 2 and "not valid JSON" in r.err and "Traceback" not in r.err


# ---------------------------------------------------------------------- several counterexamples

class UpDown(Spec):
    """x walks up or down from 0 and must stay within -1..1: broken at 2 (last step up) and at -2 (down)."""

    def init(self):
        self.x = 0

    @action
    def up(self):
        self.x += 1

    @action
    def down(self):
        self.x -= 1

    @invariant
    def near_zero(self):
        return abs(self.x) < 2


@pytest.mark.parametrize("backend", ["interp", "batch"])
def test_max_violations_gives_one_counterexample_per_property_and_last_action(backend):
    r = explorer.check(UpDown, max_violations=5, backend=backend)
    assert r.backend == backend
    assert sorted((v.property, v.trace.steps[-1].action, v.trace.final["x"]) for v in r.violations) == \
        [("near_zero", "down", -2), ("near_zero", "up", 2)]
    assert len(explorer.check(UpDown, backend=backend).violations) == 1


class ThreeWays(Spec):
    """Deadlocks at x = 3 (after incx), y = 3 (after incy) and x = 1, y = 5 (after both)."""

    def init(self):
        self.x, self.y = 0, 0

    @action
    def incx(self):
        require(self.x < 3 and self.y == 0)
        self.x += 1

    @action
    def incy(self):
        require(self.y < 3 and self.x == 0)
        self.y += 1

    @action
    def both(self):
        require(self.x == 1 and self.y == 0)
        self.y = 5


@pytest.mark.parametrize("backend", ["interp", "batch"])
def test_max_violations_gives_one_deadlock_per_last_action_on_both_engines(backend):
    r = explorer.check(ThreeWays, deadlock=True, max_violations=5, backend=backend)
    assert r.backend == backend
    assert [[s.action for s in v.trace.steps] for v in r.violations] == \
        [["incx", "both"], ["incx", "incx", "incx"], ["incy", "incy", "incy"]]


def _violation_summary(r):
    return [(v.property, v.reason, [(s.action, s.decisions) for s in v.trace.steps]) for v in r.violations]


@pytest.mark.parametrize("k", [2, 4])
def test_max_violations_batched_and_interpreted_give_the_same_counterexamples_and_counts(k):
    # two atomicity counterexamples of the same length (a delivered and a duplicated Decision) on one level
    runs = {b: explorer.check(str(TWOPC), params={"variant": "no_durable_log", "n": 2}, faults="crash=1,dup=1",
                              max_violations=k, backend=b) for b in ("interp", "batch")}
    assert runs["batch"].backend == "batch"
    assert _violation_summary(runs["batch"]) == _violation_summary(runs["interp"])
    assert (runs["batch"].distinct_states, runs["batch"].transitions) == \
        (runs["interp"].distinct_states, runs["interp"].transitions)
    assert [v.property for v in runs["batch"].violations][:2] == ["atomicity", "atomicity"]


@pytest.mark.slow
def test_max_violations_on_twopc_tells_a_delivered_decision_from_a_duplicated_one():
    r = explorer.check(str(TWOPC), params={"variant": "no_durable_log", "n": 2}, faults="crash=1,dup=1",
                       max_violations=4, backend="interp")
    keys = [(v.property, v.trace.steps[-1].action, v.trace.steps[-1].info.get("msg_type")) for v in r.violations]
    assert len(keys) == len(set(keys)) >= 2
    assert ("atomicity", "deliver", "Decision") in keys and ("atomicity", "duplicate", "Decision") in keys


# ---------------------------------------------------------------------- without a renderer

def test_without_a_renderer_only_dot_is_written_and_the_report_says_how_to_get_one(monkeypatch, tmp_path):
    from explorer.trace import dot as dot_module
    from explorer.trace.render import RENDERER_HINT, renderer_hint

    monkeypatch.setattr(dot_module.shutil, "which", lambda name: None)
    files = write_outputs(_trace(Steps), tmp_path, "below_three")
    assert "dot" in files and "svg" not in files and "png" not in files
    assert "pip install graphviz-pure" in Path(files["html"]).read_text()
    assert renderer_hint() == RENDERER_HINT and "graphviz-pure" in RENDERER_HINT


def test_render_to_png_without_a_renderer_is_a_usage_error_with_a_hint(monkeypatch, saved, tmp_path):
    from explorer.errors import TraceFileError
    from explorer.replay import render_file
    from explorer.trace import dot as dot_module

    monkeypatch.setattr(dot_module.shutil, "which", lambda name: None)
    with pytest.raises(TraceFileError) as e:
        render_file(str(saved), "png", str(tmp_path / "x.png"))
    assert e.value.exit_code == 2 and "--format dot" in e.value.render()


def test_the_verdict_box_lists_the_injected_faults_or_says_there_were_none(twopc, faulty):
    verdict = next(ln for ln in render_dot(twopc).splitlines() if ln.startswith("  verdict ["))
    crash = next(s for s in twopc.steps if s.info["kind"] == "crash")
    assert f"injected faults: {crash.index}. crash coord; {crash.index + 1}. restart coord" in verdict
    loss = next(ln for ln in render_dot(faulty["loss"]).splitlines() if ln.startswith("  verdict ["))
    assert "injected faults: 2. lose server→client Pong(n=1)" in loss


def test_traces_of_every_fault_kind_match_the_published_json_schema(faulty, twopc):
    jsonschema = pytest.importorskip("jsonschema")
    from explorer.trace.json_io import trace_to_json

    schema = json.loads((Path(__file__).resolve().parent.parent / "docs" / "trace.schema.json").read_text())
    for trace in [twopc, *faulty.values()]:
        jsonschema.validate(json.loads(json.dumps(trace_to_json(trace))), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**trace_to_json(twopc), "version": 2}, schema)
