"""Minimising a counterexample: shortest, then fewest injected faults, then no step that does not matter.

DESIGN section 7: "shortest by BFS, then fewest injected faults, then delta-debugging of steps that
do not matter". The engine's BFS trace is already shortest; this module does the other two, on the
model alone (it never looks at how the engine found the trace):

1. **Fewest faults among the shortest.** A layered BFS over the model's successors, up to the
   trace's length, keeps for every state the fewest faults (loss, dup, crash, restart, partition,
   heal steps) of any shortest path to it. A state's shortest paths all come from the layer above, so
   this dynamic programme is exact. Among the states at the smallest depth that violate the same
   property, the one with the fewest faults wins; the original trace is kept when it ties. A trace
   found by DFS or a random walk gets shortened here too. The BFS is bounded (`max_states`,
   `time_limit`); past the bound this phase is skipped and a note says so.
2. **Delta debugging** (DSLabs' TraceMinimizer). Remove chunks of steps, halving the chunk size down
   to single steps, and keep a removal when the rest still replays from the initial state and still
   violates the same property. A later step is replayed by its decisions, or else by its label (a
   removed delivery shifts the indices of later `choose` options); a step that matches neither makes
   the removal invalid. After a BFS phase this rarely finds anything (a shortest trace has no
   removable step), but it is cheap and it shortens traces phase 1 could not afford to search.

A trace never gets longer and always still violates its property; `Trace.notes` says what changed.
Liveness lassos are returned unchanged: removing a step may break the loop.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .engine.paths import replay_trace
from .errors import ExplorerError
from .trace.model import Trace

#: Step kinds (`info["kind"]`) that are injected faults.
FAULT_KINDS = frozenset({"loss", "dup", "crash", "restart", "partition", "heal"})


@dataclass
class MinimizeReport:
    """What minimisation did: lengths and fault counts before and after, and the steps removed."""

    length_before: int
    length_after: int
    faults_before: int
    faults_after: int
    removed: list[str] = field(default_factory=list)  # labels of the steps delta debugging removed
    skipped: str | None = None  # why a phase did not run

    def notes(self) -> list[str]:
        """Returns one line per change, for `Trace.notes` (what the text output shows)."""
        out = []
        if self.faults_after < self.faults_before or self.length_after < self.length_before and not self.removed:
            out.append(f"minimised: a trace of {self.length_after} steps with {self.faults_after} injected "
                       f"fault{_s(self.faults_after)} replaces the engine's {self.length_before} steps with "
                       f"{self.faults_before}")
        if self.removed:
            out.append(f"minimised: removed {len(self.removed)} step{_s(len(self.removed))} that did not matter: "
                       + "; ".join(self.removed))
        if self.skipped:
            out.append(f"minimisation: {self.skipped}")
        return out


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def fault_count(trace: Trace) -> int:
    """Returns how many of the trace's steps are injected faults."""
    return sum(1 for s in trace.steps if s.info.get("kind") in FAULT_KINDS)


def is_fault(info: Any) -> bool:
    """Tells whether a step's info marks an injected fault."""
    return bool(info) and info.get("kind") in FAULT_KINDS


def minimize(model: Any, trace: Trace, *, shortest: bool = False, same_last_action: bool = False,
             max_states: int = 200_000, time_limit: float = 20.0, max_replays: int = 2_000
             ) -> tuple[Trace, MinimizeReport]:
    """Returns (a minimal trace violating the same property, a report). Never longer than `trace`.

    `model` is the model the trace was found on (same parameters and faults). The result is a new
    Trace; `trace` is not modified. `max_states` and `time_limit` bound the fewest-faults BFS,
    `max_replays` the delta debugging. `shortest=True` says the trace came from a complete BFS, so
    the fewest-faults search is skipped when the trace has no fault to save. `same_last_action=True`
    keeps the last action (`last_action_key`), so several counterexamples stay distinct.
    """
    rep = MinimizeReport(trace.length, trace.length, fault_count(trace), fault_count(trace))
    if trace.loop_start is not None or trace.kind not in ("invariant", "action_invariant", "deadlock") \
            or not trace.violated:
        return trace, rep
    best = trace
    if rep.faults_before > 0 or not shortest:
        try:
            found, why = _fewest_faults(model, trace, shortest=shortest, max_states=max_states,
                                        time_limit=time_limit, keep=last_action_key(trace) if same_last_action else None)
        except ExplorerError as e:  # a state the engine never expanded raises: keep the engine's trace
            found, why = None, f"the fewest-faults search was skipped: {e.message}"
        if found is not None:
            best = found
        rep.skipped = why
    before_dd = best.length
    best, removed = _delta_debug(model, best, max_replays=max_replays,
                                 last=last_action_key(trace) if same_last_action else None)
    rep.removed = removed if best.length < before_dd else []
    rep.length_after, rep.faults_after = best.length, fault_count(best)
    if best is not trace:
        best.notes = [n for n in trace.notes if not n.startswith("minimis")] + rep.notes()
    elif rep.skipped:
        best = _copy(trace)
        best.notes = list(trace.notes) + rep.notes()
    return best, rep


