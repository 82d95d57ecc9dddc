"""The consensus specs of the catalog (Raft, Paxos): every declared check's verdict, the length of each
known bug's shortest counterexample, and state counts of small configurations checked against a second,
naive implementation of each protocol written here (a plain BFS over tuples, sharing no code with the
spec or the engine) or counted by hand."""
from __future__ import annotations

from collections import deque
from itertools import combinations

import pytest

import explorer
from explorer import eventually
from explorer.gate import collect
from specs.paxos import Paxos
from specs.raft import Raft
from tests.conftest import SPECS

RAFT, PAXOS = SPECS / "raft.py", SPECS / "paxos.py"


def violated(result):
    return [v.property for v in result.violations]


# ---------------------------------------------------------------------- a second Raft, naive


def raft_bfs(n=3, max_term=2, max_log=2, quorum="correct", append_check=True, vote_rule="correct", bad=None):
    """Explores Raft as the spec's docstring describes it, from scratch: returns (states, depth of the
    first state where `bad(state)` is true, or None).

    A state is (servers, committed); a server is (term, role, voted_for, votes, log). Servers are 0..n-1.
    """
    majority = n // 2 + 1
    needed = (n - 1) // 2 + 1 if quorum == "seed" else majority

    def up_to_date(cand_log, voter_log):
        ct, vt = (cand_log[-1] if cand_log else 0), (voter_log[-1] if voter_log else 0)
        if vote_rule == "seed":
            return ct >= vt and len(cand_log) >= len(voter_log)
        return (ct, len(cand_log)) >= (vt, len(voter_log))  # the paper's order is lexicographic

    def newer(server, term):
        """server after hearing of `term`: a higher one makes it a follower that voted for nobody."""
        t, role, vf, votes, log = server
        return (term, "F", None, frozenset(), log) if term > t else server

    def succ(state):
        srv, com = state

        def put(*changes):
            s = list(srv)
            for i, v in changes:
                s[i] = v
            return tuple(s)

        for i, (t, role, vf, votes, log) in enumerate(srv):
            if role != "L" and t < max_term:  # election timeout
                yield put((i, (t + 1, "C", i, frozenset({i}), log))), com
            if role == "C":
                if len(votes) >= needed:
                    yield put((i, (t, "L", vf, votes, log))), com
                for j in range(n):
                    if j == i or j in votes or srv[j][0] > t:
                        continue
                    vt, vrole, vvf, vvotes, vlog = newer(srv[j], t)
                    if vvf in (None, i) and up_to_date(log, vlog):
                        yield put((j, (vt, vrole, i, vvotes, vlog)), (i, (t, role, vf, votes | {j}, log))), com
                    else:
                        yield put((j, (vt, vrole, vvf, vvotes, vlog))), com
            if role == "L":
                if len(log) < max_log:
                    yield put((i, (t, role, vf, votes, log + (t,)))), com
                for j in range(n):
                    if j == i or srv[j][0] > t:
                        continue
                    ft, _, fvf, fvotes, flog = newer(srv[j], t)
                    for prev in range(min(len(log), len(flog)) + 1):
                        if append_check and prev and flog[prev - 1] != log[prev - 1]:
                            new = flog
                        elif prev < len(log) and (prev >= len(flog) or flog[prev] != log[prev]):
                            new = flog[:prev] + (log[prev],)
                        else:
                            new = flog
                        yield put((j, (ft, "F", fvf, fvotes, new))), com
                for k in range(1, len(log) + 1):
                    if log[k - 1] == t and (k, t, t) not in com:
                        if sum(s[4][:k] == log[:k] for s in srv) >= majority:
                            yield srv, com | {(x, log[x - 1], t) for x in range(1, k + 1)}
            if any(o[0] > t for o in srv):  # hears of a higher term
                for o in {o[0] for o in srv if o[0] > t}:
                    yield put((i, newer(srv[i], o))), com

    init = (tuple((0, "F", None, frozenset(), ()) for _ in range(n)), frozenset())
    return bfs(init, succ, bad)


def bfs(init, succ, bad=None):
    """Returns (number of reachable states, depth of the first `bad` state or None)."""
    seen, frontier, depth = {init}, deque([init]), {init: 0}
    while frontier:
        s = frontier.popleft()
        if bad is not None and bad(s):
            return len(seen), depth[s]
        for t in succ(s):
            if t not in seen:
                seen.add(t)
                depth[t] = depth[s] + 1
                frontier.append(t)
    return len(seen), None


def two_leaders_in_a_term(state):
    leaders = [s[0] for s in state[0] if s[1] == "L"]
    return len(leaders) != len(set(leaders))


