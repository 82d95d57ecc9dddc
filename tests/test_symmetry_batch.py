"""`--symmetry` on the batched engine (engine/batch_symmetry.py) against the interpreted one.

The interpreted symmetry engine (engine/symmetry.py: a canonical representative per state) is the
second implementation: orbit counts, transitions, verdicts and counterexample lengths must be equal.
Invariance is also checked directly: every permutation of a state's ids, applied here by hand, gets
the same canonical fingerprint, and states of different orbits get different ones.
"""
from __future__ import annotations

import itertools
from math import comb

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import explorer
from explorer import Spec, action, choose, invariant, param, require
from explorer.api import load_model, run_model
from explorer.dsl.values import FrozenDict, mix64
from explorer.engine.batch_symmetry import SymmetricBatchSearch, mix64_array
from explorer.engine.options import Options

from .conftest import TWOPC, TWOPHASE
from .test_symmetry import Election, _orbits_by_brute_force, _symmetric_spec


def _both(spec, params=None, faults=None, **opts):
    out = []
    for backend in ("batch", "interp"):
        model, _ = load_model(spec, params, faults)
        out.append(run_model(model, Options(symmetry=True, backend=backend, **opts)))
    return out


def _same(b, i) -> None:
    assert b.backend == "batch" and i.backend != "batch"
    assert not [w for w in b.warnings if "batched engine not used" in w]
    assert (b.distinct_states, b.transitions, b.depth, b.result) == (i.distinct_states, i.transitions, i.depth, i.result)
    assert [(v.property, v.length) for v in b.violations] == [(v.property, v.length) for v in i.violations]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_twophase_orbits_on_the_batched_engine_equal_the_interpreted_engines_and_the_closed_form(n):
    b, i = _both(TWOPHASE, {"n": n})
    _same(b, i)
    assert b.distinct_states == comb(n + 5, 5) + comb(n + 3, 3) + comb(n + 1, 1)


@pytest.mark.parametrize("nodes", [("a", "b"), ("a", "b", "c")])
def test_string_ids_inside_values_count_the_same_orbits_batched(nodes):
    b, i = _both(Election, {"nodes": nodes})
    _same(b, i)
    assert b.distinct_states == _orbits_by_brute_force(Election, {"nodes": nodes}, nodes)


def test_the_twopc_actor_spec_runs_batched_with_symmetry_and_counts_the_same_orbits():
    b, i = _both(TWOPC, {"n": 3})
    _same(b, i)
    assert b.distinct_states < explorer.check(TWOPC, params={"n": 3}).distinct_states


# Replay of a batched symmetric trace: tests/test_symmetry.py (parametrized over both engines).


class Tally(Spec):
    """Int ids (renamed only as dict keys): each id climbs a small ladder; a shared counter of climbs."""

    n = param(3, symmetric=True)
    rules = param(((0, 1), (1, 2)))
    top = param(2)
    bad = param(99)  # forbid this many ids at the top at once

    def init(self):
        self.level = {i: 0 for i in range(self.n)}
        self.seen = {i: False for i in range(self.n)}
        self.climbs = 0

    @action
    def climb(self):
        i = choose(range(self.n))
        a, b = choose(self.rules)
        require(self.level[i] == a and self.climbs < 4)
        self.level[i] = b
        self.climbs += 1

    @action
    def mark(self):
        i = choose(range(self.n))
        require(self.level[i] == self.top and not self.seen[i])
        self.seen[i] = True

    @invariant
    def not_too_many_at_the_top(self):
        return sum(v == self.top for v in self.level.values()) < self.bad


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 4),
       rules=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=4),
       top=st.integers(0, 2), bad=st.integers(1, 4))
def test_int_id_specs_count_the_same_orbits_batched_and_interpreted(n, rules, top, bad):
    b, i = _both(Tally, {"n": n, "rules": tuple(rules), "top": top, "bad": bad})
    _same(b, i)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 3).flatmap(lambda nv: st.tuples(
    st.just(nv), st.lists(st.tuples(st.integers(0, nv - 1), st.integers(0, nv - 1)), min_size=1, max_size=4),
    st.integers(1, 4), st.integers(0, nv - 1))), st.sampled_from([("a", "b"), ("a", "b", "c")]))
def test_string_id_specs_count_the_same_orbits_batched_and_interpreted(shape, k):
    b, i = _both(_symmetric_spec(*shape), {"k": k})
    _same(b, i)


def _search(spec, params) -> SymmetricBatchSearch:
    model, _ = load_model(spec, params)
    return SymmetricBatchSearch(model, Options(symmetry=True, backend="batch"))


