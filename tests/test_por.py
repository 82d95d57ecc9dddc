"""Partial-order reduction (`--por`, explorer/engine/por.py + explorer/actors/independence.py).

The reference is the same search without --por: every verdict must be equal, the reduced count no
larger, and a counterexample still found (maybe longer than the shortest, never shorter).
"""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer import Message, Node, Protocol, invariant, on, param, require, timer
from explorer.actors.independence import for_model
from explorer.api import check, load_model
from explorer.cli import main
from explorer.errors import UsageError

# --------------------------------------------------------------------------- a small generated actor spec


class Tick(Message):
    pass


class Worker(Node):
    count = 0  # local work done (no property reads it)
    got = 0  # ticks received (the invariant reads some of these)

    @timer
    def work(self):
        require(self.count < self.world.k)
        self.count += 1
        for d in self.world.targets(self.id):
            self.send(d, Tick())

    @on(Tick)
    def got_tick(self, msg, sender):
        require(self.got < self.world.cap)
        self.got += 1


class Loner(Node):
    """Local work only: its class sends nothing, so the static scan lets its steps be reordered."""

    count = 0

    @timer
    def work(self):
        require(self.count < self.world.k)
        self.count += 1


class Mesh(Protocol):
    """n workers; each does k units of work, telling `edges` peers each time; the invariant bounds
    the ticks received by the `watch` nodes. `loners` more nodes do k units of local work each."""

    n = param(2)
    loners = param(0)
    k = param(2)
    cap = param(2)
    edges = param("", help="sender>receiver pairs, comma-separated (w1>w2,w2>w1)")
    watch = param("", help="workers whose received ticks the invariant adds up")
    limit = param(99)

    def ids_(self):
        return [f"w{i}" for i in range(1, self.n + 1)]

    def targets(self, me):
        pairs = [e.split(">") for e in self.edges.split(",") if e]
        return [b for a, b in pairs if a == me]

    def nodes(self):
        return {**{w: Worker() for w in self.ids_()}, **{f"l{i}": Loner() for i in range(1, self.loners + 1)}}

    @invariant
    def bounded(self):
        names = [w for w in self.watch.split(",") if w]
        return sum(self.node(w).got for w in names) <= self.limit


def _both(spec, params=None, faults=None, **kw):
    full = check(spec, params=params, faults=faults, backend="interp", **kw)
    red = check(spec, params=params, faults=faults, por=True, **kw)
    return full, red


def test_local_work_is_reduced_and_closed_form_without():
    # one worker with no peer and three loners: without POR every interleaving of the four counters,
    # (k+1)^4 states; with POR one node at a time: one order, 1 + 4k (the BFS proviso may add a few)
    full, red = _both(Mesh, {"n": 1, "loners": 3, "k": 3})
    assert full.distinct_states == 4**4
    assert 1 + 4 * 3 <= red.distinct_states < full.distinct_states / 4
    assert red.violations == [] and full.violations == []
    assert red.options["por"]["reduced_states"] > 0
    assert red.transitions < full.transitions


def test_workers_that_may_message_each_other_are_not_reordered():
    # the Worker class may send Tick to any worker (the scan cannot see `edges` is empty): no reduction
    full, red = _both(Mesh, {"n": 3, "k": 2})
    assert red.distinct_states == full.distinct_states == 3**3
    assert red.options["por"]["reduced_states"] == 0


def test_one_node_pipeline_keeps_the_violation():
    # w1 tells w2 twice; the invariant says w2 got at most one tick: violated, in 4 steps at least
    params = {"n": 2, "k": 2, "edges": "w1>w2", "watch": "w2", "limit": 1}
    full, red = _both(Mesh, params)
    assert [v.property for v in full.violations] == ["bounded"]
    assert [v.property for v in red.violations] == ["bounded"]
    assert red.violations[0].trace.length >= full.violations[0].trace.length == 4
    assert red.distinct_states <= full.distinct_states


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 3), loners=st.integers(0, 2), k=st.integers(1, 2), cap=st.integers(1, 2),
       edges=st.sets(st.tuples(st.integers(1, 3), st.integers(1, 3)), max_size=4),
       watch=st.sets(st.integers(1, 3), max_size=2), limit=st.integers(0, 3),
       faults=st.sampled_from([None, "loss=1", "crash=1", "dup=1"]))
