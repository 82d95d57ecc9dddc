"""The batched liveness graph builder (explorer/liveness/batch_graph.py) against the interpreted one.

The liveness check builds the whole state graph. `build_graph_batched` computes it a BFS level at a
time with the batched engine's tries; `graph.build_graph` runs every action of every state. They
must give the same Graph field by field (state numbering, edge ids, tasks, labels, enabled sets),
so every fair component and every lasso is the same: checked on catalog specs and on generated ones
(hypothesis), with and without bounds, plus the verdicts and lasso lengths of whole runs.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import explorer
from explorer import Spec, action, always_eventually, choose, eventually, leads_to, require
from explorer.api import load_model
from explorer.errors import ActionError
from explorer.liveness import check as live_check
from explorer.liveness.batch_graph import Fallback, batchable, build_graph_batched
from explorer.liveness.check import _holds, _trigger
from explorer.liveness.fairness import Fairness
from explorer.liveness.graph import build_graph
from explorer.liveness.scc import fair_components

FIELDS = ("succ", "edge_move", "edge_task", "enabled", "expanded", "labels", "init_steps", "tasks",
          "task_fair", "complete", "why_partial")


def interpreted(model, **bounds):
    props = list(model.liveness)

    def label(state):
        out = []
        for p in props:
            out.append(_holds(model, p, [state])[0])
            out.append(_trigger(model, p, [state])[0] if p.kind == "leads_to" else False)
        return tuple(out)

    return build_graph(model, Fairness(model), label=label, **bounds)


def batched(model, **bounds):
    return build_graph_batched(model, Fairness(model), list(model.liveness), **bounds)


def assert_same_graph(a, b):
    for f in FIELDS:
        assert getattr(a, f) == getattr(b, f), f


def fair_regions(g, n_props):
    """The fair components of each property's bad region (what check.py searches for a lasso)."""
    out = []
    for i in range(n_props):
        bad = {u for u, lab in enumerate(g.labels) if not lab[2 * i]}
        out.append(sorted(sorted(c) for c in fair_components(g, bad)))
    return out


@pytest.mark.parametrize("spec,params,bounds", [
    ("specs/raft.py", {}, {"depth": 8}),
    ("specs/raft.py", {}, {"max_states": 700}),
    ("specs/raft.py", {"n": 2}, {}),
    ("specs/raft.py", {"max_term": 1}, {}),
    ("specs/raft.py", {"vote_rule": "seed", "max_term": 3}, {"depth": 7}),
])
def test_both_builders_give_the_same_graph_on_catalog_specs(spec, params, bounds):
    model, _ = load_model(spec, params, None)
    assert batchable(model)
    a, b = interpreted(model, **bounds), batched(model, **bounds)
    assert_same_graph(a, b)
    assert len(b.labels) > 50 and len(b.edge_task) > len(b.labels)
    assert fair_regions(a, len(model.liveness)) == fair_regions(b, len(model.liveness))


def test_bounds_cut_the_batched_graph_as_they_cut_the_interpreted_one():
    model, _ = load_model("specs/raft.py", {}, None)
    g = batched(model, depth=3)
    assert not g.complete and g.why_partial == "the depth bound (3) cut the graph"
    g = batched(model, max_states=100)
    assert not g.complete and "--max-states (100)" in g.why_partial
    assert g.expanded[:100] == [True] * 100 and not any(g.expanded[100:])
    small, _ = load_model("specs/raft.py", {"max_term": 1}, None)
    assert batched(small, depth=100).complete
    g = batched(small, time_limit=1e-9)
    assert not g.complete and "--time-limit" in g.why_partial and not any(g.expanded)


# ---------------------------------------------------------------------- generated specs

@st.composite
def live_specs(draw):
    """A random plain spec with fair/unfair actions, maybe a dict field that gains keys, and liveness."""
    k = draw(st.integers(2, 4))
    init = {"a": draw(st.integers(0, k - 1)), "b": draw(st.integers(0, k - 1))}
    acts = []
    for _ in range(draw(st.integers(2, 5))):
        acts.append(dict(
            guard=draw(st.sampled_from(["a", "b"])),
            op=draw(st.sampled_from(["<", "!=", "==", "any"])),
            val=draw(st.integers(0, k - 1)),
            target=draw(st.sampled_from(["a", "b", "m"])),
            kind=draw(st.sampled_from(["add", "choose", "reset"])),
            arg=draw(st.integers(1, k - 1)),
            fair=draw(st.sampled_from([False, True, "strong"])),
        ))
    props = []
    for j in range(draw(st.integers(1, 3))):
        props.append(dict(kind=draw(st.sampled_from(["eventually", "always_eventually", "leads_to"])),
                          field=draw(st.sampled_from(["a", "b"])), val=draw(st.integers(0, k - 1)),
                          trig=draw(st.integers(0, k - 1)), name=f"p{j}"))
    return _build(k, init, acts, props)


