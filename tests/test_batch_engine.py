"""The batched engine (engine/batch.py) against the interpreted one (engine/search.py).

Both must give the same distinct states, transitions, depth, verdict and trace on every spec; the
batched engine must also keep what it promises about memory (issue 7): at most 8 B of parent index
and step id per visited state besides the 8 B fingerprint, and frontier columns in the smallest type.
"""
from __future__ import annotations

from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer import Spec, action, choose, invariant, require
from explorer.api import load_model
from explorer.engine.batch import BatchSearch
from explorer.engine.options import Options
from explorer.engine.search import Search

from .conftest import TWOPHASE


def _make_spec(n_keys: int, n_vals: int, guards: list[list[bool]], nexts: list[list[int]], x_max: int,
               bad: tuple[int, int] | None):
    """A spec over a dict of n_keys small counters and a scalar, with actions read off random tables."""

    class Generated(Spec):
        def init(self):
            self.d = {k: 0 for k in range(n_keys)}
            self.x = 0

        @action
        def step(self):
            k = choose(range(n_keys))
            i = choose(range(len(guards)))
            v = self.d[k]
            require(guards[i][v])
            self.d[k] = nexts[i][v]

        @action
        def bump(self):
            k = choose(range(n_keys))
            require(self.d[k] % 2 == 1 and self.x < x_max)
            self.x += 1

        @action
        def reset(self):
            require(self.x == x_max)
            self.x = 0
            self.d = {k: 0 for k in range(n_keys)}

        @invariant
        def avoids_bad(self):
            return bad is None or not (self.x == bad[0] and self.d[0] == bad[1])

    return Generated


@st.composite
def generated_specs(draw):
    n_keys = draw(st.integers(1, 3))
    n_vals = draw(st.integers(2, 4))
    n_rules = draw(st.integers(1, 3))
    guards = [draw(st.lists(st.booleans(), min_size=n_vals, max_size=n_vals)) for _ in range(n_rules)]
    nexts = [draw(st.lists(st.integers(0, n_vals - 1), min_size=n_vals, max_size=n_vals)) for _ in range(n_rules)]
    x_max = draw(st.integers(0, 3))
    bad = draw(st.none() | st.tuples(st.integers(0, 3), st.integers(0, n_vals - 1)))
    return _make_spec(n_keys, n_vals, guards, nexts, x_max, bad)


def _run(spec, backend: str, **opts):
    model, _ = load_model(spec)
    o = Options(backend=backend, **opts)
    return (BatchSearch if backend == "batch" else Search)(model, o).run()


def _figures(r):
    trace = None
    if r.violations:
        t = r.violations[0].trace
        trace = [(s.label, tuple(sorted(s.state.items()))) for s in t.steps]
    return (r.distinct_states, r.transitions, r.depth, r.complete, [v.property for v in r.violations], trace)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_specs(), st.sampled_from([None, 1, 3]), st.sampled_from([None, 5, 40]))
def test_batch_and_interp_give_identical_counts_verdicts_and_traces_on_generated_specs(spec, depth, max_states):
    assert _figures(_run(spec, "batch", depth=depth, max_states=max_states)) == \
        _figures(_run(spec, "interp", depth=depth, max_states=max_states))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_specs(), st.integers(1, 4))
def test_frontier_chunks_of_any_size_give_the_counts_and_trace_of_one_chunk(spec, chunk):
    whole = _figures(_run(spec, "batch"))
    with patch.object(BatchSearch, "_MIN_CHUNK", chunk), patch.object(BatchSearch, "_CHUNK_CANDIDATES", 1):
        assert _figures(_run(spec, "batch")) == whole


def test_twophase_split_into_one_state_chunks_keeps_tlc_counts_and_the_interp_order(monkeypatch):
    monkeypatch.setattr(BatchSearch, "_MIN_CHUNK", 1)
    monkeypatch.setattr(BatchSearch, "_CHUNK_CANDIDATES", 1)
    model, _ = load_model(TWOPHASE, {"n": 3})
    s = BatchSearch(model, Options(backend="batch"))
    r = s.run()
    assert (r.distinct_states, r.transitions + r.initial_states) == (288, 1146)  # TLC: 1146 generated
    # the same parent of every state as the interpreted engine (first found in BFS order)
    interp = Search(model, Options(backend="interp"))
    interp.run()
    seen = {}
    for depth in range(1, len(s.level_parent)):
        for i in range(len(s.level_parent[depth])):
            path = s._fp_path(depth, i)
            seen[path[-1]] = path[-2]
    assert seen == {fp: p for fp, p in interp.parents.items() if p != -1}


def test_a_leaf_with_more_than_256_values_widens_the_frontier_columns():
    class Long(Spec):
        def init(self):
            self.x = 0
            self.flag = False

        @action
        def inc(self):
            require(self.x < 700)
            self.x += 1

        @action
        def flip(self):
            self.flag = not self.flag

    r = _run(Long, "batch")
    assert (r.distinct_states, r.transitions, r.depth) == (1402, 1402 + 1400, 701)


def test_a_visited_state_costs_at_most_eight_bytes_besides_its_fingerprint():
    model, _ = load_model(TWOPHASE, {"n": 5})
    s = BatchSearch(model, Options(backend="batch"))
    r = s.run()
    assert r.distinct_states == 6**5 + 4**5 + 2**5
    kept = sum(a.nbytes for a in s.level_parent) + sum(a.nbytes for a in s.level_emit)
    assert kept <= 8 * r.distinct_states
    assert kept >= 6 * r.distinct_states  # a uint32 parent and a uint16 step id at least: the figure is real


@pytest.mark.parametrize("n", [2, 3])
def test_twophase_violation_trace_is_the_same_on_both_engines_when_the_invariant_is_broken(n):
    src = TWOPHASE.read_text().replace('return not ("committed" in states and "aborted" in states)',
                                       'return not ("committed" in states and "prepared" in states)')
    ns: dict = {}
    exec(compile(src, str(TWOPHASE), "exec"), ns)
    spec = ns["TwoPhase"]
    from explorer.api import run_model

    runs = [run_model(spec.build_model({"n": n}), Options(backend=b)) for b in ("batch", "interp")]
    assert [r.backend for r in runs] == ["batch", "interp"]
    assert _figures(runs[0]) == _figures(runs[1])
    assert runs[0].violations and runs[0].violations[0].property == "consistent"


class CopyDicts(Spec):
    """`self.a = self.b` between dict fields: a gets all of b (keys b gained, keys only a had go)."""

    def init(self):
        self.a = {1: 0, 9: 0}
        self.b = {1: 5}
        self.n = 0

    @action
    def grow(self):
        require(self.n < 2)
        self.n += 1
        self.b[self.n + 1] = self.n  # a key a never had

    @action
    def bump(self):
        require(self.b[1] < 6)
        self.b[1] += 1

    @action
    def copy(self):
        self.a = self.b

    @action
    def copy_and_change(self):
        require(self.n == 1)
        self.a = self.b
        self.a[1] = 7  # one dict now: b changes too, as in Python

    @invariant
    def no_nine_once_copied(self):
        return not (self.a.get(2) == 1 and 9 in self.a)


def test_a_dict_field_assigned_another_runs_batched_with_the_interpreted_figures():
    got = _run(CopyDicts, "batch")
    assert got.backend == "batch" and not [w for w in got.warnings if "batched engine not used" in w], got.warnings
    assert _figures(got) == _figures(_run(CopyDicts, "interp"))
    assert got.distinct_states > 9
