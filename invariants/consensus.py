"""Safety properties of consensus protocols (Paxos, Raft), as plain functions over values.

Each function returns True when the property holds, or a string saying what is wrong: exactly what
an `@invariant` may return, so a spec writes `return log_matching(self.log)`. Mind that a string is
truthy: test the result with `is True`, never with `if`.

Logs are sequences of entry terms (index 1 is position 0), as in the Raft paper's figures: an entry
is identified by its index and the term in which a leader created it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def agreement(decisions: Mapping[Any, Any]) -> bool | str:
    """Checks that every decided value (None = undecided) is the same: `{learner: value}`."""
    decided = {k: v for k, v in decisions.items() if v is not None}
    if len(set(decided.values())) <= 1:
        return True
    return "different values decided: " + ", ".join(f"{k}={v!r}" for k, v in sorted(decided.items(), key=str))


def validity(decided: Iterable[Any], proposed: Iterable[Any]) -> bool | str:
    """Checks that every decided value (None = undecided) is one that was proposed."""
    allowed = set(proposed)
    bad = sorted({v for v in decided if v is not None and v not in allowed}, key=repr)
    return True if not bad else f"decided {', '.join(map(repr, bad))}, which nobody proposed"


def single_leader_per_term(leaders: Iterable[tuple[Any, int]]) -> bool | str:
    """Checks election safety: no term has two leaders. `leaders` holds (server, term) pairs."""
    by_term: dict[int, set] = {}
    for server, term in leaders:
        by_term.setdefault(term, set()).add(server)
    for term in sorted(by_term):
        if len(by_term[term]) > 1:
            return f"two leaders in term {term}: {', '.join(sorted(map(str, by_term[term])))}"
    return True


def log_matching(logs: Mapping[Any, Sequence[int]]) -> bool | str:
    """Checks Raft's log matching: two logs with an entry of the same index and term agree up to it."""
    items = sorted(logs.items(), key=lambda kv: str(kv[0]))
    for a, (s, ls) in enumerate(items):
        for t, lt in items[a + 1:]:
            for i in range(min(len(ls), len(lt)) - 1, -1, -1):  # the last common (index, term) decides
                if ls[i] == lt[i]:
                    if tuple(ls[:i]) != tuple(lt[:i]):
                        return (f"{s} and {t} both hold an entry of term {ls[i]} at index {i + 1} but differ "
                                f"before it: {s}={list(ls)}, {t}={list(lt)}")
                    break
    return True


def prefix_consistency(prefixes: Mapping[Any, Sequence[Any]]) -> bool | str:
    """Checks that of any two sequences (e.g. committed log prefixes) one is a prefix of the other."""
    items = sorted(prefixes.items(), key=lambda kv: str(kv[0]))
    for a, (s, ps) in enumerate(items):
        for t, pt in items[a + 1:]:
            k = min(len(ps), len(pt))
            if tuple(ps[:k]) != tuple(pt[:k]):
                return f"{s}={list(ps)} and {t}={list(pt)} diverge: neither is a prefix of the other"
    return True


def state_machine_safety(committed: Iterable[tuple[int, Any]]) -> bool | str:
    """Checks that no index was committed (applied) with two different entries: (index, entry) pairs."""
    at: dict[int, set] = {}
    for index, entry in committed:
        at.setdefault(index, set()).add(entry)
    for index in sorted(at):
        if len(at[index]) > 1:
            return f"index {index} was committed with different entries: {sorted(at[index], key=repr)}"
    return True


def leader_completeness(committed: Iterable[tuple[int, int, int]],
                        leaders: Mapping[Any, tuple[int, Sequence[int]]]) -> bool | str:
    """Checks that every leader holds every entry committed in its term or an earlier one.

    `committed` holds (index, entry term, term in which it was committed) triples; `leaders` maps a
    leader to (its current term, its log). A stale leader of an older term is not bound by later commits.
    """
    for leader, (term, log) in sorted(leaders.items(), key=lambda kv: str(kv[0])):
        for index, t, when in sorted(set(committed)):
            if when <= term and (len(log) < index or log[index - 1] != t):
                return (f"leader {leader} of term {term} lacks the entry (index {index}, term {t}) committed in "
                        f"term {when}: its log is {list(log)}")
    return True


__all__ = ["agreement", "leader_completeness", "log_matching", "prefix_consistency", "single_leader_per_term",
           "state_machine_safety", "validity"]
