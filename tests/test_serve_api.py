"""`explore serve`: every JSON endpoint, on a server started on an ephemeral port in a thread.

The helpers at the top (`running`, `Client`) are shared with the browser test."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from explorer import check
from explorer.errors import UsageError
from explorer.serve.command import make_server
from explorer.trace.dot import find_renderer
from explorer.trace.json_io import save_trace, validate_trace_json

from .conftest import BAD, FIXTURES, TWOPC, explore


class Client:
    """Talks to one running server; every answer is (HTTP status, decoded JSON or text)."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def request(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        h = {"Content-Type": "application/json"} if data is not None else {}
        h.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, _decode(r.read(), r.headers.get("Content-Type", ""))
        except urllib.error.HTTPError as e:
            return e.code, _decode(e.read(), e.headers.get("Content-Type", ""))

    def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return self.request("POST", path, body if body is not None else {}, **kw)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        """Returns the JSON of a request that must succeed."""
        status, data = self.request(method, path, body if body is not None or method == "GET" else {})
        assert status == 200, f"{method} {path} -> {status}: {data}"
        return data

    def state(self) -> dict[str, Any]:
        return self.ok("GET", "/api/state")

    def take(self, pick) -> dict[str, Any]:
        """Takes the first enabled action for which `pick(action)` is true; fails when there is none."""
        v = self.state()
        for g in v["actions"]:
            for a in g["actions"]:
                if pick(a):
                    return self.ok("POST", "/api/step", {"state_id": v["state_id"], "action": a["action"],
                                                         "decisions": a["decisions"]})
        raise AssertionError(f"no enabled action matches; enabled: {[a['label'] for g in v['actions'] for a in g['actions']]}")


def _decode(body: bytes, ctype: str) -> Any:
    return json.loads(body) if "json" in ctype else body.decode("utf-8", "replace")


@contextmanager
def running(spec: str | None, params: dict[str, Any] | None = None, faults: Any = None, **kw: Any) -> Iterator[Client]:
    """Starts `explore serve` for `spec` on an ephemeral port in a thread; stops it afterwards."""
    server = make_server(str(spec) if spec else None, params or {}, faults, port=0, **kw)
    server.start_in_thread()
    try:
        yield Client(server.url)
    finally:
        server.shutdown()
        server.server_close()


def labels(view: dict[str, Any]) -> list[str]:
    return [a["label"] for g in view["actions"] for a in g["actions"]]


def node(view: dict[str, Any], nid: str) -> dict[str, Any]:
    return next(n for n in view["state"]["nodes"] if n["id"] == nid)


def field(view: dict[str, Any], nid: str, name: str) -> str:
    return next(f["value"] for f in node(view, nid)["fields"] if f["name"] == name)


# ====================================================================== the tests
COUNTER = FIXTURES / "counter.py"
BUGGY = FIXTURES / "buggy_counter.py"


@pytest.fixture(scope="module")
def atomicity_trace(tmp_path_factory) -> Path:
    """A saved counterexample: the no_durable_log variant of 2PC breaks atomicity after a crash."""
    r = check(TWOPC, params={"n": 2, "variant": "no_durable_log"}, faults="crash=1")
    assert r.violations and r.violations[0].property == "atomicity"
    path = tmp_path_factory.mktemp("trace") / "atomicity.json"
    save_trace(r.violations[0].trace, path)
    return path


def is_deliver_yes(dst):
    return lambda a: a["kind"] == "deliver" and a["node"] == dst and a["detail"] == "chose True"


# ---------------------------------------------------------------------- the page and the state
def test_the_page_and_its_script_and_style_are_served_without_any_outside_reference():
    with running(TWOPC) as c:
        status, html = c.get("/")
        assert status == 200 and "<script src=\"/app.js\"></script>" in html
        for path in ("/app.js", "/app.css"):
            status, text = c.get(path)
            assert status == 200 and len(text) > 1000
            assert "http://" not in text and "https://" not in text  # no CDN, nothing fetched from outside
        assert "https://" not in html and "http://" not in html