def _build(k, init, acts, props):
    ns = {}

    def _init(self):
        self.a, self.b, self.m = init["a"], init["b"], {}

    ns["init"] = _init
    for i, a in enumerate(acts):
        def run(self, a=a):
            g = getattr(self, a["guard"])
            if a["op"] != "any":
                require(g < a["val"] if a["op"] == "<" else g != a["val"] if a["op"] == "!=" else g == a["val"])
            if a["target"] == "m":  # a dict gaining keys: the batched engine's schema grows
                key = choose(range(a["arg"] + 1)) if a["kind"] == "choose" else self.a
                self.m[key] = (self.m.get(key, 0) + 1) % k
            elif a["kind"] == "add":
                setattr(self, a["target"], (getattr(self, a["target"]) + a["arg"]) % k)
            elif a["kind"] == "choose":
                setattr(self, a["target"], choose(range(a["arg"] + 1)))
            else:
                setattr(self, a["target"], 0)

        run.__name__ = f"act{i}"
        ns[f"act{i}"] = action(fair=a["fair"])(run)
    for p in props:
        def pred(self, p=p):
            return getattr(self, p["field"]) == p["val"]

        pred.__name__ = p["name"]
        if p["kind"] == "eventually":
            ns[p["name"]] = eventually(pred)
        elif p["kind"] == "always_eventually":
            ns[p["name"]] = always_eventually(pred)
        else:
            ns[p["name"]] = leads_to(lambda self, p=p: self.b == p["trig"] or None)(pred)
    return type("GeneratedLive", (Spec,), ns)


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _verdicts(cls, use_batch: bool):
    with pytest.MonkeyPatch.context() as m:
        m.setattr(live_check, "batchable", lambda model: use_batch)
        r = explorer.check(cls, max_violations=10)
    return sorted((v.property, v.kind, v.trace.length if v.trace else None,
                   v.trace.loop_start if v.trace else None) for v in r.violations)


@SETTINGS
@given(live_specs())
def test_generated_specs_get_the_same_graph_and_the_same_lassos_from_both_builders(cls):
    from explorer.dsl.model import SpecModel

    model = SpecModel(cls)
    a, b = interpreted(model), batched(model)
    assert_same_graph(a, b)
    assert fair_regions(a, len(model.liveness)) == fair_regions(b, len(model.liveness))
    assert _verdicts(cls, True) == _verdicts(cls, False)


@SETTINGS
@given(live_specs(), st.integers(0, 4))
def test_generated_specs_cut_by_depth_get_the_same_graph(cls, depth):
    from explorer.dsl.model import SpecModel

    model = SpecModel(cls)
    assert_same_graph(interpreted(model, depth=depth), batched(model, depth=depth))


# ---------------------------------------------------------------------- which builder runs

def test_the_liveness_check_of_a_plain_spec_does_not_run_the_interpreted_builder(monkeypatch):
    def refuse(*a, **kw):
        raise AssertionError("the interpreted builder ran")

    monkeypatch.setattr(live_check, "build_graph", refuse)
    r = explorer.check("specs/raft.py", params={"vote_rule": "seed", "max_term": 2})
    assert r.complete and not r.violations  # max_term=2: both vote rules reach the same 7,965 states
    assert r.distinct_states == 7965


class Divides(Spec):
    def init(self):
        self.x = 0

    @action(fair=True)
    def inc(self):
        require(self.x < 3)
        self.x += 1

    @eventually
    def odd(self):
        return 1 / (self.x - 2) > 5  # raises in x == 2, which the safety search never evaluates


def test_a_liveness_property_that_raises_falls_back_and_gets_the_interpreted_message():
    from explorer.dsl.model import SpecModel

    with pytest.raises(Fallback):
        batched(SpecModel(Divides))
    with pytest.raises(ActionError, match="eventually odd raised ZeroDivisionError"):
        explorer.check(Divides)


def test_timed_specs_are_left_to_the_interpreted_builder_and_actor_specs_are_not():
    model, _ = load_model("specs/twopc.py", {"n": 2}, None)
    assert batchable(model)  # a delivery reads one message (choose_present): tests/test_batch_actors.py
    model, _ = load_model("specs/redis_lock.py", {"timing": True}, None)
    assert not batchable(model)


# ---------------------------------------------------------------------- successors kept by the safety search

def _actor_graph(memo=None, **bounds):
    model, _ = load_model("specs/twopc.py", {"n": 2}, "crash=1")
    return interpreted_with(model, memo, **bounds), model


def interpreted_with(model, memo, **bounds):
    props = list(model.liveness)

    def label(state):
        return tuple(x for p in props for x in (_holds(model, p, [state])[0],
                                                 _trigger(model, p, [state])[0] if p.kind == "leads_to" else False))

    return build_graph(model, Fairness(model), label=label, memo=memo, **bounds)


