"""Successors the interpreted safety search computed, kept for the liveness graph of the same model.

The liveness graph needs every successor of every reachable state; the interpreted safety search
computed exactly those just before (an actor spec spends about half of `explore check`'s time
building its liveness graph). `remembering(model, options)` gives the safety search a `Remembering`
(its `memo=`): the search hands it each expanded state's successors under the fingerprint it has
already computed for that state (the graph builder's fingerprints are the same: one `Fingerprinter`
over `model.fields`, no symmetry), and `graph.build_graph` takes them back (once) instead of running
the actions again. It is a cache only: a state the safety search did not expand (a bound, an
invariant violation) is expanded as before, so the graph is the same. A budget of kept transitions
bounds the memory it holds.
"""
from __future__ import annotations

import weakref
from typing import Any

from ..engine.options import Options

BUDGET = 500_000  # transitions kept at most (~0.9 KB each on twopc: states and steps); beyond, recomputed

_MEMOS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Remembering:
    """Keeps each successor list the safety search computes, by the expanded state's fingerprint.

    Not a model wrapper: the search passes the fingerprint it already has (`keep`), so the hot
    path computes no second fingerprint and no attribute goes through a proxy.
    """

    def __init__(self, budget: int = BUDGET):
        self.kept: dict[int, list] = {}
        self.budget = budget

    def keep(self, fp: int, succs: list) -> None:
        """Keeps `succs`, the successors of the state with fingerprint `fp`, while the budget lasts."""
        if len(succs) <= self.budget:
            self.budget -= len(succs)
            self.kept[fp] = succs

    def take(self, fp: int) -> list | None:
        """Returns (and forgets) the successors kept for the state with fingerprint `fp`, or None."""
        return self.kept.pop(fp, None)


def remembering(model: Any, options: Options) -> Remembering | None:
    """Returns the memo for the interpreted safety search of `model` (its `memo=`) when the liveness
    graph will be built from its successors afterwards, else None."""
    from .batch_graph import batchable
    from .check import refusal

    if not getattr(model, "liveness", None) or refusal(options) is not None or batchable(model):
        return None  # no liveness graph, or the batched builder makes it
    if options.symmetry or options.por or options.checkpoint or options.resume:
        return None  # the search fingerprints or saves the model's states its own way
    m = Remembering()
    try:
        _MEMOS[model] = m
    except TypeError:  # a model that cannot be weakly referenced: no memo
        return None
    return m


def memo_of(model: Any) -> Remembering | None:
    """Returns (and unregisters) the successors kept for `model` by its safety search, if any."""
    try:
        return _MEMOS.pop(model, None)
    except TypeError:
        return None
