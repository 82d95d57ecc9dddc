"""BMC and the explicit engine agree on catalog specs small enough for both (issue 6, section 3 "Depth").

For each configuration: BFS gives the verdict and, for a violation, the shortest counterexample
length L (it explores level by level). BMC (Z3, asked depth by depth) must then find the same
property violated at depth L and nothing at depth L - 1; for a spec that holds, BMC to BFS's
diameter (the depth of its complete search) must find nothing. Both numbers come from the explicit
engine, which shares no code with the Z3 encoding beyond the spec's own actions. A BMC trace is
saved and replayed by `explore replay`'s code (replay_file), which re-runs the concrete actions.

Actor specs map through the sparse network (message -> copies in flight, one Z3 Int per message of
the universe); the relation is derived once per configuration and shared by the two BMC runs.
Derivation dominates (about 12 s for bully under load), so only the two smallest configurations
run by default; the others are marked slow.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import explorer
from explorer.dsl.loader import load_module, spec_classes
from explorer.engine.result import EXIT_SAFETY
from explorer.errors import SpecError
from explorer.replay import replay_file
from explorer.symbolic import bmc
from explorer.symbolic.lazy import ABSENT, LazyDict
from explorer.symbolic.relation import SymbolicModel
from explorer.trace.json_io import save_trace

from .conftest import SPECS


def _spec(stem: str) -> tuple[type, Path]:
    path = SPECS / f"{stem}.py"
    return spec_classes(load_module(path))[0], path


def _first_invariant_violation(result):
    return next((v for v in result.violations if v.kind == "invariant"), None)


def _agree(stem: str, params: dict, faults: str | None, tmp_path: Path | None = None) -> None:
    cls, path = _spec(stem)
    bfs = explorer.check(cls, params=params, faults=faults)
    model = cls.build_model(params, faults)
    sm = SymbolicModel(model)
    v = _first_invariant_violation(bfs)
    if v is None:
        assert bfs.complete, "the explicit search must be complete to give the diameter"
        r = bmc(model, bfs.depth, sm=sm)
        assert r.result == "ok" and r.symbolic["proved_up_to_depth"] == bfs.depth
        return
    r = bmc(model, v.length, sm=sm, spec_file=str(path))
    got = _first_invariant_violation(r)
    assert got is not None and (got.property, got.length) == (v.property, v.length), (r.violations, v)
    shorter = bmc(model, v.length - 1, sm=sm)
    assert shorter.result == "ok" and shorter.symbolic["proved_up_to_depth"] == v.length - 1, \
        "BMC found a counterexample shorter than BFS's shortest"
    if tmp_path is not None:  # the BMC trace is an ordinary trace: `explore replay` re-runs it
        saved = save_trace(got.trace, tmp_path / f"{v.property}.json")
        code, message = replay_file(str(saved))
        assert code == EXIT_SAFETY and message.startswith(f"still violates {v.property} at step {v.length}"), message


def test_bully_short_timeouts_one_step_agrees_and_the_bmc_trace_replays(tmp_path):
    # a process times out before the leader's answer can arrive: two leaders after 1 step
    _agree("bully", {"variant": "short_timeouts"}, None, tmp_path)


@pytest.mark.slow
def test_bully_under_a_partition_agrees_and_the_bmc_trace_replays(tmp_path):
    _agree("bully", {}, "partition=1", tmp_path)


@pytest.mark.slow
def test_bully_with_a_crash_is_refused_naming_the_fields_that_fork():
    # every handler run copies all of its node's fields, so each opaque one (leader: None or a name)
    # is concretised on every path; with crash and restart that passes 5,000 paths for fire_timer
    cls, _ = _spec("bully")
    with pytest.raises(SpecError) as e:
        SymbolicModel(cls.build_model({}, "crash=1"))
    text = str(e.value)
    assert "more than 5,000 symbolic paths" in text and "crashed" in text and "leader" in text, text


@pytest.mark.slow
def test_twopc_two_participants_holds_to_the_diameter_under_both_engines():
    _agree("twopc", {"n": 2}, None)


@pytest.mark.slow
def test_twopc_without_a_durable_log_agrees_on_the_atomicity_counterexample(tmp_path):
    _agree("twopc", {"n": 2, "variant": "no_durable_log"}, "crash=1", tmp_path)


@pytest.mark.slow
def test_raft_with_one_term_and_one_entry_agrees():
    _agree("raft", {"max_term": 1, "max_log": 1}, None)


def test_a_spec_that_cannot_be_mapped_is_refused_naming_the_field_and_why():
    # clocks keeps every event with its Lamport time: a field holding a number that has no finite range
    cls, _ = _spec("clocks")
    with pytest.raises(SpecError) as e:
        SymbolicModel(cls.build_model({"variant": "lamport_converse"}, None))
    text = str(e.value)
    assert "events" in text and "symbolic number" in text and "no finite range" in text, text


# ---------------------------------------------------------------------- LazyDict against a plain dict

_OPS = st.lists(st.tuples(st.sampled_from(["get", "set", "del", "in", "iter", "items", "len", "pop"]),
                          st.integers(0, 5), st.integers(0, 9)), max_size=25)


@settings(max_examples=200, deadline=None)
@given(start=st.dictionaries(st.integers(0, 5), st.integers(0, 9), max_size=6), sparse=st.booleans(), ops=_OPS)
def test_a_lazy_dict_behaves_like_the_plain_dict_it_stands_for(start, sparse, ops):
    """Whatever was read first, lookups, writes, deletes and the iteration order are a dict's."""
    universe = sorted(set(start) | ({0, 1, 2, 3, 4, 5} if sparse else set()))
    plain = {k: start[k] for k in universe if k in start}
    if not sparse:
        thunks = {k: (lambda k=k: start[k]) for k in universe}
        lazy = LazyDict(thunks, False)
    else:
        thunks = {k: (lambda k=k: start.get(k, ABSENT)) for k in universe}
        lazy = LazyDict(thunks, True, lambda k: k in start)
    for op, k, v in ops:
        if op == "get":
            assert lazy.get(k, -1) == plain.get(k, -1)
        elif op == "set" and (sparse or k in plain):
            lazy[k] = plain[k] = v
        elif op == "del" and (sparse or k in plain):
            if k in plain:
                del lazy[k], plain[k]
            else:
                with pytest.raises(KeyError):
                    del lazy[k]
        elif op == "in":
            assert (k in lazy) == (k in plain)
        elif op == "iter":
            assert list(lazy) == list(plain)
        elif op == "items":
            assert lazy.items() == list(plain.items())
        elif op == "len":
            assert len(lazy) == len(plain)
        elif op == "pop" and k in plain:
            assert lazy.pop(k) == plain.pop(k)
    assert lazy == plain and list(lazy) == list(plain)
