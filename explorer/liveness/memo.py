"""Successors the interpreted safety search computed, kept for the liveness graph of the same model.

The liveness graph needs every successor of every reachable state; the interpreted safety search
computed exactly those just before (an actor spec spends about half of `explore check`'s time
building its liveness graph). `remembering(model, options)` wraps the model the safety search runs
on: each `successors(state)` list is also kept under the state's fingerprint, and
`graph.build_graph` takes it back (once) instead of running the actions again. It is a cache only:
a state the safety search did not expand (a bound, an invariant violation) is expanded as before,
so the graph is the same. A budget of kept transitions bounds the memory it holds.
"""
from __future__ import annotations

import weakref
from typing import Any

from ..engine.fingerprint import Fingerprinter
from ..engine.options import Options

BUDGET = 500_000  # transitions kept at most (~0.9 KB each on twopc: states and steps); beyond, recomputed

_MEMOS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Remembering:
    """A model that also keeps each `successors(state)` it returns, by the state's fingerprint."""

    def __init__(self, model: Any, budget: int = BUDGET):
        self._model = model
        self._fpr = Fingerprinter(tuple(model.fields))
        self.kept: dict[int, list] = {}
        self.budget = budget

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def successors(self, state: tuple) -> list:
        succs = self._model.successors(state)
        if len(succs) <= self.budget:
            self.budget -= len(succs)
            self.kept[self._fpr.of(state)] = succs
        return succs

    def take(self, fp: int) -> list | None:
        """Returns (and forgets) the successors kept for the state with fingerprint `fp`, or None."""
        return self.kept.pop(fp, None)


def remembering(model: Any, options: Options) -> Any:
    """Returns the model for the interpreted safety search: one that keeps its successors when the
    liveness graph will be built from them afterwards, else `model` itself."""
    from .batch_graph import batchable
    from .check import refusal

    if not getattr(model, "liveness", None) or refusal(options) is not None or batchable(model):
        return model  # no liveness graph, or the batched builder makes it
    if options.symmetry or options.por or options.checkpoint or options.resume:
        return model  # the search fingerprints or saves the model's states its own way
    try:
        m = Remembering(model)
        _MEMOS[model] = m
    except TypeError:  # a model that cannot be weakly referenced: no memo
        return model
    return m


def memo_of(model: Any) -> Remembering | None:
    """Returns (and unregisters) the successors kept for `model` by its safety search, if any."""
    try:
        return _MEMOS.pop(model, None)
    except TypeError:
        return None
