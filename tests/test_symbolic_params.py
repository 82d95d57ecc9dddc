"""Symbolic parameters: Z3 finds the quorum boundary (a read sees the latest completed write iff R + W > N),
and a concrete sweep of small instances with the explicit engine agrees with it point by point.

Two methods find it: the parametric explicit search (concrete states, parameters as Z3 unknowns;
any spec, specs/quorum.py's actors included) and the BMC unrolling (plain specs, bounded depth).
"""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import explorer
from explorer import Spec, action, choose, invariant, param, require
from explorer.dsl.loader import load_spec
from explorer.errors import SpecError, UsageError
from explorer.symbolic.boundary import _fit, _render, find_boundary, symbolic_param

from .conftest import SPECS


class Quorum(Spec):
    """One write of version 1 to N replicas, then one read; nothing in it says R + W > N."""

    n = param(3, help="replicas")
    r = symbolic_param(2, bounds=(1, 4), help="read quorum")  # the short spelling
    w = param(2, symbolic=True, bounds=(1, 4), help="write quorum")  # the DSL's own

    def init(self):
        self.version = {i: 0 for i in range(self.n)}
        self.acks = 0
        self.write_done = False
        self.reading = False
        self.replied = {i: False for i in range(self.n)}
        self.replies = 0
        self.seen = 0
        self.read_done = False

    @action
    def replicate(self):
        i = choose(range(self.n), "replica")
        require(self.version[i] == 0)
        self.version[i] = 1
        self.acks += 1

    @action
    def finish_write(self):
        require(not self.write_done and self.acks >= self.w)
        self.write_done = True

    @action
    def start_read(self):
        require(self.write_done and not self.reading)
        self.reading = True

    @action
    def reply(self):
        i = choose(range(self.n), "replica")
        require(self.reading and not self.read_done and not self.replied[i])
        self.replied[i] = True
        self.replies += 1
        self.seen = max(self.seen, self.version[i])

    @action
    def finish_read(self):
        require(self.reading and not self.read_done and self.replies >= self.r)
        self.read_done = True

    @invariant
    def read_sees_latest_write(self):
        return not self.read_done or self.seen == 1


def test_z3_finds_the_quorum_boundary_as_a_formula_over_r_w_and_n():
    b = find_boundary(Quorum, over={"n": [2, 3, 4]}, depth=7, method="bmc")  # a counterexample: <= n + 3 steps
    assert b.verified  # Z3 showed the formula equivalent to "no invariant fails" on the whole box
    assert b.formula == "r + w > n"
    assert b.unsafe_witness is not None and b.unsafe_witness["r"] + b.unsafe_witness["w"] <= b.unsafe_witness["n"]
    assert b.safe_witness["r"] + b.safe_witness["w"] > b.safe_witness["n"]
    trace = b.unsafe_trace  # the unsafe witness comes with a concrete trace: the read missed the write
    assert trace.violated == "read_sees_latest_write" and trace.final["seen"] == 0


def test_the_boundary_agrees_with_a_concrete_sweep_by_the_explicit_engine():
    b = find_boundary(Quorum, params={"n": 3}, depth=6, method="bmc")
    assert b.formula == "r + w > 3"
    for r in range(1, 5):
        for w in range(1, 5):
            explicit = explorer.check(Quorum, params={"n": 3, "r": r, "w": w})
            assert explicit.complete or explicit.violations  # a search stops at its first violation
            assert (explicit.result == "ok") == b.holds_at({"r": r, "w": w}) == (r + w > 3), (r, w)


def test_the_parametric_explicit_search_and_the_bmc_unrolling_find_the_same_points():
    explicit = find_boundary(Quorum, over={"n": [2, 3]})  # exhaustive: no depth bound
    bmc = find_boundary(Quorum, over={"n": [2, 3]}, depth=6, method="bmc")
    key = sorted  # the same points, in any order
    assert key(map(repr, explicit.unsafe)) == key(map(repr, bmc.unsafe)) and len(explicit.unsafe) == 1 + 3
    assert explicit.formula == bmc.formula == "r + w > n" and explicit.verified and explicit.complete


class OffByOne(Quorum):
    """A read that waits for one reply more than r: the boundary moves to r + w >= n, i.e. r + w + 1 > n."""

    @action
    def finish_read(self):
        require(self.reading and not self.read_done and self.replies >= self.r + 1)
        self.read_done = True


def test_the_boundary_follows_the_code_not_a_formula_written_anywhere():
    b = find_boundary(OffByOne, over={"n": [2, 3]})
    assert b.formula == "r + w + 1 > n" and b.verified
    for p in b.safe + b.unsafe:  # r + 1 > n replies never come: the read never completes, vacuously safe
        assert b.holds_at(p) == (p["r"] + p["w"] + 1 > p["n"] or p["r"] + 1 > p["n"]), p


def test_specs_quorum_boundary_is_found_by_z3_and_matches_an_explicit_sweep():
    spec = load_spec(SPECS / "quorum.py")
    b = find_boundary(spec)  # n is read by nodes(): swept over its bounds; r and w are Z3 unknowns
    assert b.swept == {"n": [2, 3]} and set(b.bounds) == {"r", "w"}
    assert b.formula == "r + w > n" and b.verified and b.complete
    assert b.unsafe_property == "read_sees_latest_write" and b.unsafe_trace.violated == "read_sees_latest_write"
    assert sorted(map(repr, b.invalid)) == sorted(map(repr, [{"r": r, "w": w, "n": 2} for r, w in
                                                             itertools.product(range(1, 4), repeat=2) if 3 in (r, w)]))
    for n in (2, 3):
        for r, w in itertools.product(range(1, n + 1), repeat=2):
            concrete = explorer.check(spec, params={"n": n, "r": r, "w": w})
            assert concrete.complete or concrete.violations
            assert (concrete.result == "ok") == b.holds_at({"r": r, "w": w, "n": n}) == (r + w > n), (n, r, w)


