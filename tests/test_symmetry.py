"""Symmetry reduction (`--symmetry`): one state per orbit, every verdict kept, traces still real runs.

Orbit counts are checked against a closed form (TwoPhase) and against a brute-force count that
applies every permutation of the ids to every reachable state (written here, independent of
engine/symmetry.py).
"""
from __future__ import annotations

import itertools
from math import comb

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import explorer
from explorer import Spec, action, choose, invariant, param, require
from explorer.api import load_model, run_model
from explorer.dsl.loader import load_spec
from explorer.engine.options import Options
from explorer.engine.symmetry import declares_symmetry

from .conftest import FIXTURES, SPECS, TWOPHASE, explore


def _orbits_by_brute_force(spec_cls, params: dict, ids: tuple) -> int:
    """Counts orbits: a state's key is the smallest repr of it under every permutation of the ids."""
    model, _ = load_model(spec_cls, params)

    def rename(v, m):
        if isinstance(v, bool) or v is None:
            return v
        if isinstance(v, (int, str)):
            return m.get(v, v)
        if isinstance(v, dict):
            return tuple(sorted((repr(rename(k, m)), repr(rename(x, m))) for k, x in v.items()))
        if isinstance(v, (frozenset, set)):
            return tuple(sorted(repr(rename(x, m)) for x in v))
        if isinstance(v, tuple):
            return tuple(rename(x, m) for x in v)
        return v

    keys = set()
    for state in _reachable(model):
        keys.add(min(repr(tuple(rename(v, dict(zip(ids, p, strict=True))) for v in state))
                     for p in itertools.permutations(ids)))
    return len(keys)


def _reachable(model) -> set:
    seen = {s for s, _ in model.initial_states()}
    todo = list(seen)
    while todo:
        s = todo.pop()
        for nxt, _step in model.successors(s):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_twophase_with_symmetry_counts_one_state_per_multiset_of_rm_configurations(n):
    # with the TM in init each RM is in one of 6 configurations, 4 after commit, 2 after abort
    # (6^n + 4^n + 2^n states); an orbit is a multiset of configurations
    r = explorer.check(TWOPHASE, params={"n": n}, symmetry=True)
    assert r.distinct_states == comb(n + 5, 5) + comb(n + 3, 3) + comb(n + 1, 1)
    assert r.result == "ok" and r.complete


def test_twophase_orbit_count_matches_brute_force():
    cls = load_spec(TWOPHASE)
    assert explorer.check(TWOPHASE, params={"n": 3}, symmetry=True).distinct_states == \
        _orbits_by_brute_force(cls, {"n": 3}, (0, 1, 2))


class Election(Spec):
    """Nodes vote for a candidate; ids appear as dict keys and as values (votes, leader)."""

    nodes = param(("a", "b", "c"), symmetric=True)

    def init(self):
        self.vote = {x: None for x in self.nodes}
        self.leader = None

    @action
    def cast(self):
        x = choose(self.nodes)
        y = choose(self.nodes)
        require(self.vote[x] is None)
        self.vote[x] = y

    @action
    def elect(self):
        y = choose(self.nodes)
        require(self.leader is None and sum(v == y for v in self.vote.values()) * 2 > len(self.nodes))
        self.leader = y

    @invariant
    def one_leader_per_majority(self):
        return self.leader is None or sum(v == self.leader for v in self.vote.values()) * 2 > len(self.nodes)


@pytest.mark.parametrize("nodes", [("a", "b"), ("a", "b", "c")])
def test_orbits_with_ids_inside_values_match_brute_force(nodes):
    r = explorer.check(Election, params={"nodes": nodes}, symmetry=True)
    full = explorer.check(Election, params={"nodes": nodes})
    assert r.distinct_states == _orbits_by_brute_force(Election, {"nodes": nodes}, nodes)
    assert r.distinct_states < full.distinct_states
    assert r.result == full.result == "ok"