@pytest.mark.parametrize("budget", [10**9, 500])
def test_an_actor_specs_graph_from_the_safety_searchs_successors_is_the_graph_computed_afresh(budget):
    from explorer.engine.options import Options
    from explorer.engine.search import Search
    from explorer.liveness.memo import Remembering

    plain, model = _actor_graph()
    m = Remembering(budget=budget)
    r = Search(model, Options(), memo=m).run()
    kept = len(m.kept)
    assert kept == (r.distinct_states if budget > r.transitions else kept) and 0 < kept
    assert sum(len(s) for s in m.kept.values()) <= budget
    calls = []
    real = model.successors
    model.successors = lambda state: calls.append(1) or real(state)
    try:
        g = interpreted_with(model, m)
    finally:
        del model.successors
    assert_same_graph(plain, g)
    assert not m.kept  # every kept list was taken back
    assert len(calls) == len(plain.labels) - kept  # only the states the memo did not hold ran again


def test_explore_gives_the_same_lassos_with_and_without_the_kept_successors(monkeypatch):
    import explorer.liveness.memo as memo

    def lassos():
        r = explorer.check("specs/twopc.py", params={"n": 2}, faults="crash=1,restart=0", max_violations=5)
        return [(v.property, v.trace.length, v.trace.loop_start, [s.label for s in v.trace.steps])
                for v in r.violations], r.distinct_states

    with_memo = lassos()
    monkeypatch.setattr(memo, "remembering", lambda model, options: None)
    assert with_memo == lassos() and with_memo[0]


def test_the_safety_search_keeps_successors_only_where_the_interpreted_liveness_builder_will_run():
    from explorer.engine.options import Options
    from explorer.liveness.memo import Remembering, remembering

    timed, _ = load_model("specs/redis_lock.py", {"timing": True}, None)
    assert isinstance(remembering(timed, Options()), Remembering)
    assert remembering(timed, Options(strategy="random")) is None  # no liveness graph
    assert remembering(timed, Options(symmetry=True)) is None
    actor, _ = load_model("specs/twopc.py", {"n": 2}, None)
    assert remembering(actor, Options()) is None  # the batched builder makes its graph
    plain, _ = load_model("specs/raft.py", {}, None)
    assert remembering(plain, Options()) is None  # the batched builder makes its graph
    safety_only, _ = load_model("specs/paxos.py", {}, None)
    assert remembering(safety_only, Options()) is None


def test_the_memo_takes_the_safety_searchs_fingerprints_and_computes_none_of_its_own(monkeypatch):
    from explorer.engine.fingerprint import Fingerprinter
    from explorer.engine.options import Options
    from explorer.engine.search import Search
    from explorer.liveness.graph import build_graph
    from explorer.liveness.memo import Remembering

    model, _ = load_model("specs/twopc.py", {"n": 2}, "crash=1")
    calls = []
    real_of = Fingerprinter.of
    monkeypatch.setattr(Fingerprinter, "of", lambda self, state: calls.append(1) or real_of(self, state))
    m = Remembering()
    r = Search(model, Options(), memo=m).run()
    assert len(calls) == r.initial_states  # the search's own, for its initial states; none per expanded state
    assert len(m.kept) == r.distinct_states  # every expanded state kept, under the search's fingerprint
    graph_calls = []
    real_successors = model.successors
    model.successors = lambda state: graph_calls.append(1) or real_successors(state)
    g = build_graph(model, Fairness(model), memo=m)  # the graph builder's fingerprints find them all
    assert not m.kept and len(g.labels) == r.distinct_states and not graph_calls


def test_the_batched_safety_searchs_tries_build_the_same_graph_without_recording_an_action_again(monkeypatch):
    from explorer.engine.batch import BatchSearch, run_batch_or_fallback, take_warm
    from explorer.engine.options import Options

    model, _ = load_model("specs/raft.py", {"vote_rule": "seed", "max_term": 3}, None)
    r = run_batch_or_fallback(model, Options(depth=6))
    assert r.backend == "batch" and r.depth_bound_hit
    warm = take_warm(model)
    assert warm is not None and take_warm(model) is None  # handed over once
    recorded = []
    real = BatchSearch._expand_action
    monkeypatch.setattr(BatchSearch, "_expand_action", lambda self, ai, codes: recorded.append(ai) or real(self, ai, codes))
    g = build_graph_batched(model, Fairness(model), list(model.liveness), depth=6, warm=warm)
    assert recorded == []  # every action path the graph needs was recorded by the safety search
    cold = batched(model, depth=6)
    assert recorded  # ... which a builder of its own records again
    assert_same_graph(interpreted(model, depth=6), g)
    assert_same_graph(cold, g)
