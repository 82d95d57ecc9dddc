"""Reusable properties for specs: agreement, atomicity, mutual exclusion, ... (see each function).

Submodules: `invariants.history` (linearizability, sequential consistency, read-your-writes,
monotonic reads, no stale reads, convergence over a recorded client history), `invariants.clocks`
(happens-before, the clock condition, vector clocks), `invariants.consensus` (Paxos and Raft).
"""
from __future__ import annotations

from collections.abc import Iterable


def atomicity(outcomes: Iterable[str], commit: str = "committed", abort: str = "aborted") -> bool:
    """Holds when no participant committed while another aborted."""
    seen = set(outcomes)
    return not (commit in seen and abort in seen)


def agreement(decisions: Iterable[object]) -> bool:
    """Holds when every decided value (None = undecided) is the same."""
    return len({d for d in decisions if d is not None}) <= 1


def mutual_exclusion(holders: Iterable[object]) -> bool:
    """Holds when at most one holder is in the critical section."""
    return len([h for h in holders if h]) <= 1


__all__ = ["agreement", "atomicity", "mutual_exclusion"]