def _symmetric_spec(n_vals: int, rules: list[tuple[int, int]], bad_count: int, bad_val: int):
    class Tokens(Spec):
        k = param(("a", "b", "c"), symmetric=True)  # string ids: owner holds one as a value

        def init(self):
            self.v = {i: 0 for i in self.k}
            self.owner = None

        @action
        def move(self):
            i = choose(self.k)
            a, b = choose(rules)
            require(self.v[i] == a)
            self.v[i] = b

        @action
        def grab(self):
            i = choose(self.k)
            require(self.owner is None and self.v[i] == n_vals - 1)
            self.owner = i

        @action
        def release(self):
            require(self.owner is not None)
            self.v[self.owner] = 0
            self.owner = None

        @invariant
        def not_too_many(self):
            return sum(x == bad_val for x in self.v.values()) < bad_count

    return Tokens


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 3).flatmap(lambda nv: st.tuples(
    st.just(nv), st.lists(st.tuples(st.integers(0, nv - 1), st.integers(0, nv - 1)), min_size=1, max_size=4),
    st.integers(1, 4), st.integers(0, nv - 1))), st.sampled_from([("a", "b"), ("a", "b", "c")]))
def test_symmetry_keeps_the_verdict_and_counts_orbits_on_generated_specs(shape, k):
    spec = _symmetric_spec(*shape)
    on = explorer.check(spec, params={"k": k}, symmetry=True)
    off = explorer.check(spec, params={"k": k})
    assert on.result == off.result
    assert [v.property for v in on.violations] == [v.property for v in off.violations]
    if on.violations:  # BFS: the shortest counterexample has the same length in the quotient
        assert on.violations[0].length == off.violations[0].length
    else:
        assert on.distinct_states == _orbits_by_brute_force(spec, {"k": k}, k)


def _declared_checks():
    out = []
    for path in sorted(SPECS.glob("*.py")):
        cls = load_spec(path)
        for chk in getattr(cls, "checks", []):
            liveness = {p.name for p in cls._properties if p.kind in ("eventually", "always_eventually", "leads_to")}
            if chk.verdict == "deadlock" or chk.property in liveness:
                continue  # liveness is not checked under --symmetry (explorer/liveness/check.py says why)
            model = cls.build_model(dict(chk.params), chk.faults)
            if declares_symmetry(model):
                out.append(pytest.param(path, chk, id=f"{path.stem}:{chk.describe()}"))
    return out


@pytest.mark.parametrize("path, chk", _declared_checks())
def test_symmetry_keeps_the_verdict_of_every_declared_check_of_a_spec_that_declares_symmetry(path, chk):
    cls = load_spec(path)
    base = Options(depth=chk.depth, max_states=chk.max_states, deadlock=chk.deadlock)
    results = []
    for sym in (False, True):
        model = cls.build_model(dict(chk.params), chk.faults)
        results.append(run_model(model, base.but(symmetry=sym)))
    off, on = results
    assert on.distinct_states <= off.distinct_states
    safety = lambda r: sorted({v.property for v in r.violations if v.kind != "liveness"})  # noqa: E731
    assert safety(on) == safety(off)


@pytest.mark.parametrize("backend", ["interp", "batch"])
def test_a_trace_found_under_symmetry_is_a_real_run_that_replays(backend):
    from .conftest import TWOPC

    model, _ = load_model(TWOPC, {"variant": "no_durable_log"}, "crash=1")
    r = run_model(model, Options(symmetry=True, backend=backend))
    assert r.backend == backend
    assert r.violations and r.violations[0].property == "atomicity"
    t = r.violations[0].trace
    state = next(s for s, st_ in model.initial_states() if st_.decisions == t.init_decisions)
    for step in t.steps:
        nxt = model.replay(state, step.action, step.decisions)
        assert nxt is not None, step.label
        state = nxt[0]
        assert model.as_dict(state) == dict(step.state)
    assert not dict(model.check_invariants(state))["atomicity"].holds


def test_symmetry_on_a_spec_that_declares_none_is_a_usage_error(tmp_path):
    run = explore(FIXTURES / "counter.py", "--symmetry")
    assert run.code == 2
    assert "declares no interchangeable ids" in run.err


def test_the_cli_counts_orbits_with_symmetry():
    run = explore(str(TWOPHASE), "--param", "n=4", "--symmetry", "--json")
    assert run.code == 0, run
    import json

    assert json.loads(run.out)["distinct_states"] == comb(9, 5) + comb(7, 3) + 5
