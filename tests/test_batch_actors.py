"""Actor specs on the batched engine against the interpreted one (issue 7).

`deliver`, `lose` and `duplicate` choose among the in-flight messages with `choose_present`: on the
batched engine that is a trie node of its own (`_ChooseKey`) that reads only the chosen message, and
each state's decision is the message's rank among its own in-flight messages. The interpreted engine
is the reference: both must give the same distinct states, transitions, depth, verdicts and shortest
traces (the steps' actions, decisions and labels) on every catalog actor spec, every fault kind, a
FIFO network, and small generated protocols.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer import Message, Node, Protocol, Spec, action, choose, invariant, on, require
from explorer.api import load_model, run_model
from explorer.dsl.loader import load_spec
from explorer.engine.options import Options

ROOT = Path(__file__).resolve().parent.parent
ACTOR_SPECS = ["bully", "cap", "clocks", "eventual", "quorum", "split_brain", "threepc", "twopc"]


def _summary(r) -> tuple:
    """What must agree: counts, depth, completeness, and each counterexample's steps."""
    vs = sorted((v.property, v.kind, tuple((s.action, tuple(s.decisions), s.label) for s in v.trace.steps)
                 if v.trace is not None else None) for v in r.violations)
    return r.distinct_states, r.transitions, r.depth, r.complete, vs


def _both(spec, params=None, faults=None, *, liveness: bool = False, **opts):
    """Runs the spec on both engines (safety only unless `liveness`); returns (interpreted, batched)."""
    out = []
    for backend in ("interp", "batch"):
        model, spec_file = load_model(spec, params, faults)
        if not liveness:
            model.liveness = []
        out.append(run_model(model, Options(backend=backend, **opts), spec_file=spec_file))
    interp, batch = out
    assert interp.backend == "interp"
    assert batch.backend == "batch", batch.warnings  # no silent fallback: the comparison is real
    return interp, batch


def _catalog_configs():
    for name in ACTOR_SPECS:
        cls = load_spec(str(ROOT / "specs" / f"{name}.py"))
        for k, c in enumerate(getattr(cls, "checks", [])):
            if c.params.get("timing"):  # timed (explorer.timed): interpreted only
                continue
            yield pytest.param(name, dict(c.params), c.faults, id=f"{name}-{c.name or k}-{c.faults or 'nofaults'}")


@pytest.mark.parametrize(("name", "params", "faults"), list(_catalog_configs()))
def test_every_catalog_actor_check_agrees_with_the_interpreted_engine_to_depth_4(name, params, faults):
    interp, batch = _both(str(ROOT / "specs" / f"{name}.py"), params, faults, depth=4, max_violations=3)
    assert _summary(batch) == _summary(interp)
    assert interp.distinct_states > 1


@pytest.mark.slow
@pytest.mark.parametrize(("name", "params", "faults"), list(_catalog_configs()))
def test_every_catalog_actor_check_agrees_with_the_interpreted_engine_to_depth_8(name, params, faults):
    interp, batch = _both(str(ROOT / "specs" / f"{name}.py"), params, faults, depth=8, max_violations=3)
    assert _summary(batch) == _summary(interp)


@pytest.mark.parametrize("faults", [
    "loss=1,crash=1", "loss=2,dup=1", None,
    pytest.param("dup=1,partition=1", marks=pytest.mark.slow), pytest.param("crash=2,partition=1", marks=pytest.mark.slow),
])
def test_twopc_with_every_fault_kind_agrees_on_the_whole_space(faults):
    interp, batch = _both(str(ROOT / "specs" / "twopc.py"), {"n": 2}, faults, max_violations=3)
    assert _summary(batch) == _summary(interp)
    assert interp.complete


@pytest.mark.slow
def test_twopc_n3_with_loss_and_crash_explores_the_documented_41412_states():
    """The figure docs/performance.md gives for the interpreted engine (bench/actors.py)."""
    model, spec_file = load_model(str(ROOT / "specs" / "twopc.py"), {"n": 3}, "loss=1,crash=1")
    model.liveness = []
    r = run_model(model, Options(backend="batch"), spec_file=spec_file)
    assert (r.backend, r.distinct_states, r.complete) == ("batch", 41412, True)


