"""Differential testing: generated small specs, explored by every engine, must agree.

Hypothesis builds plain specs of two or three bounded integer fields, with guarded actions that may
`choose`, and an invariant that forbids one random combination of values. Each spec is explored by
BFS on the interpreted and on the batched backend, by DFS, by random walks, and by the tests' own
reference BFS (conftest.state_graph), and their verdicts and counts are compared.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import explorer
from explorer import Spec, action, choose, invariant, require

from .conftest import state_graph

FIELDS = ("a", "b", "c")


@st.composite
def specs(draw):
    """A random plain spec: fields, 1-4 actions (guard, effect, maybe a choice), one forbidden state."""
    nf = draw(st.integers(2, 3))
    k = draw(st.integers(2, 4))
    fields = FIELDS[:nf]
    init = {f: draw(st.integers(0, k - 1)) for f in fields}
    acts = []
    for _ in range(draw(st.integers(1, 4))):
        acts.append(dict(
            guard_field=draw(st.sampled_from(fields)),
            guard_op=draw(st.sampled_from(["<", "!=", "=="])),
            guard_val=draw(st.integers(0, k - 1)),
            target=draw(st.sampled_from(fields)),
            kind=draw(st.sampled_from(["add", "copy", "choose"])),
            arg=draw(st.integers(1, k - 1)),
            source=draw(st.sampled_from(fields)),
        ))
    forbidden = {f: draw(st.integers(0, k - 1)) for f in fields} if draw(st.booleans()) else None
    return _build(fields, k, init, acts, forbidden), (fields, k, init, acts, forbidden)


def _build(fields, k, init, acts, forbidden):
    ns = {}

    def _init(self):
        for f in fields:
            setattr(self, f, init[f])

    ns["init"] = _init
    for i, a in enumerate(acts):
        def run(self, a=a):
            g = getattr(self, a["guard_field"])
            op, v = a["guard_op"], a["guard_val"]
            require(g < v if op == "<" else g != v if op == "!=" else g == v)
            if a["kind"] == "add":
                setattr(self, a["target"], (getattr(self, a["target"]) + a["arg"]) % k)
            elif a["kind"] == "copy":
                setattr(self, a["target"], getattr(self, a["source"]))
            else:
                setattr(self, a["target"], choose(range(a["arg"] + 1)))

        run.__name__ = f"act{i}"
        ns[f"act{i}"] = action(run)
    if forbidden is not None:
        def safe(self):
            return not all(getattr(self, f) == v for f, v in forbidden.items())

        ns["safe"] = invariant(safe)
    return type("Generated", (Spec,), ns)


def verdict(r):
    return sorted((v.property, v.kind) for v in r.violations)


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(specs())
def test_bfs_on_both_backends_and_the_reference_bfs_agree_on_counts_and_verdicts(generated):
    cls, _desc = generated
    interp = explorer.check(cls, backend="interp")
    batch = explorer.check(cls, backend="batch")
    assert batch.backend == "batch", batch.warnings  # no silent fallback: the comparison is real
    assert verdict(interp) == verdict(batch)
    assert [v.length for v in interp.violations] == [v.length for v in batch.violations]
    if not interp.violations:
        ref = state_graph(cls)
        assert interp.distinct_states == batch.distinct_states == len(ref.states)
        assert interp.transitions == batch.transitions == len(ref.edges)
        assert interp.depth == batch.depth
        assert interp.initial_states == batch.initial_states == len(ref.initial)


@SETTINGS
@given(specs())
def test_dfs_finds_the_same_states_and_the_same_verdict_as_bfs(generated):
    cls, _desc = generated
    bfs = explorer.check(cls, backend="interp")
    dfs = explorer.check(cls, strategy="dfs")
    assert bool(bfs.violations) == bool(dfs.violations)
    if not bfs.violations:
        assert (dfs.distinct_states, dfs.transitions) == (bfs.distinct_states, bfs.transitions)
        assert dfs.depth >= bfs.depth  # DFS may reach a state first by a longer path
    else:
        assert dfs.violations[0].length >= bfs.violations[0].length  # BFS gives the shortest


@SETTINGS
@given(specs(), st.integers(0, 3))
def test_random_walks_find_a_subset_and_with_full_coverage_the_same_verdict(generated, seed):
    cls, _desc = generated
    bfs = explorer.check(cls, backend="interp")
    walk = explorer.check(cls, strategy="random", seed=seed, walks=300, depth=40)
    assert not walk.complete
    assert walk.distinct_states <= bfs.distinct_states or bfs.violations
    if walk.violations:
        assert bfs.violations, "a random walk found a violation BFS missed"
    full = explorer.check(cls, strategy="random", seed=seed, walks=300, depth=40, max_violations=1)
    if not bfs.violations and full.distinct_states == bfs.distinct_states:
        assert full.violations == []


@SETTINGS
@given(specs())
def test_a_depth_bound_at_the_full_depth_changes_nothing(generated):
    cls, _desc = generated
    full = explorer.check(cls, backend="interp")
    if full.violations:
        return
    bounded = explorer.check(cls, backend="interp", depth=full.depth)
    same = explorer.check(cls, backend="batch", depth=full.depth)
    assert (bounded.distinct_states, bounded.depth) == (full.distinct_states, full.depth)
    assert (same.distinct_states, same.transitions) == (bounded.distinct_states, bounded.transitions)



@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs(), st.data())
def test_bmc_agrees_with_bfs_on_the_verdict_and_the_shortest_counterexample(generated, data):
    """BMC to the BFS depth (the diameter: every reachable state is within it) agrees with BFS.

    Half the time the forbidden state is a reachable one (the last BFS finds, by default), so that
    those examples have a counterexample whose length BMC must match: a random forbidden state is
    seldom reachable.
    """
    cls, (fields, k, init, acts, forbidden) = generated
    if data.draw(st.booleans(), label="forbid a reachable state"):
        reachable = state_graph(cls).states
        pick = reachable[-1 - data.draw(st.integers(0, len(reachable) - 1), label="which, from the last")]
        cls = _build(fields, k, init, acts, {f: pick[f] for f in fields})
    bfs = explorer.check(cls, backend="interp")
    depth = bfs.violations[0].length if bfs.violations else bfs.depth
    bmc = explorer.check(cls, engine="bmc", depth=max(depth, 1))
    assert verdict(bmc) == verdict(bfs)
    if bfs.violations:
        assert bmc.violations[0].length == bfs.violations[0].length
        shorter = explorer.check(cls, engine="bmc", depth=depth - 1) if depth > 1 else None
        assert shorter is None or not shorter.violations  # and none is shorter: BFS's is the shortest
