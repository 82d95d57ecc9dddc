"""Rebuilding a trace from fingerprints and parent pointers, by re-running actions (as TLC does).

The visited set keeps only fingerprints and parents; the states on a counterexample's path are
recomputed from the initial state, picking at each step the successor with the next fingerprint.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import NonDeterminismError
from ..trace.model import Trace, TraceStep, diff, node_classes
from .fingerprint import Fingerprinter


def fp_path(parents: Any, fp: int, root: int = -1) -> list[int]:
    """Returns the fingerprints from an initial state to `fp` (parents maps fp -> parent fp)."""
    path = [fp]
    while True:
        p = parents[path[-1]]
        if p == root:
            break
        path.append(p)
    path.reverse()
    return path


def rebuild(model: Any, fpr: Fingerprinter, path: Sequence[int], *, faults: str | None = None,
            spec_file: str | None = None) -> Trace:
    """Re-executes the path of fingerprints `path` and returns it as a Trace."""
    init = None
    for state, step in model.initial_states():
        if fpr.of(state) == path[0]:
            init = (state, step)
            break
    if init is None:
        raise NonDeterminismError("the initial state of a trace could not be recomputed", hint=_HINT)
    state, step0 = init
    trace = Trace(
        spec=model.name, spec_file=spec_file, params=dict(model.params), faults=faults,
        fields=tuple(model.fields), init_decisions=step0.decisions, initial=model.as_dict(state),
        nodes=node_classes(model),
    )
    fp = path[0]
    for i, target in enumerate(path[1:], start=1):
        found = None
        for nxt, step in model.successors(state):
            if fpr.update(fp, state, nxt) == target:
                found = (nxt, step)
                break
        if found is None:
            raise NonDeterminismError(
                f"step {i} of a trace could not be recomputed from its parent state", hint=_HINT
            )
        nxt, step = found
        before, after = model.as_dict(state), model.as_dict(nxt)
        trace.steps.append(TraceStep(i, step.action, step.decisions, step.label, dict(step.info), after,
                                     diff(before, after)))
        state, fp = nxt, target
    return trace


def replay_trace(model: Any, init_decisions: Sequence[int], steps: Sequence[tuple[str, Sequence[int]]], *,
                 faults: str | None = None, spec_file: str | None = None) -> tuple[Trace | None, list, int | None]:
    """Replays saved (action, decisions) steps from the initial state the decisions name.

    Returns (trace of the steps that replayed, their states, index of the first step that could not
    be replayed or None). The index is 0 when even the initial state is gone.
    """
    state = None
    for s, step in model.initial_states():
        if tuple(step.decisions) == tuple(init_decisions):
            state = s
            break
    if state is None:
        return None, [], 0
    trace = Trace(spec=model.name, spec_file=spec_file, params=dict(model.params), faults=faults,
                  fields=tuple(model.fields), init_decisions=tuple(init_decisions), initial=model.as_dict(state),
                  nodes=node_classes(model))
    states = [state]
    for k, (action, decisions) in enumerate(steps, start=1):
        r = model.replay(state, action, decisions)
        if r is None:
            return trace, states, k
        nxt, step = r
        before, after = model.as_dict(state), model.as_dict(nxt)
        trace.steps.append(TraceStep(k, step.action, step.decisions, step.label, dict(step.info), after,
                                     diff(before, after)))
        state = nxt
        states.append(state)
    return trace, states, None


_HINT = "the spec is not deterministic: an action reads something outside the state"