def test_a_buggy_variant_gives_the_same_shortest_counterexample():
    interp, batch = _both(str(ROOT / "specs" / "twopc.py"), {"n": 2, "variant": "no_durable_log"}, "crash=1")
    assert [v.property for v in interp.violations] == ["atomicity"]
    assert _summary(batch) == _summary(interp)


def test_liveness_verdicts_agree_when_the_graph_comes_from_the_batched_tries():
    interp, batch = _both(str(ROOT / "specs" / "twopc.py"), {"n": 2}, "crash=1,restart=0", liveness=True)
    assert [v.property for v in interp.violations] == ["everyone_decides"]
    assert [(v.property, v.kind, v.length) for v in batch.violations] == \
        [(v.property, v.kind, v.length) for v in interp.violations]


def test_two_workers_give_the_same_counts_and_verdicts():
    """n=3: levels of thousands of states, so the workers are forked (n=2's levels stay in one process);
    one batched worker is the reference here, the interpreted engine is above."""
    runs = []
    for workers in (1, 2):
        model, spec_file = load_model(str(ROOT / "specs" / "twopc.py"), {"n": 3}, "loss=1,crash=1")
        model.liveness = []
        runs.append(run_model(model, Options(backend="batch", workers=workers, max_violations=3), spec_file=spec_file))
    assert runs[1].backend == "batch", runs[1].warnings
    assert _summary(runs[1]) == _summary(runs[0])
    assert runs[0].distinct_states == 41412  # the interpreted engine's count (docs/performance.md)


def test_a_checkpoint_of_an_actor_spec_resumes_to_the_same_counts(tmp_path):
    spec = str(ROOT / "specs" / "twopc.py")
    _, full = _both(spec, {"n": 2}, "loss=1,crash=1")
    ck = tmp_path / "ck"
    model, spec_file = load_model(spec, {"n": 2}, "loss=1,crash=1")
    model.liveness = []
    part = run_model(model, Options(backend="batch", max_states=1000, checkpoint=str(ck),
                                                        checkpoint_every_s=0.0), spec_file=spec_file)
    assert not part.complete and ck.exists()
    model, spec_file = load_model(spec, {"n": 2}, "loss=1,crash=1")
    model.liveness = []
    again = run_model(model, Options(backend="batch", resume=str(ck)), spec_file=spec_file)
    assert _summary(again)[:4] == _summary(full)[:4]


def test_actor_specs_use_the_batched_engine_by_default():
    model, spec_file = load_model(str(ROOT / "specs" / "twopc.py"), {"n": 2}, None)
    model.liveness = []
    assert run_model(model, Options(), spec_file=spec_file).backend == "batch"


# ---------------------------------------------------------------------- a FIFO network


class M(Message):
    v: int


class Echo(Node):
    got = ()

    def on_start(self):
        if self.id == "a":
            self.send("b", M(1))
            self.send("b", M(2))
            self.send("c", M(3))

    @on(M)
    def got_m(self, msg, sender):
        self.got = self.got + (msg.v,)
        if msg.v < 4:
            self.send(sender, M(msg.v + 2))


class FifoEcho(Protocol):
    fifo = True

    def nodes(self):
        return {"a": Echo(), "b": Echo(), "c": Echo()}

    @invariant
    def short(self):
        return all(len(n.got) < 5 for n in self.nodes_of())


@pytest.mark.parametrize("faults", [None, "loss=1", "dup=1,crash=1", "partition=1"])
def test_a_fifo_network_agrees(faults):
    interp, batch = _both(FifoEcho, None, faults, max_violations=3)
    assert _summary(batch) == _summary(interp)


# ---------------------------------------------------------------------- generated protocols


