"""`--por` on the batched engine (explorer/engine/batch_por.py), against a naive second implementation.

The naive search below is a plain level-by-level BFS in Python that calls the interpreted engine's
`Reducer.ample` on every state, with the rules the batched engine documents: C3 against the visited
set as of the level's start, the visible set learned from the properties checked on the levels so far,
the search run again when it grows after a reduction. The batched engine must give exactly its counts
(states, transitions, depth, reduced/full/pruned), and the verdicts of the search with no reduction.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.actors.independence import for_model
from explorer.api import check, load_model
from explorer.engine.batch import BatchSearch
from explorer.engine.options import Options
from explorer.engine.por import Reducer
from explorer.engine.search import _fingerprinter
from tests.test_por import Mesh, SymMesh


def naive_por(model, symmetry: bool = False) -> dict:
    """Counts of the level-start-C3 reduced BFS, one state at a time (violating states not expanded)."""
    ind = for_model(model)
    fpr = _fingerprinter(model, Options(symmetry=symmetry))
    seed: set[int] = set()
    for runs in range(1, len(model.fields) + 2):
        red = Reducer.for_model(model, ind, seed, symmetry=symmetry)
        unwitnessed = set(model.reachables())
        seen: set[int] = set()
        level = []
        for s, _ in model.initial_states():
            fp = fpr.of(s)
            if fp not in seen:
                seen.add(fp)
                level.append((s, fp))
        transitions = depth = 0
        while True:
            ok = []
            for s, fp in level:  # check the level: invariants, then the @reachable still unwitnessed
                good = True
                for _name, res in model.check_invariants(s):
                    red.observe(res.read)
                    good = good and res.holds
                if good:
                    ok.append((s, fp))
            for p in model.reachable_props:
                if p.name in unwitnessed:
                    results = [model._eval(p, model.view(s)) for s, _ in level]
                    for res in results:
                        red.observe(res.read)
                    if any(res.holds for res in results):
                        unwitnessed.discard(p.name)
            visited = frozenset(seen)
            nxt = []
            for s, fp in ok:
                succs = red.ample(s, fp, model.successors(s), fpr.update, visited)
                transitions += len(succs)
                for n, _step in succs:
                    nfp = fpr.update(fp, s, n)
                    if nfp not in seen:
                        seen.add(nfp)
                        nxt.append((n, nfp))
            if not nxt:
                break
            level = nxt
            depth += 1
        if not red.grew_after_reduction:
            return {"states": len(seen), "transitions": transitions, "depth": depth, "runs": runs,
                    **red.stats.as_dict()}
        seed = set(red.visible)
    raise AssertionError("the visible set kept growing")


def batched(spec, params=None, faults=None, **kw):
    r = check(spec, params=params, faults=faults, por=True, backend="batch", max_violations=10**6, **kw)
    assert r.backend == "batch", r.warnings
    return r


def counts(r) -> dict:
    return {"states": r.distinct_states, "transitions": r.transitions, "depth": r.depth, **r.options["por"]}


def test_local_work_matches_the_naive_search_and_reduces():
    # one worker, three loners, k = 3: (k+1)^4 = 256 states unreduced; one node at a time after reduction
    params = {"n": 1, "loners": 3, "k": 3}
    r = batched(Mesh, params)
    assert counts(r) == naive_por(load_model(Mesh, params)[0])
    assert r.options["por"]["reduced_states"] > 0
    assert 1 + 4 * 3 <= r.distinct_states < 256 / 4


@pytest.mark.parametrize("spec,params,faults", [
    ("specs/twopc.py", {"n": 2}, None),
    ("specs/twopc.py", {"n": 2, "variant": "no_durable_log"}, "crash=1"),
    ("specs/twopc.py", {"n": 2}, "loss=1,crash=1"),
    pytest.param("specs/twopc.py", {"n": 2}, "loss=1,dup=1,crash=1", marks=pytest.mark.slow),
    (Mesh, {"n": 2, "loners": 1, "k": 2, "edges": "w1>w2"}, "loss=1,crash=1"),
])
def test_catalog_counts_equal_the_naive_search(spec, params, faults):
    r = batched(spec, params, faults)
    assert counts(r) == naive_por(load_model(spec, params, faults)[0])


def test_counts_do_not_depend_on_chunks_or_runs(monkeypatch):
    args = ("specs/twopc.py", {"n": 2}, "loss=1,crash=1")
    first = counts(batched(*args))
    assert counts(batched(*args)) == first
    monkeypatch.setattr(BatchSearch, "_MIN_CHUNK", 37)  # the frontier in chunks of 37 states
    monkeypatch.setattr(BatchSearch, "_CHUNK_CANDIDATES", 37)
    assert counts(batched(*args)) == first
    assert first["reduced_states"] > 0


def test_a_field_read_late_makes_the_batched_search_run_again():
    from tests.test_por import LateLook

    params = {"n": 2, "loners": 1, "k": 2, "edges": "w1>w2", "limit": 1}
    r = batched(LateLook, params)
    assert r.options["por"]["runs"] == 2
    assert {v.property for v in r.violations} == {"bounded"}
    assert counts(r) == naive_por(load_model(LateLook, params)[0])


def test_symmetry_counts_equal_the_naive_search():
    params = {"n": 3, "loners": 1, "k": 2, "cap": 2, "all_to_all": False}
    r = batched(SymMesh, params, symmetry=True)
    assert counts(r) == naive_por(load_model(SymMesh, params)[0], symmetry=True)
    assert r.options["por"]["reduced_states"] > 0


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 3), loners=st.integers(0, 2), k=st.integers(1, 2), cap=st.integers(1, 2),
       edges=st.sets(st.tuples(st.integers(1, 3), st.integers(1, 3)), max_size=4),
       watch=st.sets(st.integers(1, 3), max_size=2), limit=st.integers(0, 3),
       faults=st.sampled_from([None, "loss=1", "crash=1", "dup=1", "loss=1,crash=1,restart=1"]))
def test_generated_specs_counts_and_verdicts(n, loners, k, cap, edges, watch, limit, faults):
    es = ",".join(f"w{a}>w{b}" for a, b in sorted(edges) if a != b and a <= n and b <= n)
    ws = ",".join(f"w{w}" for w in sorted(watch) if w <= n)
    params = {"n": n, "loners": loners, "k": k, "cap": cap, "edges": es, "watch": ws, "limit": limit}
    red = batched(Mesh, params, faults, deadlock=True)
    assert counts(red) == naive_por(load_model(Mesh, params, faults)[0])
    full = check(Mesh, params=params, faults=faults, deadlock=True, max_violations=10**6)
    assert {v.property for v in red.violations} == {v.property for v in full.violations}
    assert red.distinct_states <= full.distinct_states
    shortest: dict[str, int] = {}
    for v in full.violations:
        shortest[v.property] = min(shortest.get(v.property, 99), v.trace.length)
    for v in red.violations:
        assert v.trace.length >= shortest[v.property]


@pytest.mark.slow
def test_every_declared_actor_check_keeps_its_verdicts_under_batched_por():
    """Every `checks` configuration of every actor spec in specs/ (those --por accepts: no depth, state
    or time bound, not timed) whose full search ends within 30 s: the batched --por finds the same
    safety violations as the full search, in no more states. 35 configurations at the time of writing."""
    from pathlib import Path

    from explorer.actors.protocol import ProtocolModel
    from explorer.api import run_model
    from explorer.gate import collect, only_properties, spec_files

    compared, wrong = [], []
    for path in spec_files([Path("specs")]):
        for gc in collect(path):
            exp = gc.check
            if gc.load_error is not None:
                continue
            if exp.depth is not None or exp.max_states is not None or exp.time_limit is not None:
                continue
            verdicts = []
            for por in (False, True):
                model, _ = load_model(f"{path}::{gc.spec}", dict(exp.params), exp.faults)
                if not isinstance(model, ProtocolModel) or getattr(model, "interpreted_only", False):
                    break
                if exp.properties is not None:
                    only_properties(model, exp.properties)
                model.liveness = []  # safety verdicts: liveness builds its own (unreduced) graph anyway
                deadlock = exp.deadlock or exp.verdict == "deadlock"
                r = run_model(model, Options(por=por, deadlock=deadlock, max_violations=10**6, time_limit=30))
                assert r.backend == "batch", r.warnings
                if not r.complete:  # bully's short_timeouts: about 10 million states; compare complete runs only
                    break
                verdicts.append((sorted({v.property for v in r.violations}), r.distinct_states))
            if len(verdicts) == 2:
                compared.append(f"{path.name}::{gc.spec} {exp.describe()}")
                (full, n_full), (red, n_red) = verdicts
                if full != red or n_red > n_full:
                    wrong.append((compared[-1], full, red, n_full, n_red))
    assert not wrong, wrong
    assert len(compared) >= 20, compared


def test_an_unbatchable_spec_falls_back_to_the_interpreted_por(monkeypatch):
    import explorer.engine.batch_por as bp

    monkeypatch.setattr(bp, "_MAX_NODES", 1)  # twopc n=2 has 3 nodes: "more than the batched --por handles"
    r = check("specs/twopc.py", params={"n": 2}, por=True)
    assert r.backend == "interp"
    assert any("batched engine not used" in w and "nodes" in w for w in r.warnings), r.warnings
    interp = check("specs/twopc.py", params={"n": 2}, por=True, backend="interp")
    assert (r.distinct_states, r.transitions, r.options["por"]) == \
        (interp.distinct_states, interp.transitions, interp.options["por"])


def test_cli_json_says_batch_and_its_por_figures():
    import json

    from click.testing import CliRunner

    from explorer.cli import main

    out = CliRunner().invoke(main, ["specs/twopc.py", "--param", "n=2", "--faults", "loss=1,crash=1", "--por",
                                    "--json"])
    d = json.loads(out.output.strip().splitlines()[-1])
    assert d["backend"] == "batch"
    assert d["distinct_states"] == d["por"]["reduced_states"] + d["por"]["full_states"]  # no violation: all expanded
    assert d["distinct_states"] < 2_628  # the unreduced count (performance.md)