def logs_mismatch(state):
    logs = [s[4] for s in state[0]]
    return any(a[k] == b[k] and a[:k] != b[:k] for a, b in combinations(logs, 2) for k in range(min(len(a), len(b))))


# ---------------------------------------------------------------------- Raft


def test_raft_with_one_server_has_five_states_in_a_line():
    # timeout (term 1, candidate), become_leader (its own vote is a majority of 1), client_request
    # (log [1]), commit (its own log is a majority): one path of 4 steps, 5 states
    result = explorer.check(RAFT, params={"n": 1, "max_term": 1, "max_log": 1})
    assert (result.distinct_states, result.transitions, result.depth) == (5, 4, 4)
    assert raft_bfs(n=1, max_term=1, max_log=1) == (5, None)


@pytest.mark.parametrize("params", [
    {"n": 2, "max_term": 1, "max_log": 1},
    {"n": 3, "max_term": 1, "max_log": 1},
    {"n": 3, "max_term": 2, "max_log": 1},
    {"n": 3, "max_term": 2, "max_log": 1, "vote_rule": "seed"},
    {"n": 2, "max_term": 3, "max_log": 2},
])
def test_raft_state_counts_match_a_naive_reimplementation(params):
    result = explorer.check(RAFT, params=params)
    assert violated(result) == [] and result.complete
    assert result.distinct_states == raft_bfs(**params)[0]


def test_raft_default_count_matches_the_naive_reimplementation_and_leader_elected_holds():
    result = explorer.check(RAFT)
    assert violated(result) == [] and result.unchecked == [] and result.complete
    assert result.distinct_states == raft_bfs()[0] == 7_965
    assert [p.name for p in Raft.build_model({}, None).liveness] == ["leader_elected"]


def test_the_seed_quorum_elects_two_leaders_in_one_term_with_four_servers_in_six_steps():
    # s1 and s2 time out into term 1, each gets one vote (s3 for s1, s4 for s2): 2 votes of 4 is what
    # the seed's floor(3/2) + 1 asks, so both become leaders: 2 + 2 + 2 steps
    result = explorer.check(RAFT, params={"n": 4, "quorum": "seed"})
    assert violated(result) == ["election_safety"]
    assert result.violations[0].length == 6 == raft_bfs(n=4, quorum="seed", bad=two_leaders_in_a_term)[1]
    assert "two leaders in term" in result.violations[0].reason


@pytest.mark.parametrize("n", [3, 5])
def test_the_seed_quorum_is_a_majority_for_odd_n(n):
    assert Raft.build_model({"n": n, "quorum": "seed"}, None) is not None
    assert raft_bfs(n=n, quorum="seed", max_term=1, max_log=0, bad=two_leaders_in_a_term)[1] is None
    assert violated(explorer.check(RAFT, params={"n": n, "quorum": "seed", "max_term": 1, "max_log": 0})) == []


def test_no_append_check_breaks_log_matching_in_ten_steps():
    # a leader of term 1 writes [1] (timeout, vote, become_leader, client_request); a leader of term 2
    # writes [2, 2] (timeout, vote, become_leader, two client_requests); it sends index 2 with
    # prevLogIndex 1 to the first, which, not checking prevLogTerm, ends with [1, 2]: 4 + 5 + 1.
    # (Nine is impossible: an entry of term 2 after a different first entry needs both leaders.)
    result = explorer.check(RAFT, params={"append_check": False})
    assert violated(result) == ["log_matching"]
    assert result.violations[0].length == 10 == raft_bfs(append_check=False, bad=logs_mismatch)[1]


def test_the_seed_vote_rule_reaches_the_same_states_until_terms_allow_a_refusal():
    # Every vote the seed rule grants, the paper's rule grants too, so seed states are a subset.
    # With max_term = 2 a refusal needs a candidate whose last term is higher and log shorter,
    # impossible with terms 1 and 2 only: the counts are equal.
    assert raft_bfs(vote_rule="seed")[0] == raft_bfs()[0]
    # with max_term = 3 it also takes a log of two entries (50,067 states against 50,295 with
    # max_log = 2: the slow test below); with max_log = 1 the counts are equal again
    small = {"n": 3, "max_term": 3, "max_log": 1}
    seed = explorer.check(RAFT, params={**small, "vote_rule": "seed"})
    assert violated(seed) == [] and seed.distinct_states == raft_bfs(**small, vote_rule="seed")[0] == raft_bfs(**small)[0]