def test_the_state_of_an_actor_spec_shows_one_panel_per_node_and_the_messages_in_flight():
    with running(TWOPC, faults="crash=1") as c:
        v = c.state()
        assert v["spec"]["title"] == "TwoPC(n=3, variant='correct')" and v["spec"]["faults"] == "crash=1"
        assert [n["id"] for n in v["state"]["nodes"]] == ["coord", "p1", "p2", "p3"]
        assert field(v, "p1", "state") == "'working'" and node(v, "coord")["crashed"] is False
        assert [(m["src"], m["dst"], m["msg"]) for m in v["state"]["network"]] == [
            ("coord", f"p{i}", "Prepare()") for i in (1, 2, 3)]
        assert v["invariants"] == [{"name": "atomicity", "holds": True, "reason": None, "read": ["p1.state", "p2.state", "p3.state"]}]
        assert v["cursor"] == 0 and len(v["path"]) == 1 and len(v["state_id"]) == 16


def test_actions_are_grouped_by_node_and_faults_apart():
    with running(TWOPC, faults="crash=1") as c:
        v = c.state()
        groups = {g["title"]: g for g in v["actions"]}
        assert list(groups) == ["coord", "p1", "p2", "p3", "faults"]
        assert [a["text"] for a in groups["coord"]["actions"]] == ["timer vote_timeout"]
        assert [a["detail"] for a in groups["p1"]["actions"] if a["kind"] == "deliver"] == ["chose True", "chose False"]
        assert [a["text"] for a in groups["faults"]["actions"]] == ["crash coord", "crash p1", "crash p2", "crash p3"]
        assert v["enabled"] == sum(len(g["actions"]) for g in v["actions"]) == 14


def test_a_step_highlights_the_fields_it_changed_and_the_message_it_sent():
    with running(TWOPC, faults="crash=1") as c:
        v = c.take(is_deliver_yes("p1"))
        assert field(v, "p1", "state") == "'prepared'"
        assert v["changed"] == ["network", "p1.state"]
        assert node(v, "p1")["changed"] and not node(v, "p2")["changed"]
        new = [(m["src"], m["dst"], m["msg"]) for m in v["state"]["network"] if m["new"]]
        assert new == [("p1", "coord", "Vote(yes=True)")]
        assert v["last_step"]["label"] == "coord→p1 Prepare() [True]" and v["cursor"] == 1


def test_the_blocking_scenario_of_2pc_leaves_prepared_participants_with_nothing_to_do():
    with running(TWOPC, faults="crash=1") as c:
        for p in ("p1", "p2", "p3"):
            c.take(is_deliver_yes(p))
        v = c.take(lambda a: a["kind"] == "crash" and a["node"] == "coord")
        assert node(v, "coord")["crashed"] and v["state"]["crashed"] == ["coord"]
        assert [field(v, p, "state") for p in ("p1", "p2", "p3")] == ["'prepared'"] * 3
        groups = {g["title"]: g["actions"] for g in v["actions"]}
        assert groups["p1"] == groups["p2"] == groups["p3"] == []
        assert {a["kind"] for a in groups["coord"]} == {"drop"}  # votes to a crashed node are lost
        assert [a["text"] for a in groups["faults"]] == ["restart coord"]
        assert all(m["to_crashed"] for m in v["state"]["network"])
        assert v["state"]["faults_left"] == {"crash": 0}
        assert {p["name"]: p["here"] for p in v["properties"]}["everyone_decides"] is False


def test_a_plain_spec_shows_its_fields_and_groups_actions_by_name():
    with running(BUGGY) as c:
        v = c.state()
        assert v["spec"]["actor"] is False
        assert v["state"] == {"fields": [{"name": "x", "value": "0", "changed": False}]}
        assert [(g["title"], [a["label"] for a in g["actions"]]) for g in v["actions"]] == [("inc", ["inc"])]
        for _ in range(3):
            v = c.take(lambda a: True)
        assert v["state"]["fields"] == [{"name": "x", "value": "3", "changed": True}]
        assert v["invariants"][0]["holds"] is False and v["invariants"][0]["reason"] == "x reached 3"


