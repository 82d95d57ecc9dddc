"""State and transition counts against figures worked out independently of the engine.

Counting rules (DESIGN section 5): `distinct_states` counts every distinct reachable state, initial
states included; `transitions` counts every successor computed, duplicates and self-loops included;
`depth` is the most steps from an initial state to any state found.
"""
from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import explorer
from explorer import Spec, action, choose, require

from .conftest import FIXTURES, TWOPHASE

# Plain specs run on the batched engine by default ("auto"); "interp" is the one-state-at-a-time
# reference engine. Every count must be the same on both.
BACKENDS = ["auto", "interp"]


def twophase_states(n: int) -> int:
    return 6**n + 4**n + 2**n


def twophase_transitions(n: int) -> int:
    # Spin's README gives successors generated including one per initial state; ours excludes it.
    return 2 + (n + 1) * 4**n + n * 2**n + 8 * n * 6 ** (n - 1) - 1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_lamport_twophase_matches_the_closed_forms(n, backend):
    r = explorer.check(TWOPHASE, params={"n": n}, backend=backend)
    assert (r.distinct_states, r.transitions, r.depth) == (twophase_states(n), twophase_transitions(n), 3 * n + 1)
    assert r.result == "ok" and r.exit_code == 0 and r.complete
    assert r.initial_states == 1


def test_lamport_twophase_with_three_rms_has_tlc_figures():
    # The figures DESIGN section 5 quotes for N = 3 (shared/peers/spin).
    r = explorer.check(TWOPHASE, params={"n": 3})
    assert (r.distinct_states, r.transitions) == (288, 1145)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", [1, 2, 5, 9])
def test_a_counter_mod_k_has_k_states_and_k_transitions(k, backend):
    r = explorer.check(FIXTURES / "counter.py", params={"k": k}, backend=backend)
    assert (r.distinct_states, r.transitions, r.depth) == (k, k, k - 1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_independent_bits_have_four_states_and_eight_transitions(backend):
    r = explorer.check(FIXTURES / "two_bits.py", backend=backend)
    assert (r.distinct_states, r.transitions, r.depth) == (4, 8, 2)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("depth, states, transitions", [(0, 1, 0), (1, 3, 2), (2, 4, 6), (3, 4, 8), (5, 4, 8)])
def test_a_depth_bound_keeps_states_within_k_steps_and_expands_only_shallower_ones(depth, states, transitions,
                                                                                     backend):
    # Two bits: 00 at depth 0; 10, 01 at depth 1; 11 at depth 2. Each state has two successors.
    r = explorer.check(FIXTURES / "two_bits.py", depth=depth, backend=backend)
    assert (r.distinct_states, r.transitions) == (states, transitions)
    assert r.depth == min(depth, 2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_depth_bound_on_a_counter_counts_one_state_per_step(backend):
    r = explorer.check(FIXTURES / "counter.py", params={"k": 10}, depth=4, backend=backend)
    assert (r.distinct_states, r.transitions, r.depth) == (5, 4, 4)
    assert r.depth_bound_hit


def test_a_depth_bound_that_cuts_nothing_still_gives_a_complete_result():
    r = explorer.check(FIXTURES / "counter.py", params={"k": 3}, depth=50)
    assert (r.distinct_states, r.transitions) == (3, 3)
    assert r.result == "ok"


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_states_stops_the_search_and_marks_it_incomplete(backend):
    r = explorer.check(TWOPHASE, params={"n": 3}, max_states=50, backend=backend)
    assert r.distinct_states == 50
    assert not r.complete and r.result == "incomplete" and r.stop_reason == "max_states"
    assert r.exit_code == 0


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_dfs_finds_as_many_distinct_states_as_bfs(n):
    bfs = explorer.check(TWOPHASE, params={"n": n}, strategy="bfs")
    dfs = explorer.check(TWOPHASE, params={"n": n}, strategy="dfs")
    assert dfs.distinct_states == bfs.distinct_states == twophase_states(n)
    assert dfs.transitions == bfs.transitions


class ThreeStarts(Spec):
    """init picks x in {0, 1, 2} and y in {a, b}: six initial states; `step` moves x up to 3."""

    def init(self):
        self.x = choose([0, 1, 2])
        self.y = choose(["a", "b"])

    @action
    def step(self):
        require(self.x < 3)
        self.x += 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_choose_in_init_gives_one_initial_state_per_combination(backend):
    r = explorer.check(ThreeStarts, backend=backend)
    # x in 0..3 times y in {a, b}; every state with x < 3 has exactly one successor.
    assert r.initial_states == 6
    assert (r.distinct_states, r.transitions, r.depth) == (8, 6, 1)


class DuplicateStarts(Spec):
    """Two choices of init give the same state: it counts once."""

    def init(self):
        self.x = choose([0, 1, 2]) % 2

    @action
    def stay(self):
        self.x = self.x


def test_initial_states_that_coincide_are_counted_once():
    r = explorer.check(DuplicateStarts)
    assert (r.initial_states, r.distinct_states) == (2, 2)
    assert r.transitions == 2  # the two self-loops are transitions too


class Branchy(Spec):
    """One action with two choices that lead to the same successor: two transitions, one new state."""

    def init(self):
        self.x = 0

    @action
    def either(self):
        require(self.x == 0)
        choose(["left", "right"])
        self.x = 1


def test_duplicate_successors_are_each_counted_as_a_transition():
    r = explorer.check(Branchy)
    assert (r.distinct_states, r.transitions) == (2, 2)


# ---------------------------------------------------------------------- any graph: compare with networkx

GRAPH = FIXTURES / "graph.py"


@st.composite
def graphs(draw):
    n = draw(st.integers(1, 7))
    nodes = st.integers(0, n - 1)
    edges = draw(st.lists(st.tuples(nodes, nodes), max_size=16, unique=True))
    starts = draw(st.lists(nodes, min_size=1, max_size=3, unique=True))
    return n, tuple(edges), tuple(starts)


def _distances(n: int, edges: tuple, starts: tuple) -> dict[int, int]:
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(edges)
    g.add_node("root")
    g.add_edges_from(("root", s) for s in starts)
    d = nx.single_source_shortest_path_length(g, "root")
    return {v: k - 1 for v, k in d.items() if v != "root"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), st.sampled_from(BACKENDS))
def test_counts_on_any_graph_match_networkx(graph, backend):
    n, edges, starts = graph
    dist = _distances(n, edges, starts)
    outdeg = {v: sum(1 for a, _ in edges if a == v) for v in range(n)}
    r = explorer.check(GRAPH, params={"edges": edges, "starts": starts}, backend=backend)
    assert r.distinct_states == len(dist)
    assert r.transitions == sum(outdeg[v] for v in dist)
    assert r.depth == max(dist.values())
    assert r.initial_states == len(starts)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), st.integers(0, 4), st.sampled_from(BACKENDS))