def _permuted(state: tuple, m: dict, keys_only: bool) -> tuple:
    def ren(v):
        if type(v) is FrozenDict:
            return FrozenDict({m.get(k, k): (v2 if keys_only else ren(v2)) for k, v2 in v.items()})
        return v if keys_only or type(v) is not str else m.get(v, v)
    return tuple(ren(v) for v in state)


@pytest.mark.parametrize("spec, params, ids, keys_only", [
    (Tally, {"n": 3}, (0, 1, 2), True),
    (Election, {"nodes": ("a", "b", "c")}, ("a", "b", "c"), False),
])
def test_canonical_fingerprints_are_equal_exactly_within_an_orbit(spec, params, ids, keys_only):
    search = _search(spec, params)
    model = search.model
    states = set()
    todo = [s for s, _ in model.initial_states()]
    while todo and len(states) < 300:
        s = todo.pop()
        if s not in states:
            states.add(s)
            todo.extend(nxt for nxt, _ in model.successors(s))
    canon = search.canon
    by_orbit: dict[frozenset, set[int]] = {}
    for s in states:
        images = {_permuted(s, dict(zip(ids, p, strict=True)), keys_only) for p in itertools.permutations(ids)}
        fps = {canon.of(x) for x in images}
        assert len(fps) == 1  # one fingerprint for the whole orbit
        by_orbit.setdefault(frozenset(images), set()).update(fps)
        cols = search._encode_states(sorted(images, key=repr))
        search._widen(cols)
        assert set(canon.columns(cols).tolist()) == fps  # the numpy form agrees with the tuple form
    assert len({next(iter(f)) for f in by_orbit.values()}) == len(by_orbit)  # different orbits differ


def test_too_many_orders_of_string_ids_fall_back_to_the_interpreted_engine_and_say_why():
    class Flags(Spec):
        ids = param(tuple("abcdefg"), symmetric=True)

        def init(self):
            self.up = {x: False for x in self.ids}
            self.last = None

        @action
        def raise_flag(self):
            x = choose(self.ids)
            require(not self.up[x])
            self.up[x] = True
            self.last = x

    r = explorer.check(Flags, symmetry=True)
    assert r.distinct_states == 1 + 7  # up to symmetry: how many flags are up (the last one raised is up)
    assert any("batched engine not used" in w and "5,040" in w for w in r.warnings), r.warnings


@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=50))
def test_the_numpy_mix_is_the_python_mix_bit_for_bit(xs):
    assert mix64_array(np.array(xs, dtype=np.uint64)).tolist() == [mix64(x) for x in xs]


def test_the_cli_runs_symmetry_batched_and_counts_orbits():
    from .conftest import explore

    run = explore(str(TWOPHASE), "--param", "n=7", "--symmetry", "--json")
    assert run.code == 0, run
    import json

    out = json.loads(run.out)
    assert out["distinct_states"] == comb(12, 5) + comb(10, 3) + 8
    assert out["backend"] == "batch" and not out["warnings"]


@pytest.mark.parametrize("spec, params, faults, counts", [(TWOPHASE, {"n": 5}, None, (1, 2, 3)),
                                                          (TWOPC, {"variant": "no_durable_log"}, "crash=1", (1, 3))])
def test_workers_with_symmetry_give_the_one_process_counts_and_traces(spec, params, faults, counts, monkeypatch):
    from explorer.engine.batch_symmetry import symmetric_search
    from explorer.engine.parallel import ParallelBatchSearch
    from explorer.engine.pool import PoolBatchSearch

    for cls in (ParallelBatchSearch, PoolBatchSearch):
        monkeypatch.setattr(cls, "min_parallel_frontier", 1)  # split every level
    runs = []
    for workers in counts:
        model, _ = load_model(spec, params, faults)
        search = symmetric_search(model, Options(symmetry=True, backend="batch", workers=workers))
        runs.append((search.run(), search))
    one = runs[0][0]
    for r, search in runs[1:]:
        assert search.level_cpu  # levels were split over the workers
        assert (r.distinct_states, r.transitions, r.result) == (one.distinct_states, one.transitions, one.result)
        assert [v.trace.steps for v in r.violations] == [v.trace.steps for v in one.violations]