def test_parameters_and_fault_budgets_can_be_changed_from_the_page():
    with running(TWOPC) as c:
        v = c.state()
        assert v["spec"]["faults"] == "none" and "faults" not in [g["title"] for g in v["actions"]]
        assert v["spec"]["param_defs"][1] == {"name": "variant", "text": "correct",
                                              "choices": ["correct", "no_durable_log"], "help": "correct, or a known bug"}
        c.take(is_deliver_yes("p1"))
        v = c.ok("POST", "/api/configure", {"params": {"n": "2"}, "faults": "crash=1"})
        assert v["spec"]["title"] == "TwoPC(n=2, variant='correct')" and v["spec"]["faults"] == "crash=1"
        assert v["cursor"] == 0 and len(v["state"]["nodes"]) == 3
        assert [a["text"] for a in v["actions"][-1]["actions"]] == ["crash coord", "crash p1", "crash p2"]
        assert v["configured"]["from"] == "TwoPC(n=3, variant='correct') with faults none"
        for body, want in (({"params": {"n": "many"}}, "--param n=many: expected an integer"),
                           ({"params": {"m": "1"}}, "TwoPC has no parameter 'm'"),
                           ({"faults": "meteor=1"}, "unknown fault kind 'meteor'"),
                           ({"params": ["n"]}, "params must be an object")):
            status, data = c.post("/api/configure", body)
            assert status == 400 and want in data["error"], (body, data)
        assert c.state()["spec"]["title"] == "TwoPC(n=2, variant='correct')"
    with running(COUNTER) as c:
        status, data = c.post("/api/configure", {"faults": "crash=1"})
        assert status == 400 and "faults apply to actor specs" in data["error"]
        assert c.ok("POST", "/api/configure", {"params": {"k": "3"}})["spec"]["title"] == "Counter(k=3)"


# ---------------------------------------------------------------------- moving along the path
def test_back_and_forward_move_along_the_path_and_a_different_step_cuts_the_rest_off():
    with running(TWOPC, faults="crash=1") as c:
        c.take(is_deliver_yes("p1"))
        end = c.take(is_deliver_yes("p2"))
        v = c.ok("POST", "/api/goto", {"index": 1})
        assert v["cursor"] == 1 and len(v["path"]) == 3 and field(v, "p2", "state") == "'working'"
        v = c.ok("POST", "/api/goto", {"index": 2})
        assert v["state_id"] == end["state_id"]
        c.ok("POST", "/api/goto", {"index": 1})
        v = c.take(is_deliver_yes("p2"))  # the same step as the path's next one: the rest is kept
        assert v["cursor"] == 2 and len(v["path"]) == 3
        c.ok("POST", "/api/goto", {"index": 1})
        v = c.take(lambda a: a["kind"] == "crash" and a["node"] == "p3")  # a branch: the old rest is gone
        assert v["cursor"] == 2 and len(v["path"]) == 3 and v["path"][2]["label"] == "crash p3"
        v = c.ok("POST", "/api/reset", {"init": 0})
        assert v["cursor"] == 0 and len(v["path"]) == 1


def test_a_spec_with_several_initial_states_starts_a_path_from_any_of_them():
    with running(FIXTURES / "graph.py", params={"starts": "(0, 2)", "edges": "((0, 1), (2, 1))"}) as c:
        v = c.state()
        assert v["spec"]["initial_states"] == 2 and v["state"]["fields"][0]["value"] == "0"
        v = c.ok("POST", "/api/reset", {"init": 1})
        assert v["init"] == 1 and v["state"]["fields"][0]["value"] == "2"
        v = c.take(lambda a: True)
        data = c.ok("GET", "/api/trace.json")
        c.ok("POST", "/api/reset", {"init": 0})
        v = c.ok("POST", "/api/trace", data)  # the trace keeps which initial state it started from
        assert v["init"] == 1 and [p["label"] for p in v["path"]] == ["initial state", "move(1)"]


def test_random_walk_stops_at_the_first_violated_invariant():
    with running(BUGGY) as c:
        v = c.ok("POST", "/api/random", {"state_id": c.state()["state_id"], "steps": 10, "seed": 1})
        assert v["walk"] == {"taken": 3, "seed": 1, "outcome": "stopped: below_limit is violated"}
        assert v["cursor"] == 3 and v["invariants"][0]["holds"] is False