def test_a_depth_bound_on_any_graph_matches_networkx(graph, k, backend):
    n, edges, starts = graph
    dist = _distances(n, edges, starts)
    outdeg = {v: sum(1 for a, _ in edges if a == v) for v in range(n)}
    r = explorer.check(GRAPH, params={"edges": edges, "starts": starts}, depth=k, backend=backend)
    within = [v for v, d in dist.items() if d <= k]
    assert r.distinct_states == len(within)
    assert r.transitions == sum(outdeg[v] for v, d in dist.items() if d < k)
    assert r.depth == max(dist[v] for v in within)


@settings(max_examples=60, deadline=None)
@given(graphs(), st.one_of(st.none(), st.integers(0, 4)))
def test_dfs_finds_the_same_states_as_bfs_on_any_graph(graph, k):
    n, edges, starts = graph
    params = {"edges": edges, "starts": starts}
    bfs = explorer.check(GRAPH, params=params, depth=k)
    dfs = explorer.check(GRAPH, params=params, depth=k, strategy="dfs")
    assert dfs.distinct_states == bfs.distinct_states
    # DFS may first reach a state by a longer path than the shortest, so its depth can only be larger.
    assert dfs.depth >= bfs.depth


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, deadline=None)
@given(graphs(), st.integers(1, 8))
def test_max_states_never_counts_more_states_than_allowed(backend, graph, mx):
    n, edges, starts = graph
    total = len(_distances(n, edges, starts))
    r = explorer.check(GRAPH, params={"edges": edges, "starts": starts}, max_states=mx, backend=backend)
    assert r.distinct_states == min(mx, total)
    if total < mx:
        assert r.complete
    if total > mx:
        assert not r.complete and r.stop_reason == "max_states"


@settings(max_examples=60, deadline=None)
@given(graphs(), st.integers(0, 6), st.sampled_from(BACKENDS))
def test_the_counterexample_is_a_shortest_path_on_any_graph(graph, avoid, backend):
    n, edges, starts = graph
    dist = _distances(n, edges, starts)
    r = explorer.check(GRAPH, params={"edges": edges, "starts": starts, "avoid": avoid}, backend=backend)
    if avoid not in dist:
        assert r.result == "ok"
        return
    [v] = r.violations
    assert v.length == dist[avoid]
    walk = [s["at"] for s in v.trace.states()]
    assert walk[0] in starts and walk[-1] == avoid
    assert all((a, b) in edges for a, b in zip(walk, walk[1:], strict=False))  # every step is an edge of the graph