def test_generated_specs_same_verdicts(n, loners, k, cap, edges, watch, limit, faults):
    es = ",".join(f"w{a}>w{b}" for a, b in sorted(edges) if a != b and a <= n and b <= n)
    ws = ",".join(f"w{w}" for w in sorted(watch) if w <= n)
    params = {"n": n, "loners": loners, "k": k, "cap": cap, "edges": es, "watch": ws, "limit": limit}
    full, red = _both(Mesh, params, faults, deadlock=True, max_violations=100)
    # the same properties fail (a property may be reported once per last step: the reduced search
    # reaches a deadlock by fewer different last steps, so compare sets)
    assert {v.property for v in red.violations} == {v.property for v in full.violations}
    assert red.distinct_states <= full.distinct_states
    shortest = {}
    for v in full.violations:
        shortest[v.property] = min(shortest.get(v.property, 99), v.trace.length)
    for v in red.violations:
        assert v.trace.length >= shortest[v.property]


# --------------------------------------------------------------------------- the catalog

CATALOG = [
    ("specs/twopc.py", {"n": 2}, None),
    pytest.param("specs/twopc.py", {"n": 2}, "crash=2", marks=pytest.mark.slow),
    ("specs/twopc.py", {"n": 2, "variant": "no_durable_log"}, "crash=1"),
    ("specs/clocks.py", {"variant": "lamport_converse"}, None),
    ("specs/eventual.py", {"script": ("w",)}, "loss=1"),
    ("specs/eventual.py", {"variant": "any_replica", "script": ("wr",)}, None),
    ("specs/quorum.py", {"preset": "one"}, None),
    ("specs/quorum.py", {"preset": "all"}, None),
]


@pytest.mark.parametrize("backend", ["interp", "batch"])
@pytest.mark.parametrize("spec,params,faults", CATALOG)
def test_catalog_verdicts_equal(spec, params, faults, backend):
    full = check(spec, params=params, faults=faults, backend="interp", max_violations=5)
    red = check(spec, params=params, faults=faults, por=True, backend=backend, max_violations=5)
    assert red.backend == backend, red.warnings
    assert {v.property for v in red.violations if v.kind != "liveness"} == \
        {v.property for v in full.violations if v.kind != "liveness"}
    assert red.distinct_states <= full.distinct_states
    assert red.exit_code == full.exit_code


def test_twopc_scan_of_sends():
    """The static scan follows self.decide(); a Decision handler sends nothing."""
    m, _ = load_model("specs/twopc.py", {"n": 2})
    ind = for_model(m)
    by_name = {(c.__name__, getattr(k, "__name__", k)): {t.__name__ for t in v}
               for (c, k), v in ind.sends_of_handler.items()}
    assert by_name[("Coordinator", "vote_timeout")] == {"Decision"}
    assert by_name[("Coordinator", "got_vote")] == {"Decision"}
    assert by_name[("Participant", "got_decision")] == set()
    assert by_name[("Participant", "got_prepare")] == {"Vote"}


class Ping(Message):
    pass


class Sneaky(Node):
    sent = 0

    @timer
    def go(self):
        require(self.sent < 1)
        self.sent += 1
        self.send("b", self.world.kinds[0]())  # a class reached through data: the scan cannot see it


class Quiet(Node):
    got = 0

    @on(Ping)
    def ping(self, msg, sender):
        self.got += 1

    @timer
    def idle(self):
        require(self.got < 1)
        self.got += 0


class Hidden(Protocol):
    kinds = (Ping,)

    def nodes(self):
        return {"a": Sneaky(), "b": Quiet()}


@pytest.mark.parametrize("backend", ["interp", "batch"])
def test_unpredicted_send_stops_the_run(backend):
    with pytest.raises(UsageError, match="did not predict"):
        check(Hidden, por=True, backend=backend)


# --------------------------------------------------------------------------- refusals and the CLI


def test_refusals():
    with pytest.raises(UsageError, match="plain spec"):
        check("specs/paxos.py", por=True)
    with pytest.raises(UsageError, match="depth"):
        check("specs/twopc.py", params={"n": 2}, por=True, depth=3)
    with pytest.raises(UsageError, match="bfs"):
        check("specs/twopc.py", params={"n": 2}, por=True, strategy="dfs")


def test_cli_por_json_and_exit_codes():
    r = CliRunner().invoke(main, ["specs/twopc.py", "--param", "n=2", "--param", "variant=no_durable_log",
                                  "--faults", "crash=1", "--por", "--json"])
    assert r.exit_code == 12, r.output
    d = json.loads(r.output.strip().splitlines()[-1])
    assert d["violations"][0]["property"] == "atomicity"
    assert d["por"]["runs"] >= 1 and d["por"]["reduced_states"] + d["por"]["full_states"] <= d["distinct_states"]
    r = CliRunner().invoke(main, ["specs/paxos.py", "--por"])
    assert r.exit_code == 2 and "plain spec" in r.output


# --------------------------------------------------------------------------- the dependency model, checked by brute force