def test_random_walk_takes_the_steps_asked_for():
    with running(COUNTER) as c:
        v = c.ok("POST", "/api/random", {"state_id": c.state()["state_id"], "steps": 7})
        assert v["walk"]["taken"] == 7 and v["cursor"] == 7
        assert v["state"]["fields"][0]["value"] == "2"  # 7 mod 5


def test_search_from_here_loads_the_violation_it_finds_into_the_path():
    with running(TWOPC, params={"n": 2, "variant": "no_durable_log"}, faults="crash=1") as c:
        c.take(is_deliver_yes("p1"))
        v = c.ok("POST", "/api/search", {"state_id": c.state()["state_id"]})
        s = v["search"]
        assert s["result"] == "violation" and s["found"]["property"] == "atomicity"
        assert s["found"]["from_step"] == 1 and s["distinct_states"] > 10 and s["transitions"] >= s["distinct_states"] - 1
        assert v["cursor"] == len(v["path"]) - 1 == 1 + s["found"]["length"]
        assert v["path"][1]["label"] == "coord→p1 Prepare() [True]"
        assert {i["name"]: i["holds"] for i in v["invariants"]} == {"atomicity": False}


def test_search_from_here_says_when_no_violation_is_reachable():
    with running(COUNTER) as c:
        v = c.ok("POST", "/api/search", {"state_id": c.state()["state_id"]})
        assert v["search"]["result"] == "ok" and v["search"]["complete"] is True
        assert v["search"]["distinct_states"] == 5 and v["search"]["found"] is None and v["cursor"] == 0


def test_search_with_a_state_budget_reports_an_incomplete_search():
    with running(TWOPC, faults="crash=1") as c:
        v = c.ok("POST", "/api/search", {"state_id": c.state()["state_id"], "max_states": 50})
        assert v["search"]["result"] == "incomplete" and v["search"]["stop_reason"] == "max_states"


def test_jump_finds_a_fingerprint_on_the_path_or_by_search_from_the_initial_state():
    with running(TWOPC, faults="crash=1") as c:
        c.take(is_deliver_yes("p1"))
        c.take(lambda a: a["kind"] == "crash" and a["node"] == "p2")
        target = c.take(is_deliver_yes("p3"))["state_id"]
        v = c.ok("POST", "/api/jump", {"fingerprint": c.state()["path"][1]["fp"]})
        assert v["cursor"] == 1 and v["jump"]["searched"] == 0
        c.ok("POST", "/api/reset", {})
        v = c.ok("POST", "/api/jump", {"fingerprint": target.upper()})
        assert v["state_id"] == target and v["cursor"] == 3 and v["jump"]["searched"] > 3
        assert field(v, "p1", "state") == "'prepared'" and node(v, "p2")["crashed"]


def test_jump_to_a_fingerprint_no_state_has_says_so():
    with running(COUNTER) as c:
        status, data = c.post("/api/jump", {"fingerprint": "0123456789abcdef"})
        assert status == 404 and "no state has fingerprint 0123456789abcdef (of every reachable state)" in data["error"]
        status, data = c.post("/api/jump", {"fingerprint": "not hex!"})
        assert status == 400 and "not a fingerprint" in data["error"]


# ---------------------------------------------------------------------- the diagram and traces
def test_the_diagram_is_the_sequence_chart_of_the_path_up_to_the_cursor():
    with running(TWOPC, faults="crash=1") as c:
        d0 = c.ok("GET", "/api/diagram")
        assert d0["steps"] == 0 and "got Prepare()" not in d0["dot"]
        c.take(is_deliver_yes("p1"))
        c.take(lambda a: a["kind"] == "crash" and a["node"] == "coord")
        d = c.ok("GET", "/api/diagram")
        assert d["steps"] == 2 and "got Prepare()" in d["dot"] and "CRASH" in d["dot"]
        status, svg = c.get("/api/diagram.svg")
        if find_renderer():
            assert d["svg"].startswith("<svg") and "CRASH" in d["svg"] and d["note"] is None
            assert status == 200 and svg == d["svg"]
        else:
            assert d["svg"] is None and "no Graphviz renderer" in d["note"]
            assert status == 404 and "no Graphviz renderer" in svg["error"]
        c.ok("POST", "/api/goto", {"index": 1})
        assert "CRASH" not in c.ok("GET", "/api/diagram")["dot"]