# ---------------------------------------------------------------------- what "still violates" means

def _violation_at(model: Any, trace: Trace, states: list, steps: list) -> tuple[int, str | None, tuple] | None:
    """Returns (k, reason, read) for the first state (or step) k where the trace's property fails, or None."""
    prop, kind = trace.violated, trace.kind
    if kind == "invariant":
        for k, st in enumerate(states):
            for name, res in model.check_invariants(st):
                if name == prop and not res.holds:
                    return k, res.reason, res.read
        return None
    if kind == "action_invariant":
        for k in range(1, len(states)):
            for name, res in model.check_action_invariants(states[k - 1], states[k], steps[k - 1]):
                if name == prop and not res.holds:
                    return k, res.reason, res.read
        return None
    if kind == "deadlock":
        last = states[-1]
        if not model.successors(last) and not model.is_terminal(last):
            return len(states) - 1, trace.reason, ()
    return None


def _finish(model: Any, original: Trace, init_decisions: Sequence[int], steps: Sequence[tuple[str, Sequence[int]]]
            ) -> Trace | None:
    """Replays steps into a Trace carrying the original's verdict (cut at the first violation), or None."""
    t, states, failed = replay_trace(model, init_decisions, steps, faults=original.faults,
                                     spec_file=original.spec_file)
    if t is None or failed is not None:
        return None
    from .engine.model import Step

    step_objs = [Step(s.action, s.decisions, s.label, s.info) for s in t.steps]
    hit = _violation_at(model, original, states, step_objs)
    if hit is None:
        return None
    k, reason, read = hit
    t.steps = t.steps[:k]
    t.violated, t.kind, t.reason = original.violated, original.kind, reason
    t.read = tuple(read) if read else original.read
    t.notes = list(original.notes)
    t.nodes = dict(original.nodes) or t.nodes
    return t


def _copy(trace: Trace) -> Trace:
    return Trace(**{**trace.__dict__, "steps": list(trace.steps), "notes": list(trace.notes)})


# ---------------------------------------------------------------------- phase 1: fewest faults

def _fewest_faults(model: Any, trace: Trace, *, shortest: bool, max_states: int, time_limit: float,
                   keep: str | None = None) -> tuple[Trace | None, str | None]:
    """Returns (a shortest trace with the fewest faults, None) or (None, why it was skipped)."""
    t0 = time.perf_counter()
    d = trace.length
    prop, kind = trace.violated, trace.kind
    parent: dict[tuple, tuple[tuple | None, Any]] = {}
    layer: dict[tuple, int] = {}
    for st, step in model.initial_states():
        if st not in parent:
            parent[st] = (None, step)
            layer[st] = 0

    def ok_last(step: Any, depth: int) -> bool:
        return keep is None or _key(step.action if depth else "init", step.info if depth else {}) == keep

    def inv_fails(st: tuple) -> bool:
        return any(name == prop and not res.holds for name, res in model.check_invariants(st))

    best: tuple[int, tuple, tuple | None, Any] | None = None  # (faults, state, via-state, via-step)
    # Paths with as many faults as the engine's trace cannot improve on it, except by being shorter,
    # which only a trace not found by BFS can be; such a trace keeps its fault budget as the bound.
    bound = fault_count(trace) - 1 if shortest else fault_count(trace)
    for depth in range(d + 1):
        if kind == "invariant":
            hits = [(f, st) for st, f in layer.items() if inv_fails(st) and ok_last(parent[st][1], depth)]
            if hits:
                f, st = min(hits, key=lambda x: x[0])
                best = (f, st, None, None)
                break
        if depth == d and kind != "deadlock":
            break
        nxt_layer: dict[tuple, int] = {}
        act_hits: list[tuple[int, tuple, tuple, Any]] = []
        dead_hits: list[tuple[int, tuple]] = []
        for st, f in layer.items():
            succs = model.successors(st)
            if kind == "deadlock" and not succs and not model.is_terminal(st):
                if ok_last(parent[st][1], depth):
                    dead_hits.append((f, st))
            if depth == d:
                continue
            for nxt, step in succs:
                nf = f + (1 if is_fault(step.info) else 0)
                if nf > bound:
                    continue  # no better than the engine's trace: every prefix of a better one has fewer
                if kind == "action_invariant":
                    for name, res in model.check_action_invariants(st, nxt, step):
                        if name == prop and not res.holds and ok_last(step, 1):
                            act_hits.append((nf, st, nxt, step))
                if nxt in parent and nxt not in nxt_layer:
                    continue  # reached at a smaller depth
                if nxt not in nxt_layer or nf < nxt_layer[nxt]:
                    nxt_layer[nxt] = nf
                    parent[nxt] = (st, step)
            if len(parent) > max_states:
                return None, f"the fewest-faults search passed {max_states:,} states and was skipped"
            if time.perf_counter() - t0 > time_limit:
                return None, f"the fewest-faults search passed {time_limit:g} s and was skipped"
        if dead_hits:
            f, st = min(dead_hits, key=lambda x: x[0])
            best = (f, st, None, None)
            break
        if act_hits:
            f, st, nxt, step = min(act_hits, key=lambda x: x[0])
            best = (f, st, nxt, step)
            break
        layer = nxt_layer
        if not layer:
            break
    if best is None:
        return None, None
    f, st, via_nxt, via_step = best
    orig_f = fault_count(trace)
    path_len = depth + (1 if via_step is not None else 0)
    if path_len == trace.length and f >= orig_f:
        return None, None  # the engine's trace is as good: keep it as it is
    steps: list[tuple[str, Sequence[int]]] = []
    cur: tuple | None = st
    init_step = None
    while cur is not None:
        prev, step = parent[cur]
        if prev is None:
            init_step = step
        else:
            steps.append((step.action, step.decisions))
        cur = prev
    steps.reverse()
    if via_step is not None:
        steps.append((via_step.action, via_step.decisions))
    out = _finish(model, trace, init_step.decisions if init_step is not None else trace.init_decisions, steps)
    if out is None or out.length > trace.length:
        return None, None
    return out, None


