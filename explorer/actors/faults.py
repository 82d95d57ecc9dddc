"""Fault budgets (`--faults loss=2,dup=1,partition=1,crash=1`) and partition families.

Every fault is an ordinary action of the compiled spec, bounded by a budget kept in the state so the
space stays finite. `all` means every kind with budget 1; the default is no faults.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations

from ..errors import UsageError

KINDS = ("loss", "dup", "partition", "crash", "restart")
FAMILIES = ("any", "isolate_one", "majority")


def parse_faults(text: str | dict | None) -> dict[str, int]:
    """Parses a fault string into {kind: budget}; raises UsageError naming the bad part."""
    if text is None:
        return {}
    if isinstance(text, dict):
        items = list(text.items())
    else:
        text = text.strip()
        if text in ("", "none"):
            return {}
        items = []
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            if part == "all":
                items.extend((k, 1) for k in KINDS if k != "restart")
                continue
            if "=" in part:
                k, _, v = part.partition("=")
            else:
                k, v = part, "1"
            items.append((k.strip(), v.strip()))
    out: dict[str, int] = {}
    for k, v in items:
        if k not in KINDS:
            raise UsageError(f"--faults: unknown fault kind {k!r}",
                             hint=f"kinds: {', '.join(KINDS)}; e.g. --faults loss=2,crash=1 or --faults all")
        try:
            n = int(v)
        except (TypeError, ValueError):
            raise UsageError(f"--faults: {k}={v}: the budget must be a whole number, e.g. {k}=1") from None
        if n < 0:
            raise UsageError(f"--faults: {k}={n}: the budget must be 0 or more")
        out[k] = n
    return {k: n for k, n in out.items() if n > 0 or k == "restart"}


def format_faults(budget: dict[str, int]) -> str | None:
    """Returns the canonical text of a budget ("crash=1,loss=2"), or None for no faults."""
    return ",".join(f"{k}={budget[k]}" for k in KINDS if k in budget) or None


def partitions(nodes: Sequence[str], family: str) -> list[frozenset[frozenset[str]]]:
    """Returns every partition of `nodes` into two blocks that the family allows, in a fixed order."""
    ns = list(nodes)
    everyone = frozenset(ns)
    out: list[frozenset[frozenset[str]]] = []
    seen: set = set()

    def add(side: Iterable[str]) -> None:
        a = frozenset(side)
        b = everyone - a
        if not a or not b:
            return
        p = frozenset((a, b))
        if p not in seen:
            seen.add(p)
            out.append(p)

    if family == "isolate_one":
        for n in ns:
            add([n])
    elif family in ("any", "majority"):
        for size in range(1, len(ns) // 2 + 1):
            for side in combinations(ns, size):
                if family == "majority" and 2 * size == len(ns):
                    continue
                add(side)
    else:
        raise UsageError(f"partition family {family!r} is not one of {', '.join(FAMILIES)}")
    return out