def test_the_path_downloads_as_a_trace_that_opens_again(atomicity_trace):
    with running(TWOPC, faults="crash=1") as c:
        c.take(is_deliver_yes("p1"))
        c.take(is_deliver_yes("p2"))
        status, data = c.get("/api/trace.json")
        assert status == 200
        validate_trace_json(data)
        assert [s["label"] for s in data["steps"]] == ["coord→p1 Prepare() [True]", "coord→p2 Prepare() [True]"]
        c.ok("POST", "/api/reset", {})
        v = c.ok("POST", "/api/trace", data)
        assert v["cursor"] == 2 and field(v, "p2", "state") == "'prepared'"


def test_opening_a_saved_counterexample_switches_to_its_parameters_and_shows_the_violation(atomicity_trace):
    with running(TWOPC, faults="crash=1") as c:
        status, v = c.post("/api/trace", raw=atomicity_trace.read_bytes())
        assert status == 200, v
        assert v["spec"]["title"] == "TwoPC(n=2, variant='no_durable_log')"
        assert v["cursor"] == len(v["path"]) - 1 == v["loaded"]["steps"] > 3
        assert {i["name"]: i["holds"] for i in v["invariants"]} == {"atomicity": False}
        assert "switched from TwoPC(n=3, variant='correct') to the trace's TwoPC(n=2, variant='no_durable_log')" in v["loaded"]["notes"]
        v = c.ok("POST", "/api/goto", {"index": 2})  # step through it and branch off it
        v = c.take(lambda a: a["kind"] == "crash")
        assert v["cursor"] == 3 and len(v["path"]) == 4


def test_a_trace_that_does_not_open_leaves_the_spec_and_the_path_as_they_were(atomicity_trace):
    data = json.loads(atomicity_trace.read_text())
    data["init_decisions"] = [7]  # no such initial state
    with running(TWOPC, faults="crash=1") as c:
        before = c.take(is_deliver_yes("p1"))
        status, err = c.post("/api/trace", data)
        assert status == 400 and "the trace's initial state is not an initial state of the spec" in err["error"]
        after = c.state()
        assert after["spec"]["title"] == "TwoPC(n=3, variant='correct')" and after["path"] == before["path"]


def test_explore_serve_with_a_trace_and_no_spec_opens_the_trace_with_its_own_spec(atomicity_trace):
    with running(None, trace=str(atomicity_trace)) as c:
        v = c.state()
        assert v["spec"]["name"] == "TwoPC" and v["invariants"][0]["holds"] is False


# ---------------------------------------------------------------------- bad input: an error, never a crash
def test_bad_requests_get_clear_errors_and_the_server_keeps_running(atomicity_trace):
    with running(TWOPC, faults="crash=1") as c:
        sid = c.state()["state_id"]
        cases = [
            (c.post("/api/step", {"state_id": sid, "action": "launch_missiles", "decisions": []}),
             400, "unknown action 'launch_missiles': TwoPC has deliver, fire_timer, crash, restart"),
            (c.post("/api/step", {"state_id": sid, "action": "restart", "decisions": [0]}),
             400, "restart with decisions [0] is not enabled in the current state"),
            (c.post("/api/step", {"state_id": sid, "action": "deliver", "decisions": ["x"]}),
             400, "decisions must be a list of choice indices"),
            (c.post("/api/step", {"state_id": "00000000deadbeef", "action": "deliver", "decisions": [0, 0]}),
             409, "the page acted on state 00000000deadbeef, but the current state is " + sid),
            (c.post("/api/goto", {"index": 7}), 404, "the path has states 0..0, not 7"),
            (c.post("/api/reset", {"init": 3}), 404, "there is no initial state 3"),
            (c.post("/api/random", {"state_id": sid, "steps": -1}), 400, "steps must be a whole number"),
            (c.post("/api/search", {"state_id": sid, "max_states": "many"}), 400, "max_states must be a number"),
            (c.post("/api/step", raw=b"{not json"), 400, "the request body is not valid JSON"),
            (c.post("/api/step", raw=b"[1, 2]"), 400, "the request body must be a JSON object"),
            (c.post("/api/step", raw=b"{}", headers={"Content-Type": "text/plain"}), 415, "application/json"),
            (c.post("/api/nowhere", {}), 404, "no such endpoint: POST /api/nowhere"),
            (c.get("/api/nowhere"), 404, "no such page or endpoint: GET /api/nowhere"),
            (c.post("/api/trace", raw=b"{\"format\": \"something else\"}"), 400, "not an explorer trace"),
            (c.post("/api/trace", raw=b"[]"), 400, "a trace file holds a JSON object"),
        ]
        for (status, data), want_status, want in cases:
            assert status == want_status and want in data["error"], (want, status, data)
        v = c.state()  # still serving, still at the same state
        assert v["state_id"] == sid and v["cursor"] == 0
    with running(COUNTER) as c:
        status, data = c.post("/api/trace", raw=atomicity_trace.read_bytes())
        assert status == 400 and "this is a trace of TwoPC, but" in data["error"] and "defines Counter" in data["error"]
        assert c.state()["spec"]["name"] == "Counter"