def stuck_last_election(n, max_term):
    """Returns a `bad` predicate for raft_bfs: an uncontested election in the last term that the paper's
    rule lets the candidate win and the seed's rule lets nobody win (no voter left would say yes)."""
    def ok(cand, voter, seed):
        ct, vt = (cand[-1] if cand else 0), (voter[-1] if voter else 0)
        return ct >= vt and len(cand) >= len(voter) if seed else (ct, len(cand)) >= (vt, len(voter))

    def bad(state):
        srv = state[0]
        cands = [i for i, s in enumerate(srv) if s[1] == "C"]
        if any(s[0] != max_term or s[1] == "L" for s in srv) or len(cands) != 1:
            return False
        c = cands[0]
        if any(s[2] not in (None, c) for i, s in enumerate(srv) if i != c):
            return False
        paper = sum(i == c or ok(srv[c][4], s[4], False) for i, s in enumerate(srv))
        seed = sum(i == c or s[2] == c or ok(srv[c][4], s[4], True) for i, s in enumerate(srv))
        return paper >= n // 2 + 1 > seed
    return bad


def test_the_seed_vote_rule_can_lose_an_election_the_papers_rule_wins():
    # s1 = [1, 1] (leader of term 1), s2 = [2, 2] (leader of term 2), s3 = [2] (from s2), s3 stands in
    # term 3 and asks both: 4 + 2 + 4 + 1 + 1 + 2 steps (see the docstring)
    assert raft_bfs(n=3, max_term=3, max_log=2, vote_rule="seed", bad=stuck_last_election(3, 3))[1] == 14
    # the same state is reachable with the paper's rule (the seed's states are a subset), where s1's
    # vote elects s3: what differs is the vote, which the slow test below checks as liveness
    assert raft_bfs(n=3, max_term=3, max_log=2, vote_rule="correct", bad=stuck_last_election(3, 3))[1] == 14
    assert raft_bfs(n=3, max_term=2, max_log=2, vote_rule="seed", bad=stuck_last_election(3, 2))[1] is None
    assert raft_bfs(n=2, max_term=4, max_log=2, vote_rule="seed", bad=stuck_last_election(2, 4))[1] is None


@pytest.mark.slow
def test_the_seed_vote_rule_violates_leader_elected_and_the_papers_rule_does_not():
    seed = explorer.check(RAFT, params={"vote_rule": "seed", "max_term": 3})
    assert violated(seed) == ["leader_elected"] and seed.violations[0].length == 14
    assert seed.distinct_states == 50_067 == raft_bfs(max_term=3, vote_rule="seed")[0]
    correct = explorer.check(RAFT, params={"max_term": 3})
    assert violated(correct) == [] and correct.distinct_states == 50_295 == raft_bfs(max_term=3)[0]


class RaftEventually(Raft):
    """Raft with the plain `<>(a leader)` that action fairness cannot give (see the spec's docstring)."""

    @eventually
    def some_leader(self):
        return "leader" in self.role.values()


def test_weak_fairness_cannot_rule_out_a_split_vote():
    # all three servers time out into term 1 and vote for themselves: no vote is left to ask for, no
    # fair step is enabled, and the behaviour stops with no leader
    result = explorer.check(RaftEventually, params={"max_term": 1, "max_log": 0})
    assert violated(result) == ["some_leader"]
    trace = result.violations[0].trace
    assert [s.action for s in trace.steps] == ["timeout"] * 3 and trace.loop_start is None


def declared_checks():
    out = []
    for item in [*collect(RAFT), *collect(PAXOS)]:
        slow = item.check.params.get("max_term", 2) > 2  # the seed's liveness check: 50,067 states
        out.append(pytest.param(item.check, item, marks=[pytest.mark.slow] if slow else []))
    return out


@pytest.mark.parametrize("check,item", declared_checks(), ids=lambda x: x.describe() if hasattr(x, "describe") else "")
def test_every_declared_check_gives_its_verdict(check, item):
    outcome = item.run()
    assert outcome.passed, outcome.report()


# ---------------------------------------------------------------------- a second Paxos, naive