@pytest.mark.parametrize("spec, params, faults", [
    (TWOPHASE, {"n": 5}, None),  # int ids: sorted blocks
    (TWOPC, {"n": 3, "variant": "no_durable_log"}, "crash=1"),  # actors: string ids, a violation
])
def test_symmetry_on_a_dask_cluster_gives_the_one_process_orbits_and_traces(monkeypatch, spec, params, faults):
    distributed = pytest.importorskip("distributed", reason="Dask is optional: pip install 'explorer[dask]'")
    from explorer.engine import cluster as cluster_mod
    from explorer.engine.parallel import ParallelBatchSearch

    monkeypatch.setattr(ParallelBatchSearch, "min_parallel_frontier", 1)  # every level split
    remote = []
    real = cluster_mod.expand_synced
    monkeypatch.setattr(cluster_mod, "expand_synced", lambda search, *a: remote.append(type(search)) or real(search, *a))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as c:
        got = explorer.check(spec, params=params, faults=faults, symmetry=True, cluster=c.scheduler_address)
    one = explorer.check(spec, params=params, faults=faults, symmetry=True)
    assert remote and all(t.__name__ == "SymmetricRangeSearch" for t in remote)  # the workers fingerprint by orbit
    assert (got.backend, got.distinct_states, got.transitions, got.depth, got.result) == \
        (one.backend, one.distinct_states, one.transitions, one.depth, one.result)
    assert [v.trace.steps for v in got.violations] == [v.trace.steps for v in one.violations]


def test_a_batched_symmetry_run_stopped_by_max_states_resumes_to_the_full_counts_and_trace(tmp_path):
    params = {"n": 3, "bad": 2}  # two ids at the top at once: a violation at depth 4
    full = explorer.check(Tally, params=params, symmetry=True)
    ck = tmp_path / "sym.ckpt"
    part = explorer.check(Tally, params=params, symmetry=True, max_states=5, checkpoint=str(ck), checkpoint_every_s=0)
    assert part.backend == "batch" and not part.complete
    got = explorer.check(Tally, params=params, symmetry=True, resume=str(ck))
    assert (got.backend, got.distinct_states, got.transitions, got.result) == \
        ("batch", full.distinct_states, full.transitions, "violation")
    assert [v.trace.steps for v in got.violations] == [v.trace.steps for v in full.violations]


@pytest.mark.parametrize("depth", [1, 3, 6])
def test_a_depth_bound_counts_the_same_orbits_batched_and_interpreted(depth):
    b, i = _both(TWOPHASE, {"n": 4}, depth=depth)
    _same(b, i)
    assert b.depth_bound_hit and i.depth_bound_hit


class Gossip(Spec):
    """String ids inside sets and tuples (messages): who knows whom, and the messages in flight."""

    ids = param(("a", "b", "c"), symmetric=True)
    max_msgs = param(2)
    bad = param(99)  # forbid an id that knows this many others

    def init(self):
        self.know = {x: frozenset() for x in self.ids}
        self.msgs = frozenset()
        self.sent = 0

    @action
    def send(self):
        a = choose(self.ids)
        b = choose(self.ids)
        require(a != b and self.sent < self.max_msgs and (a, b) not in self.msgs)
        self.msgs = self.msgs | {(a, b)}
        self.sent += 1

    @action
    def deliver(self):
        a, b = choose(sorted(self.msgs))
        self.msgs = self.msgs - {(a, b)}
        self.know[b] = self.know[b] | self.know[a] | {a}

    @invariant
    def nobody_knows_too_many(self):
        return all(len(k - {x}) < self.bad for x, k in self.know.items())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ids=st.sampled_from([("a", "b"), ("a", "b", "c"), ("a", "b", "c", "d")]), max_msgs=st.integers(1, 3),
       bad=st.integers(1, 4))
def test_ids_inside_sets_and_messages_count_the_same_orbits_batched_and_interpreted(ids, max_msgs, bad):
    b, i = _both(Gossip, {"ids": ids, "max_msgs": max_msgs, "bad": bad})
    _same(b, i)
    if b.result == "ok" and len(ids) < 4:
        assert b.distinct_states == _orbits_by_brute_force(Gossip, {"ids": ids, "max_msgs": max_msgs, "bad": bad}, ids)


@pytest.mark.parametrize("spec, params, faults", [
    ("quorum.py", {"r": 1, "w": 2}, None),  # stale read, 8 steps
    ("threepc.py", {}, "partition=1"),  # atomicity broken, 7 steps
    ("threepc.py", {"variant": "one_by_one"}, "crash=1,restart=0"),
])
def test_other_catalog_specs_that_declare_symmetry_count_the_same_orbits_batched(spec, params, faults):
    from .conftest import SPECS

    b, i = _both(SPECS / spec, params, faults)
    _same(b, i)