# ---------------------------------------------------------------------- phase 2: delta debugging

def _delta_debug(model: Any, trace: Trace, *, max_replays: int, last: str | None = None
                 ) -> tuple[Trace, list[str]]:
    """Removes chunks of steps (halving the chunk size) while the rest replays and violates; returns the result."""
    best = trace
    removed: list[str] = []
    replays = 0
    # Faults first, one at a time from the last: a trace without a needless fault is easier to read,
    # and chunk removal alone may keep a fault and drop an ordinary step instead.
    k = best.length - 1
    while k >= 0 and replays < max_replays:
        if k < best.length and is_fault(best.steps[k].info):
            keep = best.steps[:k] + best.steps[k + 1:]
            replays += 1
            cand = _replay_loose(model, best, [(s.action, s.decisions, s.label) for s in keep])
            if cand is not None and cand.length < best.length and (last is None or last_action_key(cand) == last):
                removed.append(best.steps[k].label)
                best = cand
        k -= 1
    chunk = max(1, best.length // 2)
    while chunk >= 1 and best.length > 0 and replays < max_replays:
        progress = False
        start = 0
        while start < best.length and replays < max_replays:
            keep = best.steps[:start] + best.steps[start + chunk:]
            replays += 1
            cand = _replay_loose(model, best, [(s.action, s.decisions, s.label) for s in keep])
            if cand is not None and cand.length < best.length and (last is None or last_action_key(cand) == last):
                removed.extend(s.label for s in best.steps[start:start + chunk])
                best = cand
                progress = True
            else:
                start += chunk
        if not progress:
            chunk //= 2
    return best, removed


def _replay_loose(model: Any, original: Trace, steps: Sequence[tuple[str, Sequence[int], str]]) -> Trace | None:
    """Replays steps by decisions, or else by label; returns the violating trace or None (also when a step raises)."""
    try:
        return _replay_loose_or_raise(model, original, steps)
    except ExplorerError:
        return None


def _replay_loose_or_raise(model: Any, original: Trace, steps: Sequence[tuple[str, Sequence[int], str]]
                           ) -> Trace | None:
    state = None
    for st, step in model.initial_states():
        if tuple(step.decisions) == tuple(original.init_decisions):
            state = st
            break
    if state is None:
        return None
    fixed: list[tuple[str, Sequence[int]]] = []
    for action, decisions, label in steps:
        r = model.replay(state, action, decisions)
        if r is None or r[1].label != label:
            r = next(((n, s) for n, s in model.successors(state) if s.label == label), None)
            if r is None:
                return None
        state = r[0]
        fixed.append((r[1].action, r[1].decisions))
    return _finish(model, original, original.init_decisions, fixed)


def last_action_key(trace: Trace) -> str:
    """Returns what tells counterexamples apart besides their property (as the engine's --max-violations
    does): the last action, with what it delivered or which timer fired (`deliver Decision`)."""
    if not trace.steps:
        return "init"
    last = trace.steps[-1]
    return _key(last.action, last.info)


def _key(action: str, info: Any) -> str:
    what = (info or {}).get("msg_type") or (info or {}).get("timer")
    return f"{action} {what}" if what else action


def minimize_result(model: Any, result: Any, *, shortest: bool) -> None:
    """Replaces each violation's trace in a Result by its minimised form (what the CLI shows by default)."""
    for v in result.violations:
        if v.trace is not None:
            v.trace, _ = minimize(model, v.trace, shortest=shortest, same_last_action=len(result.violations) > 1)