def test_an_action_that_raises_is_an_error_in_the_page_not_a_dead_server():
    with running(BAD / "action_raises.py") as c:
        c.take(lambda a: a["action"] == "inc")
        v = c.take(lambda a: a["action"] == "inc")  # x == 2: computing halve's successor divides by zero
        assert v["enabled"] == 0 and "halve raised ZeroDivisionError" in v["actions_error"]
        status, data = c.post("/api/search", {"state_id": c.ok("POST", "/api/reset", {})["state_id"]})
        assert status == 422 and "ZeroDivisionError" in data["error"]
        assert c.state()["cursor"] == 0


def test_an_invariant_that_raises_is_shown_as_an_error_of_that_invariant():
    with running(BAD / "invariant_raises.py") as c:
        c.take(lambda a: True)
        v = c.take(lambda a: True)
        inv = v["invariants"][0]
        assert inv["name"] == "known" and inv["holds"] is None and "KeyError" in inv["reason"]


def test_a_random_walk_stops_where_an_invariant_raises_instead_of_failing():
    with running(BAD / "invariant_raises.py") as c:
        v = c.ok("POST", "/api/random", {"state_id": None, "steps": 10, "seed": 3})
        assert v["walk"]["outcome"] == "stopped: known raised (see Invariants)" and v["cursor"] == 2


def test_requests_for_another_host_name_are_refused():
    with running(COUNTER) as c:
        status, data = c.get("/api/state", headers={"Host": "evil.example:80"})
        assert status == 403 and "127.0.0.1 or localhost only" in data["error"]


def test_the_server_listens_on_loopback_unless_a_host_is_given():
    server = make_server(str(COUNTER), {}, None, port=0)
    try:
        assert server.server_address[0] == "127.0.0.1" and server.check_host
    finally:
        server.server_close()
    server = make_server(str(COUNTER), {}, None, port=0, host="0.0.0.0")
    try:
        assert server.server_address[0] == "0.0.0.0" and not server.check_host
    finally:
        server.server_close()


def test_a_busy_port_is_a_usage_error_naming_the_port():
    with running(COUNTER) as c:
        port = int(c.url.rsplit(":", 1)[1])
        with pytest.raises(UsageError, match=f"port {port} on 127.0.0.1 is already in use"):
            make_server(str(COUNTER), {}, None, port=port)


def test_concurrent_requests_are_served_one_at_a_time_without_corrupting_the_path():
    with running(COUNTER) as c:
        errors = []

        def walk():
            for _ in range(5):
                status, data = c.post("/api/random", {"state_id": None, "steps": 3})
                if status != 200:
                    errors.append(data)

        threads = [threading.Thread(target=walk) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        v = c.state()
        assert not errors and v["cursor"] == len(v["path"]) - 1 == 60


def test_the_serve_command_reports_a_missing_spec_and_a_spec_of_another_trace(atomicity_trace):
    r = explore("serve", "--no-browser")
    assert r.code == 2 and "explore serve needs a spec" in r.err
    r = explore("serve", COUNTER, "--trace", atomicity_trace, "--no-browser", "--port", "0")
    assert r.code == 2 and "this is a trace of TwoPC" in r.err
    r = explore("serve", BAD / "no_actions.py", "--no-browser", "--port", "0")
    assert r.code == 3 and "has no actions" in r.err
