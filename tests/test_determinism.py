"""Determinism: fingerprints that never depend on the process, and specs that must not read outside the state."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

import explorer
from explorer import NonDeterminismError, Spec, action
from explorer.dsl.values import freeze, stable_hash, thaw
from explorer.engine.fingerprint import Fingerprinter

from .conftest import BAD, ROOT, TWOPC, explore

# A run with frozensets and dicts of strings in the state, the values whose hash() PYTHONHASHSEED changes.
FORGETFUL = ["--param", "variant=no_durable_log", "--param", "n=2", "--faults", "crash=1"]

TRACE_SCRIPT = """
import json, sys
import explorer
from explorer.api import load_model
from explorer.engine.fingerprint import Fingerprinter

params = {"variant": "no_durable_log", "n": 2}
r = explorer.check(sys.argv[1], params=params, faults="crash=1")
model, _ = load_model(sys.argv[1], params, "crash=1")
fpr = Fingerprinter(tuple(model.fields))
trace = r.violations[0].trace
fps = [fpr.of(tuple(s[f] for f in model.fields)) for s in trace.states()]
print(json.dumps({"labels": [s.label for s in trace.steps], "fingerprints": fps,
                  "counts": [r.distinct_states, r.transitions, r.depth]}))
"""


def _run_with_seed(seed: str) -> dict:
    p = subprocess.run([sys.executable, "-c", TRACE_SCRIPT, str(TWOPC)], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_fingerprints_and_traces_are_the_same_under_any_hash_seed():
    a, b = _run_with_seed("0"), _run_with_seed("4242")
    assert a == b
    assert len(a["labels"]) == 9 and len(set(a["fingerprints"])) == 10


def test_the_json_summary_is_the_same_under_any_hash_seed():
    def summary(seed: str) -> dict:
        run = explore(TWOPC, *FORGETFUL, "--json", env={"PYTHONHASHSEED": seed})
        assert run.code == 12, run
        data = json.loads(run.out)
        return {k: data[k] for k in ("result", "distinct_states", "transitions", "depth")} | {
            "violations": [(v["property"], v["kind"], v["length"]) for v in data["violations"]]}

    one, other = summary("1"), summary("987654")
    assert one == other
    assert one["violations"] == [("atomicity", "invariant", 9)]


# ---------------------------------------------------------------------- canonical values

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner, inner),
                            st.frozensets(scalars, max_size=3), st.sets(scalars, max_size=3),
                            st.dictionaries(st.text(max_size=2), inner, max_size=3)),
    max_leaves=8,
)


@given(values)
def test_freezing_then_thawing_gives_back_an_equal_value(v):
    assert thaw(freeze(v)) == v
    assert freeze(thaw(freeze(v))) == freeze(v)


@given(st.dictionaries(st.text(max_size=3), st.integers(), min_size=1, max_size=6), st.randoms())
def test_a_dict_built_in_any_order_has_one_fingerprint(d, rnd):
    items = list(d.items())
    rnd.shuffle(items)
    shuffled = dict(items)
    fpr = Fingerprinter(("m", "s"))
    a = (freeze(d), freeze(set(d)))
    b = (freeze(shuffled), freeze(set(reversed(list(shuffled)))))
    assert a == b
    assert fpr.of(a) == fpr.of(b)
    assert stable_hash(a[0]) == stable_hash(b[0]) and stable_hash(a[1]) == stable_hash(b[1])


def test_values_of_different_kinds_have_different_hashes():
    kinds = [freeze([1, 2]), (1, 2), freeze({1, 2}), frozenset({1, 2}), freeze({1: 2}), "12", 12, 12.0, None, True]
    assert len({stable_hash(k) for k in kinds}) == len(kinds)


@given(values, values)
def test_an_update_gives_the_fingerprint_of_the_new_state(a, b):
    fpr = Fingerprinter(("x", "y"))
    old = (freeze(a), 0)
    new = (freeze(b), 0)
    assert fpr.update(fpr.of(old), old, new) == fpr.of(new)


# ---------------------------------------------------------------------- the determinism check


@pytest.mark.parametrize("backend", ["auto", "interp"])
@pytest.mark.parametrize("spec", ["random_action.py", "global_counter.py"])
def test_an_action_that_reads_outside_the_state_is_a_non_determinism_error(spec, backend):
    with pytest.raises(NonDeterminismError) as e:
        explorer.check(BAD / spec, max_states=2000, backend=backend)
    msg = str(e.value)
    assert "not deterministic" in msg
    assert f"{spec}:" in msg  # names the spec file and the action's line
    assert e.value.exit_code == 3


class ReadsTheClock(Spec):
    def init(self):
        self.t = 0

    @action
    def tick(self):
        import time

        self.t = time.perf_counter_ns() % 1000


@pytest.mark.parametrize("backend", ["auto", "interp"])
def test_an_action_that_reads_the_clock_is_caught(backend):
    with pytest.raises(NonDeterminismError, match="tick"):
        explorer.check(ReadsTheClock, max_states=5000, backend=backend)


def test_a_deterministic_spec_passes_the_determinism_check():
    r = explorer.check(ROOT / "specs" / "lamport_twophase.py", params={"n": 2})
    assert r.result == "ok"
