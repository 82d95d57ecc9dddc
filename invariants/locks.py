"""Properties of locks and leases (specs/redis_lock.py), as plain functions over values.

Each function returns True when the property holds, or a string saying what is wrong: exactly what
an `@invariant` may return. Mind that a string is truthy: test the result with `is True`.

Vocabulary. A *lease* is one grant of the lock, numbered in the order the lock service granted it
(the number is what a fencing token carries). A client *believes it owns* the lock from the grant
until it releases, whatever happened to the lease meanwhile: a client paused by garbage collection
does not notice that its lease expired. A *write* is a write the storage service accepted, recorded
as (client, lease it was made under), in the order the storage applied them.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def at_most_one_holder(holders: Mapping[Any, bool] | Iterable[Any]) -> bool | str:
    """Checks plain mutual exclusion: at most one client holds the lock (or is in its critical section).

    `holders` is {client: holds?} or an iterable of the clients that hold it.
    """
    who = sorted((k for k, v in holders.items() if v) if isinstance(holders, Mapping) else set(holders), key=str)
    return True if len(who) <= 1 else f"{len(who)} clients hold the lock at once: {', '.join(map(str, who))}"


def writes_in_lease_order(writes: Sequence[tuple[Any, int]]) -> bool | str:
    """Checks mutual exclusion on the storage writes: writes are applied in the order of their leases.

    Fails when the storage accepts a write made under lease k after one made under a newer lease
    k' > k: the older owner still believed it owned the lock (it had not released; it wrote after
    the newer owner did), so two clients wrote under overlapping believed ownership, and the stale
    write overwrote the newer owner's. Writes of one lease, and writes in lease order, are fine:
    they are what some serial order of the critical sections would produce.
    """
    newest: tuple[Any, int] | None = None
    for k, (client, lease) in enumerate(writes, start=1):
        if newest is not None and lease < newest[1]:
            return (f"write {k} by {client} under lease {lease} was applied after {newest[0]}'s write "
                    f"under the newer lease {newest[1]}: {client} still believed it held the lock")
        if newest is None or lease > newest[1]:
            newest = (client, lease)
    return True


def tokens_increase(tokens: Sequence[int], strict: bool = False) -> bool | str:
    """Checks fencing-token monotonicity: each token is >= the one before (> with `strict`).

    The lock service must issue strictly increasing tokens (`strict=True`); the tokens a storage
    service accepts, with its check "reject a token lower than the highest seen", never decrease.
    """
    for k in range(1, len(tokens)):
        a, b = tokens[k - 1], tokens[k]
        if b < a or (strict and b == a):
            return f"token {k + 1} is {b} after {a}: fencing tokens must {'strictly ' if strict else ''}increase"
    return True


def overlapping_ownership(sections: Iterable[tuple[Any, float, float | None]]) -> list[tuple[Any, Any]]:
    """Returns the pairs of distinct clients whose ownership intervals overlap in time.

    `sections` holds (client, start, end) with end None for an interval still open; intervals are
    half-open [start, end), so one ending when the next begins does not overlap it. For timed traces:
    the times come from the trace's steps.
    """
    items = sorted(sections, key=lambda s: (s[1], str(s[0])))
    out = []
    for i, (a, _s1, e1) in enumerate(items):
        for b, s2, _e2 in items[i + 1:]:
            if a != b and (e1 is None or s2 < e1):
                out.append((a, b))
    return out