def _reachable(model):
    seen, todo = set(), [s for s, _ in model.initial_states()]
    while todo:
        s = todo.pop()
        if s in seen:
            continue
        seen.add(s)
        todo.extend(n for n, _ in model.successors(s))
    return seen


@pytest.mark.parametrize("spec,params,faults", [
    ("specs/twopc.py", {"n": 2}, "loss=1,crash=1"),
    pytest.param("specs/twopc.py", {"n": 2}, "dup=1,crash=2", marks=pytest.mark.slow),
    (Mesh, {"n": 2, "loners": 1, "k": 2, "edges": "w1>w2"}, "loss=1,crash=1"),
])
def test_reduced_sets_commute_with_every_other_step(spec, params, faults):
    """In every reachable state, for each step a of the chosen subset and each step b left out:
    if b then a can happen, a then b can too and ends in the same state (Valmari's D1, one step);
    some step of the subset is still enabled after b (D2); and b enables no new step of the chosen
    nodes (a message to them from outside). Steps are matched by their labels."""
    from explorer.engine.fingerprint import Fingerprinter
    from explorer.engine.por import Reducer

    model, _ = load_model(spec, params, faults)
    ind = for_model(model)
    fpr = Fingerprinter(tuple(model.fields))
    reduced = 0
    for s in sorted(_reachable(model), key=repr):
        succs = model.successors(s)
        red = Reducer.for_model(model, ind).ample(s, fpr.of(s), succs, fpr.update, set())
        if len(red) == len(succs):
            continue
        reduced += 1
        chosen = {st.label for _, st in red}
        nodes = {st.info["node"] for _, st in red}
        before = {st.label for _, st in succs if st.info.get("node") in nodes}
        after = {st.label: n for n, st in red}
        for b_state, b in succs:
            if b.label in chosen:
                continue
            b_succs = model.successors(b_state)
            then = {st.label: n for n, st in b_succs}
            assert any(label in then for label in chosen), f"{b.label} disables every chosen step"
            new = {st.label for _, st in b_succs if st.info.get("node") in nodes} - before
            assert not new, f"{b.label} enables {new} for the chosen nodes"
            for a_label, a_state in after.items():
                if a_label in then:
                    other = {st.label: n for n, st in model.successors(a_state)}
                    assert b.label in other, f"{a_label} then {b.label} is missing"
                    assert other[b.label] == then[a_label], f"{a_label} and {b.label} do not commute"
    assert reduced > 0


class LateLook(Mesh):
    """The invariant reads w2.got only once l1 has finished: fields read late must still be visible."""

    @invariant
    def bounded(self):
        if self.node("l1").count < self.k:
            return True
        return self.node("w2").got <= self.limit


def test_a_field_read_late_makes_the_search_run_again():
    params = {"n": 2, "loners": 1, "k": 2, "edges": "w1>w2", "limit": 1}
    full, red = _both(LateLook, params)
    assert [v.property for v in full.violations] == ["bounded"]
    assert [v.property for v in red.violations] == ["bounded"]
    assert red.options["por"]["runs"] == 2  # the first run reduced before w2.got was known to be read


def test_suspects_with_crashes_turns_the_reduction_off():
    """Node.suspects(peer) reads the peer's crash: a crash elsewhere can enable a timer, so no reduction."""
    m, _ = load_model("specs/threepc.py", {}, "crash=1")
    assert "Node.suspects under crash faults" in for_model(m).unknown
    m, _ = load_model("specs/threepc.py", {}, None)  # without crashes suspects only sees partitions
    assert for_model(m).unknown == []
    r = check("specs/threepc.py", faults="crash=1", por=True)
    assert r.options["por"]["reduced_states"] == 0


# --------------------------------------------------------------------------- --por with --symmetry


SYMMETRIC_CATALOG = [
    ("specs/twopc.py", {"n": 2}, None),
    pytest.param("specs/twopc.py", {"n": 3}, None, marks=pytest.mark.slow),
    ("specs/twopc.py", {"n": 2, "variant": "no_durable_log"}, "crash=1"),
    ("specs/twopc.py", {"n": 2}, "loss=1"),
    ("specs/quorum.py", {"preset": "one"}, None),
    ("specs/quorum.py", {"preset": "all"}, None),
]