class Plain(Spec):
    n = param(3)

    def init(self):
        self.x = 0

    @action
    def step(self):
        require(self.x < self.n)
        self.x += 1

    @invariant
    def fine(self):
        return True


class Unbounded(Plain):
    k = param(2, symbolic=True)


def test_a_spec_without_symbolic_parameters_or_bounds_gets_a_clear_message():
    with pytest.raises(UsageError, match="declares no symbolic parameter"):
        find_boundary(Plain)
    with pytest.raises(SpecError, match="symbolic parameter k needs int bounds"):
        find_boundary(Unbounded)
    with pytest.raises(UsageError, match="needs a bound"):
        find_boundary(Quorum, method="bmc")


def test_a_box_where_the_invariants_always_hold_gives_true_and_no_unsafe_witness():
    b = find_boundary(Plain, bounds={"n": (1, 3)})  # an unknown n forks init and the guard
    assert b.formula == "true" and b.unsafe_witness is None and b.unsafe_trace is None and b.verified


@settings(max_examples=60, deadline=None)
@given(st.tuples(*[st.integers(-2, 2)] * 3).filter(any), st.integers(-6, 6))
def test_the_fitted_inequality_classifies_every_point_as_the_hidden_one_does(coefs, c):
    names = ("a", "b", "c")
    points = [dict(zip(names, v, strict=True)) for v in itertools.product(range(1, 4), repeat=3)]
    safe = [p for p in points if sum(k * p[n] for k, n in zip(coefs, names, strict=True)) > c]
    unsafe = [p for p in points if p not in safe]
    fit = _fit(names, safe, unsafe, max_coef=2)
    if not safe or not unsafe:
        assert fit == ("true" if not unsafe else "false")
        return
    got, const = fit
    assert all((sum(k * p[n] for k, n in zip(got, names, strict=True)) > const) == (p in safe) for p in points)
    assert sum(map(bool, got)) <= sum(map(bool, coefs))  # never more terms than the hidden rule
    assert " > " in _render(names, got, const)


def test_the_sweep_method_agrees_with_the_parametric_search():
    sweep = find_boundary(Quorum, over={"n": [2, 3]}, method="sweep")  # the explicit engine at every point
    z3_found = find_boundary(Quorum, over={"n": [2, 3]}, trace=False)
    assert sorted(map(repr, sweep.unsafe)) == sorted(map(repr, z3_found.unsafe))
    assert sweep.formula == z3_found.formula == "r + w > n" and not sweep.verified and sweep.runs == 2 * 16


def test_redis_lock_without_fencing_is_safe_iff_the_ttl_outlasts_the_longest_pause_plus_the_drift():
    spec = load_spec(SPECS / "redis_lock.py")  # timed: float ttl/max_pause/drift, so swept, not Z3 unknowns
    b = find_boundary(spec, params={"variant": "no_fencing", "timing": True}, method="sweep",
                      bounds={"ttl": (9, 10), "max_pause": (7, 10), "drift": (0, 2)})
    assert b.formula == "ttl > max_pause + drift"
    for p in b.safe + b.unsafe:  # the docstring's rule: the pause may outlast the lease iff max_pause >= ttl - drift
        assert b.holds_at(p) == (p["max_pause"] < p["ttl"] - p["drift"]), p
    assert b.unsafe_property == "mutual_exclusion" and b.unsafe_trace.violated == "mutual_exclusion"
    fenced = find_boundary(spec, params={"timing": True}, method="sweep",
                           bounds={"ttl": (9, 10), "max_pause": (7, 12), "drift": (0, 1)}, trace=False)
    assert fenced.formula == "true" and fenced.unsafe == []  # fencing tokens: safe for any pause


def test_a_timed_spec_is_refused_by_the_z3_methods_with_a_pointer_to_the_sweep():
    spec = load_spec(SPECS / "redis_lock.py")
    with pytest.raises(SpecError, match="timed spec"):
        find_boundary(spec, params={"timing": True}, bounds={"max_pause": (7, 9)})


def test_the_sweep_agrees_point_by_point_with_z3s_timing_boundary_on_redis_lock():
    import z3

    from explorer.timed.boundary import timing_boundary

    params = {"variant": "no_fencing", "timing": True}
    names = ("ttl", "max_pause", "drift")
    z3_found = timing_boundary(SPECS / "redis_lock.py", "mutual_exclusion", symbolic=names, params=params)
    sweep = find_boundary(load_spec(SPECS / "redis_lock.py"), params=params, method="sweep", trace=False,
                          bounds={"ttl": (8, 10), "max_pause": (6, 10), "drift": (0, 2)})
    assert len(sweep.safe) + len(sweep.unsafe) == 3 * 5 * 3 and sweep.safe and sweep.unsafe
    for p in sweep.safe + sweep.unsafe:
        at = z3.simplify(z3.substitute(z3_found.unsafe, *[(z3.Real(n), z3.RealVal(p[n])) for n in names]))
        assert (z3.is_true(at) or z3.is_false(at)) and z3.is_true(at) == (p in sweep.unsafe), (p, at)