def _protocol(n_nodes: int, table: dict, branch: frozenset, fifo: bool, cap: int):
    """Nodes 0..n-1; on M(v) from s, node i adds v to its total (capped) and sends table[(i, v)];
    when (i, v) is in `branch` it first chooses whether to send at all."""
    ids = [f"n{i}" for i in range(n_nodes)]

    class G(Node):
        total = 0

        def on_start(self):
            for dst, v in table.get((ids.index(self.id), -1), ()):
                self.send(ids[dst], M(v))

        @on(M)
        def got_m(self, msg, sender):
            i = ids.index(self.id)
            require(self.total < cap)
            self.total = min(cap, self.total + msg.v + 1)
            if (i, msg.v) in branch and not choose([True, False]):
                return
            for dst, v in table.get((i, msg.v), ()):
                self.send(ids[dst], M(v))

    class Gen(Protocol):
        def nodes(self):
            return {x: G() for x in ids}

        @invariant
        def bounded(self):
            return sum(n.total for n in self.nodes_of()) < 2 * cap

    Gen.fifo = fifo
    return Gen


@st.composite
def protocols(draw):
    n = draw(st.integers(2, 3))
    send = st.tuples(st.integers(0, n - 1), st.integers(0, 2))
    table = {(i, v): draw(st.lists(send, max_size=2)) for i in range(n) for v in range(-1, 3)}
    table[(0, -1)] = table[(0, -1)] or [(1, 0)]  # something is in flight at the start
    branch = frozenset(draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 2)), max_size=2)))
    return _protocol(n, table, branch, draw(st.booleans()), draw(st.integers(2, 4)))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(protocols(), st.sampled_from([None, "loss=1", "dup=1", "crash=1", "partition=1", "loss=1,dup=1,crash=1"]))
def test_generated_protocols_agree_on_both_engines(cls, faults):
    interp, batch = _both(cls, None, faults, depth=6, max_violations=2)
    assert _summary(batch) == _summary(interp)


def test_the_liveness_graph_of_an_actor_spec_is_the_same_from_both_builders():
    from tests.test_liveness_graph import FIELDS, batched, interpreted

    model, _ = load_model(str(ROOT / "specs" / "twopc.py"), {"n": 2}, "crash=1")
    a, b = interpreted(model), batched(model)
    for f in FIELDS:
        assert getattr(a, f) == getattr(b, f), f
    assert len(b.labels) > 100


# ---------------------------------------------------------------------- dict keys that appear late


class LateKeys(Spec):
    """Key `step` of `d` is first met at depth `step`: each new key widens the columns mid-search.
    `measure`, `snapshot` and `clear` read `d` whole, `clear` and `wipe` assign it whole, so their memo
    entries are stale once a key appears; `put` and `flip` read and write named keys only."""

    def init(self):
        self.step = 0
        self.d = {}
        self.size = 0
        self.ones = ()

    @action
    def put(self):
        require(self.step < 4)
        self.d[self.step] = choose([0, 1])
        self.step += 1

    @action
    def flip(self):
        k = choose(range(4))
        require(k < self.step and self.d.get(k) == 0)
        self.d[k] = 1

    @action
    def measure(self):
        self.size = len(self.d)

    @action
    def snapshot(self):
        self.ones = tuple(sorted(k for k, v in self.d.items() if v))

    @action
    def clear(self):
        require(len(self.d) >= 3)
        self.d = {}

    @action
    def wipe(self):  # assigns d whole without reading it: its writes name the keys known when recorded
        require(self.size == 1)
        self.d = {}
        self.size = 0


def test_tries_that_read_a_dict_whole_are_dropped_when_it_gains_a_key_and_the_others_kept():
    """Counts equal the interpreted engine's (a stale whole-dict entry would give wrong sizes), and
    only the tries of actions that read or assigned `d` whole were started afresh on the last new key."""
    from explorer.engine import batch

    interp, b = _both(LateKeys, max_violations=1)
    assert _summary(b) == _summary(interp)
    assert interp.complete and interp.distinct_states > 100
    dropped = []
    orig = batch.BatchSearch._forget_stale

    def spy(self, rows):
        before = list(self.action_tries)
        orig(self, rows)
        dropped.append({a.name for a, t, u in zip(self.model.actions, before, self.action_tries, strict=True)
                        if t is not u})

    batch.BatchSearch._forget_stale = spy
    try:
        again = _both(LateKeys, max_violations=1)[1]
    finally:
        batch.BatchSearch._forget_stale = orig
    assert _summary(again) == _summary(interp)
    assert dropped and all(d <= {"measure", "snapshot", "clear", "wipe"} for d in dropped)
    assert {"measure", "snapshot", "wipe"} <= set().union(*dropped)