@pytest.mark.parametrize("backend", ["interp", "batch"])
@pytest.mark.parametrize("spec,params,faults", SYMMETRIC_CATALOG)
def test_catalog_verdicts_equal_with_symmetry(spec, params, faults, backend):
    """Every catalog configuration whose spec declares interchangeable nodes: --por --symmetry gives the
    verdicts of the search with no reduction, and no more states than --symmetry alone."""
    full = check(spec, params=params, faults=faults, backend="interp", max_violations=5)
    sym = check(spec, params=params, faults=faults, backend="interp", symmetry=True, max_violations=5)
    both = check(spec, params=params, faults=faults, por=True, symmetry=True, backend=backend, max_violations=5)
    assert both.backend == backend, both.warnings
    safety = lambda r: {v.property for v in r.violations if v.kind != "liveness"}  # noqa: E731
    assert safety(both) == safety(full)
    assert both.exit_code == full.exit_code
    assert both.distinct_states <= sym.distinct_states < full.distinct_states


def test_the_visible_set_is_closed_under_the_symmetry():
    from explorer.engine.por import Reducer, field_images

    m, _ = load_model("specs/twopc.py", {"n": 3})
    f = m.fields
    images = {f[k]: sorted(f[i] for i in v) for k, v in field_images(m).items()}
    assert images == {p: ["p1.state", "p2.state", "p3.state"] for p in ("p1.state", "p2.state", "p3.state")}
    r = Reducer.for_model(m, for_model(m), symmetry=True)
    r.observe(["p2.state"])
    assert sorted(f[i] for i in r.visible) == ["p1.state", "p2.state", "p3.state"]
    plain = Reducer.for_model(m, for_model(m))
    plain.observe(["p2.state"])
    assert [f[i] for i in plain.visible] == ["p2.state"]


class SymWorker(Worker):
    pass


class SymMesh(Mesh):
    """Mesh with interchangeable workers: every worker tells every other (or none), the invariant adds up
    every worker's ticks, so the spec is symmetric under any permutation of the workers."""

    all_to_all = param(True)

    def targets(self, me):
        return [w for w in self.ids_() if w != me] if self.all_to_all else []

    def nodes(self):
        return {**{w: SymWorker(symmetric="w") for w in self.ids_()},
                **{f"l{i}": Loner() for i in range(1, self.loners + 1)}}

    @invariant
    def bounded(self):
        return sum(self.node(w).got for w in self.ids_()) <= self.limit


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 3), loners=st.integers(0, 2), k=st.integers(1, 2), cap=st.integers(1, 2),
       all_to_all=st.booleans(), limit=st.integers(0, 4), faults=st.sampled_from([None, "loss=1", "crash=1"]))
def test_generated_symmetric_specs_same_verdicts_with_por_and_symmetry(n, loners, k, cap, all_to_all, limit, faults):
    params = {"n": n, "loners": loners, "k": k, "cap": cap, "all_to_all": all_to_all, "limit": limit}
    full = check(SymMesh, params=params, faults=faults, backend="interp", deadlock=True, max_violations=100)
    both = check(SymMesh, params=params, faults=faults, por=True, symmetry=True, deadlock=True,
                 max_violations=100)
    assert {v.property for v in both.violations} == {v.property for v in full.violations}
    assert both.distinct_states <= full.distinct_states
    shortest = {}
    for v in full.violations:
        shortest[v.property] = min(shortest.get(v.property, 99), v.trace.length)
    for v in both.violations:
        assert v.trace.length >= shortest[v.property]


def test_refusals_say_why():
    with pytest.raises(UsageError, match="could hide a violation"):
        check("specs/twopc.py", params={"n": 2}, por=True, depth=3)
    with pytest.raises(UsageError, match="--por: not with --workers"):
        check("specs/twopc.py", params={"n": 2}, por=True, workers=2)
    with pytest.raises(UsageError, match="--por: not with --checkpoint"):
        check("specs/twopc.py", params={"n": 2}, por=True, checkpoint="x.ckpt")


@pytest.mark.parametrize("backend", ["batch", "interp"])
def test_a_run_stopped_by_ctrl_c_after_a_late_read_is_not_run_again(monkeypatch, backend):
    """Ctrl-C must stop the command: the reduced search is not started again for a field read late
    (as it is when the run completes); the result says its reductions used a smaller visible set."""
    from explorer.engine.por import Reducer

    pressed = []
    observe = Reducer.observe

    def ctrl_c_once_grown(self, read):
        observe(self, read)
        if self.grew_after_reduction and not pressed:
            pressed.append(1)
            raise KeyboardInterrupt  # Ctrl-C while the property that read the new field is checked

    monkeypatch.setattr(Reducer, "observe", ctrl_c_once_grown)
    params = {"n": 2, "loners": 1, "k": 2, "edges": "w1>w2", "limit": 1}
    r = check(LateLook, params=params, por=True, backend=backend)
    assert pressed and r.stop_reason == "interrupted" and not r.complete
    assert r.options["por"]["runs"] == 1
    assert any("--por: the search stopped (interrupted)" in w for w in r.warnings), r.warnings
