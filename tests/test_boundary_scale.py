"""`explore boundary` past n = 3 on specs/quorum.py: the parametric search's point sets and orbit
representatives give the same points as the plain search and as the explicit engine at every point.

Independent figures: a read quorum of r and a write quorum of w out of n intersect iff r + w > n
(the spec refuses r > n or w > n), so the unsafe points of n are the (r, w) with r + w <= n; and the
explicit engine (`explorer.check`) run at each point, knowing nothing of Z3.
"""
from __future__ import annotations

import pytest
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

import explorer
from explorer.dsl.loader import load_spec
from explorer.symbolic.boundary import _equivalent, _valid_points, find_boundary
from explorer.symbolic.paramsearch import ParamSearch

from .conftest import SPECS

QUORUM = load_spec(SPECS / "quorum.py")


def _search(n: int, symmetry: bool = True):
    bounds = {"r": (1, n), "w": (1, n)}
    valid, _ = _valid_points(QUORUM, {"n": n}, bounds)
    model = QUORUM.build_model({"n": n, **valid[0]})
    return ParamSearch(model, bounds, points=valid, symmetry=symmetry).run(), valid


def test_one_representative_per_orbit_of_replicas_keeps_the_points_and_shrinks_the_search():
    reduced, _ = _search(3)
    plain, _ = _search(3, symmetry=False)
    want = sorted((r, w) for r in range(1, 4) for w in range(1, 4) if r + w <= 3)
    for res in (reduced, plain):
        assert res.complete and sorted((p["r"], p["w"]) for p in res.unsafe_points()) == want
    assert reduced.distinct_states * 3 < plain.distinct_states  # 3 replicas: orbits of up to 3! = 6 states


def test_quorum_n4_every_point_as_the_closed_form_says():
    res, valid = _search(4)
    assert len(valid) == 16 and res.complete
    assert sorted((p["r"], p["w"]) for p in res.unsafe_points()) == sorted(
        (r, w) for r in range(1, 5) for w in range(1, 5) if r + w <= 4)


def test_the_finder_rejects_a_wrong_formula_it_did_not_find():
    """Z3 checks a candidate against the search's violating condition: only r + w > 3 passes on n = 3."""
    res, valid = _search(3)
    pv = {n: z3.Int(n) for n in ("r", "w")}
    domain = z3.Or(*[z3.And(pv["r"] == p["r"], pv["w"] == p["w"]) for p in valid])
    cond = res.condition()
    names = ("r", "w", "n")
    assert _equivalent(((1, 1, -1), 0), names, {"n": 3}, cond, domain, pv)  # r + w > n
    for wrong in [((1, 1, -1), -1), ((1, 1, -1), 1), ((1, 0, -1), -1), ((2, 1, -1), 0), "true", "false"]:
        assert not _equivalent(wrong, names, {"n": 3}, cond, domain, pv), wrong


@settings(max_examples=40, deadline=None)
@given(a=st.integers(-2, 2), b=st.integers(-2, 2), c=st.integers(-6, 6))
def test_a_candidate_passes_z3s_check_iff_it_classifies_every_point_as_r_plus_w_above_n(a, b, c):
    res, valid = _SEARCH3
    pv = {n: z3.Int(n) for n in ("r", "w")}
    domain = z3.Or(*[z3.And(pv["r"] == p["r"], pv["w"] == p["w"]) for p in valid])
    agrees = all((a * p["r"] + b * p["w"] - 3 > c) == (p["r"] + p["w"] > 3) for p in valid)  # naive
    assert _equivalent(((a, b, -1), c), ("r", "w", "n"), {"n": 3}, res.condition(), domain, pv) == agrees


_SEARCH3 = _search(3)


@pytest.mark.slow
def test_quorum_n2_to_4_z3_agrees_point_by_point_with_the_explicit_engine():
    b = find_boundary(QUORUM, bounds={"r": (1, 4), "w": (1, 4)}, over={"n": [2, 3, 4]}, trace=False)
    assert b.formula == "r + w > n" and b.verified and b.complete
    for p in b.safe + b.unsafe:
        explicit = explorer.check(QUORUM, params=p)
        assert (explicit.result == "ok") == b.holds_at(p) == (p["r"] + p["w"] > p["n"]), p
    assert len(b.safe) + len(b.unsafe) == 4 + 9 + 16


@pytest.mark.slow
def test_quorum_n5_by_z3_in_under_a_minute_of_cpu():
    import time

    t0 = time.process_time()
    res, valid = _search(5)
    assert time.process_time() - t0 < 60
    assert sorted((p["r"], p["w"]) for p in res.unsafe_points()) == sorted(
        (r, w) for r in range(1, 6) for w in range(1, 6) if r + w <= 5)


LOCK = {"variant": "no_fencing", "timing": True}


def test_the_api_finds_redis_locks_timed_boundary_over_real_delays_and_the_sweep_agrees_point_by_point():
    b = explorer.boundary(SPECS / "redis_lock.py", params=LOCK, method="timing",
                          unknowns=("ttl", "max_pause", "drift"))
    assert b.formula == "ttl > max_pause + drift" and b.verified and b.method == "timing"
    u, s = b.unsafe_witness, b.safe_witness
    assert u["ttl"] <= u["max_pause"] + u["drift"] and s["ttl"] > s["max_pause"] + s["drift"]
    assert b.unsafe_trace.violated == "mutual_exclusion"
    sweep = find_boundary(load_spec(SPECS / "redis_lock.py"), params=LOCK, method="sweep", trace=False,
                          bounds={"ttl": (10, 10), "max_pause": (9, 10), "drift": (0, 1)})  # the wider grid:
    assert len(sweep.safe) == 1 and len(sweep.unsafe) == 3  # test_symbolic_params.py, against timing_boundary
    for p in sweep.safe + sweep.unsafe:
        assert b.holds_at(p) == (p in sweep.safe) == (p["ttl"] > p["max_pause"] + p["drift"]), p
    for pause, drift in ((9.5, 0.4), (9.5, 0.5)):  # off the integer grid: the explicit timed engine decides
        p = {"ttl": 10.0, "max_pause": pause, "drift": drift}
        assert b.holds_at(p) == (explorer.check(SPECS / "redis_lock.py", params={**LOCK, **p}).result == "ok"), p


def test_the_timing_route_rejects_a_formula_it_did_not_find():
    from explorer.timed.boundary import _equivalent, timing_boundary

    tb = timing_boundary(SPECS / "redis_lock.py", "mutual_exclusion", symbolic=("ttl", "max_pause", "drift"),
                         params=LOCK)
    ttl, pause, drift = (z3.Real(n) for n in ("ttl", "max_pause", "drift"))
    assert _equivalent(tb.unsafe, ttl <= pause + drift, tb.domain)
    for wrong in (ttl < pause + drift, ttl <= pause, ttl <= pause + 2 * drift, ttl + drift <= pause):
        assert not _equivalent(tb.unsafe, wrong, tb.domain), wrong
