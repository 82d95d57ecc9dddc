"""specs/redis_lock.py (untimed): verdicts, the 5-step counterexample, liveness under fairness, and state
counts pinned against a hand count (n = 1) and a naive second implementation in this file (n = 1..3)."""
from __future__ import annotations

import pytest

import explorer
from explorer import action
from explorer.dsl.loader import load_spec
from tests.conftest import SPECS

LOCK = SPECS / "redis_lock.py"


def violated(result):
    return [v.property for v in result.violations]


# ---------------------------------------------------------------- a naive second implementation

def naive_counts(n: int, fencing: bool) -> tuple[int, int]:
    """BFS over the same protocol written from the spec's docstring, as plain tuples: (states, transitions)."""
    clients = "ABCDEFGHIJ"[:n]
    # state: holder, last_token, phases, leases, storage_max, writes, expired
    init = (None, 0, ("waiting",) * n, (0,) * n, 0, (), False)

    def succ(s):
        holder, tok, ph, le, smax, writes, expired = s
        out = []
        for i, _c in enumerate(clients):  # acquire
            if ph[i] == "waiting" and holder is None:
                out.append((clients[i], tok + 1, ph[:i] + ("holding",) + ph[i + 1:], le[:i] + (tok + 1,) + le[i + 1:],
                            smax, writes, False))
        if holder is not None:  # the lease expires
            out.append((None, tok, ph, le, smax, writes, True))
        for i, c in enumerate(clients):  # write
            if ph[i] == "holding":
                if fencing and le[i] < smax:
                    out.append((holder, tok, ph[:i] + ("rejected",) + ph[i + 1:], le, smax, writes, expired))
                else:
                    out.append((holder, tok, ph[:i] + ("wrote",) + ph[i + 1:], le,
                                le[i] if fencing else smax, writes + ((c, le[i]),), expired))
        for i, c in enumerate(clients):  # release: compare-and-delete
            if ph[i] in ("wrote", "rejected"):
                out.append((None if holder == c else holder, tok, ph[:i] + ("done",) + ph[i + 1:], le, smax, writes,
                            expired))
        return out

    def ok(s):  # mutual exclusion: accepted leases never decrease (the engine does not expand a violating state)
        leases = [lease for _c, lease in s[5]]
        return leases == sorted(leases)

    seen, frontier, transitions = {init}, [init], 0
    while frontier:
        nxt = []
        for s in frontier:
            for t in succ(s):
                transitions += 1
                if t not in seen:
                    seen.add(t)
                    if ok(t):
                        nxt.append(t)
        frontier = nxt
    return len(seen), transitions


def test_one_client_has_seven_states_and_seven_transitions_by_hand():
    # waiting; holding (key A); holding after expiry; wrote (key A); wrote after expiry (also reached by
    # write-then-expire); done; done after expiry. Transitions: 1 + 2 + 1 + 2 + 1 + 0 + 0.
    assert naive_counts(1, True) == (7, 7)
    r = explorer.check(LOCK, params={"n": 1})
    assert (r.distinct_states, r.transitions, r.depth) == (7, 7, 4)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("variant", ["fencing", "no_fencing"])
def test_state_counts_match_a_naive_implementation(n, variant):
    want = naive_counts(n, variant == "fencing")
    r = explorer.check(LOCK, params={"n": n, "variant": variant}, max_violations=10**6)
    assert (r.distinct_states, r.transitions) == want


# ---------------------------------------------------------------- verdicts


def test_with_fencing_tokens_mutual_exclusion_and_reacquisition_hold():
    for n in (2, 3):
        r = explorer.check(LOCK, params={"n": n})
        assert violated(r) == [] and r.complete and r.unchecked == []


def test_without_fencing_a_paused_client_overwrites_the_new_owner_in_five_steps():
    r = explorer.check(LOCK, params={"variant": "no_fencing"})
    assert violated(r) == ["mutual_exclusion"]
    t = r.violations[0].trace
    assert [s.label for s in t.steps] == ["acquire(c='A')", "lease_expires", "acquire(c='B')", "write(c='B')",
                                          "write(c='A')"]
    assert t.final["writes"] == (("B", 2), ("A", 1))
    assert "A still believed it held the lock" in r.violations[0].reason


def run_steps(steps, **params):
    m = load_spec(LOCK).model(**params)
    state = m.initial_states()[0][0]
    for action_name, decisions in steps:
        state, _ = m.replay(state, action_name, decisions)
    return m.as_dict(state)


EXPIRED_AND_TAKEN = [("acquire", (0,)), ("lease_expires", ()), ("acquire", (1,))]  # A's lease expired, B holds


def test_release_is_compare_and_delete_so_a_late_client_does_not_free_the_new_owners_key():
    s = run_steps(EXPIRED_AND_TAKEN + [("write", (0,)), ("release", (0,))])
    assert s["phase"]["A"] == "done" and s["holder"] == "B"


def test_fencing_storage_rejects_the_stale_token_after_the_newer_one():
    s = run_steps(EXPIRED_AND_TAKEN + [("write", (1,)), ("write", (0,))])
    assert s["phase"]["A"] == "rejected" and s["writes"] == (("B", 2),) and s["storage_max"] == 2
    s = run_steps(EXPIRED_AND_TAKEN + [("write", (1,)), ("write", (0,))], variant="no_fencing")
    assert s["phase"]["A"] == "wrote" and s["writes"] == (("B", 2), ("A", 1))


def test_liveness_needs_the_fairness_of_acquire():
    cls = load_spec(LOCK)

    class Unfair(cls):
        @action
        def acquire(self):
            cls.acquire(self)

    r = explorer.check(Unfair, params={"n": 2})
    assert violated(r) == ["reacquired"] and r.violations[0].kind == "liveness"


def test_every_declared_check_gives_its_verdict():
    for chk in load_spec(LOCK).checks:
        r = explorer.check(LOCK, params=chk.params)
        got = violated(r)
        assert got == ([] if chk.verdict == "holds" else [chk.property]), chk.describe()