def paxos_bfs(n=3, max_ballot=2, variant="correct", bad=None):
    """Single-decree Paxos over the set of messages ever sent, as the spec's docstring describes it:
    returns (states, depth of the first `bad` state or None). Ballot b belongs to p1 when odd."""
    acceptors = range(n)
    majority = n // 2 + 1
    own = {1: "a", 0: "b"}

    def succ(state):
        promised, accepted, learned, msgs = state
        for b in range(1, max_ballot + 1):
            if ("prepare", b) not in msgs:
                yield promised, accepted, learned, msgs | {("prepare", b)}
        for a in acceptors:
            for m in msgs:
                if m[0] == "prepare" and m[1] > promised[a]:
                    p = promised[:a] + (m[1],) + promised[a + 1:]
                    yield p, accepted, learned, msgs | {("promise", a, m[1], *accepted[a])}
                if m[0] == "accept" and m[1] >= promised[a] and accepted[a] != (m[1], m[2]):
                    p = promised[:a] + (m[1],) + promised[a + 1:]
                    acc = accepted[:a] + ((m[1], m[2]),) + accepted[a + 1:]
                    yield p, acc, learned, msgs | {("accepted", a, m[1], m[2])}
        for b in {m[2] for m in msgs if m[0] == "promise"}:
            if any(m[0] == "accept" and m[1] == b for m in msgs):
                continue
            promises = {m[1]: (m[3], m[4]) for m in msgs if m[0] == "promise" and m[2] == b}
            for q in combinations(sorted(promises), majority):
                heard = [promises[a] for a in q if promises[a][1] is not None]
                v = max(heard)[1] if heard and variant == "correct" else own[b % 2]
                yield promised, accepted, learned, msgs | {("accept", b, v)}
        for i in range(2):
            if learned[i] is None:
                for b, v in {(m[2], m[3]) for m in msgs if m[0] == "accepted"}:
                    if len({m[1] for m in msgs if m[0] == "accepted" and m[2:] == (b, v)}) >= majority:
                        yield promised, accepted, learned[:i] + (v,) + learned[i + 1:], msgs

    init = ((0,) * n, ((0, None),) * n, (None, None), frozenset())
    return bfs(init, succ, bad)


def learners_disagree(state):
    learned = state[2]
    return None not in learned and learned[0] != learned[1]


def test_paxos_with_one_acceptor_and_one_ballot_counted_by_hand():
    # one path: init, prepare(1), promise(a1, 1), propose "a" (nothing reported), accept; then l1, l2
    # or both have learned "a" (a diamond of 3 more states): 5 + 3 = 8 states
    result = explorer.check(PAXOS, params={"n": 1, "max_ballot": 1})
    assert result.distinct_states == 8 == paxos_bfs(n=1, max_ballot=1)[0]


@pytest.mark.parametrize("params", [
    {"n": 1, "max_ballot": 2},
    {"n": 2, "max_ballot": 2},
    {"n": 3, "max_ballot": 1},
    {"n": 3, "max_ballot": 2},
    {"n": 2, "max_ballot": 3},
])
def test_paxos_state_counts_match_a_naive_reimplementation(params):
    result = explorer.check(PAXOS, params=params)
    assert violated(result) == [] and result.complete
    assert result.distinct_states == paxos_bfs(**params)[0]


def test_a_proposer_ignoring_reported_acceptances_makes_learners_disagree_in_fourteen_steps():
    # per ballot: prepare, 2 promises, propose, 2 accepts, a learner learns (7 steps); ballot 2's
    # majority includes an acceptor that accepted "a" before promising, and p2 proposes "b" anyway
    result = explorer.check(PAXOS, params={"variant": "ignore_accepted"})
    assert violated(result) == ["agreement"]
    assert result.violations[0].length == 14 == paxos_bfs(variant="ignore_accepted", bad=learners_disagree)[1]


def test_correct_paxos_never_lets_learners_disagree_in_the_naive_model_either():
    assert paxos_bfs(bad=learners_disagree)[1] is None


def test_the_specs_are_the_classes_the_gate_runs():
    assert {i.spec for i in collect(RAFT)} == {Raft.__name__} and {i.spec for i in collect(PAXOS)} == {Paxos.__name__}


# ---------------------------------------------------------------------- bench/catalog_table.py


def test_the_catalog_table_reports_each_declared_check(tmp_path):
    from bench.catalog_table import main
    from tests.conftest import FIXTURES

    out = tmp_path / "README.md"
    # buggy_counter declares no checks: its one default check (everything holds) fails after 3 steps
    assert main([str(FIXTURES / "counter.py"), str(FIXTURES / "buggy_counter.py"), "--out", str(out)]) == 1
    text = out.read_text()
    assert "| `counter.py` | Counter | A counter modulo k: k states in one cycle, k transitions, depth k - 1. |" in text
    assert "| `counter.py` | default | k=5 | holds | holds | 5 | - |" in text
    assert "| `buggy_counter.py` | default | limit=3 | holds | violates below_limit | 4 | 3 |" in text
    assert text.count("| PASS |") == 1 and text.count("| FAIL |") == 1
