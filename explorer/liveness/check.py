"""Checking `@eventually`, `@always_eventually` and `@leads_to` on the whole state graph.

Each property is turned into "is there a fair behaviour that avoids it forever?":

- `@eventually p` fails when some fair behaviour never reaches a p-state: a path from an initial
  state through not-p states into a fair component of not-p states;
- `@always_eventually p` fails when some fair behaviour ends up avoiding p forever: any path to a fair
  component of not-p states;
- `@leads_to(trigger)` on q fails when, after some state where trigger holds and q does not, a fair
  behaviour avoids q forever.

A behaviour may stutter (stop) in any state where no fair step is enabled (TLA+'s semantics), so a
state where only unfair steps (faults, unfair actions) are enabled is a component on its own. The
counterexample is a lasso: the shortest stem, then a fair loop (`Trace.loop_start`), or, when the
behaviour stops, no loop and a note saying so.
"""
from __future__ import annotations

import time
from typing import Any

from ..dsl.model import user_frame
from ..engine.batch import take_warm
from ..engine.options import Options
from ..engine.paths import replay_trace
from ..engine.result import Result, Violation
from ..errors import ActionError, NonDeterminismError
from ..trace.model import Trace
from .batch_graph import Fallback, batchable, build_graph_batched
from .fairness import Fairness
from .graph import Graph, build_graph
from .memo import memo_of
from .scc import fair_components, fair_loop, shortest

KINDS = ("eventually", "always_eventually", "leads_to")


def refusal(options: Options) -> str | None:
    """Returns why liveness cannot be decided under these options, or None.

    Symmetry and partial-order reduction are not refused: they live in the safety engine (its
    fingerprints and its choice of steps), and the liveness graph is always built whole from the
    model, so its verdict is exact; `reductions_note` says so in the result.
    """
    if options.strategy == "random":
        return "random walks do not build the state graph a fair cycle is searched in; use --strategy bfs"
    return None


def reductions_note(options: Options) -> str | None:
    """Returns the warning for a run whose safety search used a reduction liveness must not use."""
    used = [name for name, on in (("symmetry reduction", getattr(options, "symmetry", False)),
                                  ("partial-order reduction", getattr(options, "por", False))) if on]
    if not used:
        return None
    return (f"liveness was checked on the full state graph, without {' or '.join(used)}: a reduced graph can "
            "hide fair cycles or invent them (TLC's liveness under symmetry can be wrong)")


def check_liveness(model: Any, options: Options, result: Result, *, faults: str | None = None,
                   spec_file: str | None = None) -> Graph | None:
    """Checks the model's liveness properties and records violations and warnings in `result`.

    The time it takes is added to `result.elapsed_s`: a run's time is the safety search and this.
    """
    t0 = time.perf_counter()
    try:
        return _check_liveness(model, options, result, faults=faults, spec_file=spec_file)
    finally:
        result.elapsed_s += time.perf_counter() - t0


def _check_liveness(model: Any, options: Options, result: Result, *, faults: str | None,
                    spec_file: str | None) -> Graph | None:
    memo = memo_of(model)  # what the interpreted safety search kept (memo.remembering); dropped if unused
    warm = take_warm(model)  # the batched safety search, for its tries; dropped if unused
    props = [p for p in getattr(model, "liveness", ()) if p.kind in KINDS]
    if not props:
        return None
    why = refusal(options)
    if why is None and len(result.violations) >= options.max_violations:
        why = "the search stopped at a safety violation first"
    if why is None and result.stop_reason is not None:
        why = f"the search was stopped early ({result.stop_reason.replace('_', ' ')})"
    if why is not None:
        result.warnings.append(f"liveness not checked ({', '.join(p.name for p in props)}): {why}")
        return None
    note = reductions_note(options)
    if note:
        result.warnings.append(note)
    fairness = Fairness(model)

    def label(state: tuple) -> tuple:
        out = []
        for p in props:
            out.append(_holds(model, p, [state])[0])
            out.append(_trigger(model, p, [state])[0] if p.kind == "leads_to" else False)
        return tuple(out)

    g = _graph(model, fairness, props, options, label, memo, warm)
    checked = []
    for i, p in enumerate(props):
        v = _check_one(model, g, fairness, p, i, faults, spec_file)
        checked.append(p.name)
        if v is not None:
            result.violations.append(v)
            if len(result.violations) >= options.max_violations:
                break
    result.unchecked = [n for n in result.unchecked if n not in checked]
    if not g.complete:
        ok = [n for n in checked if not any(v.property == n for v in result.violations)]
        if ok:
            result.warnings.append(
                f"liveness verdict partial for {', '.join(ok)}: {g.why_partial}; no fair cycle was found among "
                "the states whose successors were computed, but one may pass through the states beyond")
    return g


def _graph(model: Any, fairness: Fairness, props: list[Any], options: Options, label, memo: Any,
           warm: Any) -> Graph:
    """Builds the state graph: a level at a time with the batched engine's tries when the model allows,
    else one state at a time. Both give the same Graph (tests/test_liveness_graph.py)."""
    bounds = dict(depth=options.depth, max_states=options.max_states, time_limit=options.time_limit)
    if batchable(model):
        try:
            return build_graph_batched(model, fairness, props, warm=warm, **bounds)
        except Fallback:
            pass  # the interpreted builder also gives an error raised by an action its message and trace
    return build_graph(model, fairness, label=label, memo=memo, **bounds)


# ---------------------------------------------------------------------- one property

def _holds(model: Any, p: Any, states: list[tuple]) -> list[bool]:
    return [model.evaluate(p, s).holds for s in states]


def _trigger(model: Any, p: Any, states: list[tuple]) -> list[bool]:
    out = []
    for s in states:
        try:
            r = p.extra(model.view(s))
        except Exception as e:  # noqa: BLE001 - user code
            raise ActionError(f"the trigger of leads_to {p.name} raised {type(e).__name__}: {e}",
                              where=user_frame(e, getattr(model, "_files", set())) or p.where) from e
        out.append(r is True or (r is not False and not isinstance(r, str) and bool(r)))
    return out


def _closure(g: Graph, sources: list[int], allowed: set[int]) -> set[int]:
    seen = {s for s in sources if s in allowed}
    todo = list(seen)
    while todo:
        u = todo.pop()
        for v, _e in g.succ[u]:
            if v in allowed and v not in seen:
                seen.add(v)
                todo.append(v)
    return seen


def _back_closure(g: Graph, targets: set[int], allowed: set[int]) -> set[int]:
    pred: dict[int, list[int]] = {}
    for u in allowed:
        for v, _e in g.succ[u]:
            if v in allowed:
                pred.setdefault(v, []).append(u)
    seen = set(targets)
    todo = list(targets)
    while todo:
        v = todo.pop()
        for u in pred.get(v, ()):
            if u not in seen:
                seen.add(u)
                todo.append(u)
    return seen


def _check_one(model: Any, g: Graph, fairness: Fairness, p: Any, i: int, faults: str | None,
               spec_file: str | None) -> Violation | None:
    bad = {u for u, lab in enumerate(g.labels) if not lab[2 * i]}
    if not bad:
        return None
    # eventually: a fair component reached from an initial state through bad states only;
    # always_eventually and leads_to: any fair component of bad states
    region = _closure(g, [u for u in g.initial if u in bad], bad) if p.kind == "eventually" else bad
    comps = fair_components(g, region)
    if not comps:
        return None
    inside = set().union(*comps)
    trigger_at = None
    if p.kind != "leads_to":
        start, stem, entry = shortest(g, g.initial, inside, region if p.kind == "eventually" else None)
    else:
        trig = [lab[2 * i + 1] for lab in g.labels]
        doomed = _back_closure(g, inside, bad)
        starts = {u for u in doomed if trig[u]}
        if not starts:
            return None
        start, stem1, at = shortest(g, g.initial, starts, None)
        _s, stem2, entry = shortest(g, [at], inside, bad)
        stem = stem1 + stem2
        trigger_at = len(stem1)
    comp = next(c for c in comps if entry in c)
    loop = fair_loop(g, comp, entry)
    trace, states = _trace(model, g, start, stem + loop, faults, spec_file)
    trace.violated, trace.kind = p.name, "liveness"
    # the state the behaviour loops through (or stops in) is the final state: what p read there
    # is what keeps it false forever
    at = model.evaluate(p, states[len(stem)])
    own = at.reason
    trace.read = tuple(at.read)
    what = {"eventually": f"{p.name} never holds",
            "always_eventually": f"{p.name} stops holding forever",
            "leads_to": f"after step {trigger_at} (where the trigger holds) {p.name} never holds"}[p.kind]
    if loop:
        trace.loop_start = len(stem) + 1
        reason = (f"{what}: steps {len(stem) + 1}..{len(stem) + len(loop)} repeat forever, a fair loop (each fair "
                  "step is taken in it or not enabled all along it)")
        on_loop = [entry]
        for e in loop:  # walk the loop: each edge leaves the state before it
            on_loop.append(next(v for v, e2 in g.succ[on_loop[-1]] if e2 == e))
        taken = {g.edge_task[e] for e in loop}
        idle = set().union(*(g.enabled[u] for u in on_loop)) - taken
        if idle:
            names = sorted(fairness.describe(g.tasks[t]) for t in idle)
            reason += f"; never taken, as only intermittently enabled: {', '.join(names)}" \
                      " (weak fairness does not force it; fair=\"strong\" would)"
    else:
        enabled = sorted({fairness.describe(g.tasks[g.edge_task[e]]) for _v, e in g.succ[entry]})
        reason = f"{what}: the behaviour may stop after step {len(stem)}, where no fair step is enabled"
        reason += f" (enabled there, none of them fair: {', '.join(enabled)})" if enabled else " (nothing is enabled there)"
        trace.notes.append("the behaviour stops (stutters forever) in the last state: no fair step is enabled there")
        if not fairness.declared():
            reason += "; no action is declared fair: mark the ones that must make progress @action(fair=True)"
    if own:
        reason += f"; {own}"
    trace.reason = reason
    return Violation(p.name, "liveness", reason, trace)


def _trace(model: Any, g: Graph, start: int, edges: list[int], faults: str | None,
           spec_file: str | None) -> tuple[Trace, list[tuple]]:
    steps = [g.edge_move[e] for e in edges]
    trace, states, failed = replay_trace(model, g.init_steps[start].decisions, steps, faults=faults,
                                          spec_file=spec_file)
    if trace is None or failed is not None:
        raise NonDeterminismError("a liveness counterexample could not be replayed from its decisions",
                                  hint="the spec is not deterministic: an action reads something outside the state")
    return trace, states


# ---------------------------------------------------------------------- replaying a saved lasso

def recheck_lasso(model: Any, prop_name: str, states: list[tuple], steps: list[Any],
                  loop_start: int | None) -> tuple[bool, str]:
    """Says whether replayed states still form a fair counterexample to a liveness property.

    `states[0]` is the initial state and `steps[i]` leads from `states[i]` to `states[i + 1]`;
    `loop_start` is the 1-based first step of the loop, or None when the behaviour stops at the end.
    Returns (still violated, why).
    """
    props = {p.name: p for p in getattr(model, "liveness", ())}
    p = props.get(prop_name)
    if p is None:
        return False, f"the spec no longer has a liveness property {prop_name}"
    fairness = Fairness(model)
    holds = _holds(model, p, states)
    n = len(states) - 1
    tail = range(loop_start - 1, n + 1) if loop_start else range(n, n + 1)
    if loop_start and states[-1] != states[loop_start - 1]:
        return False, f"the loop no longer closes: the state after step {n} differs from the one before step {loop_start}"
    if p.kind == "eventually" and any(holds):
        return False, f"{prop_name} now holds at step {holds.index(True)}"
    if p.kind == "always_eventually" and any(holds[i] for i in tail):
        return False, f"{prop_name} now holds inside the loop"
    if p.kind == "leads_to":
        trig = _trigger(model, p, states)
        starts = [i for i in range(n + 1) if trig[i] and not holds[i] and not any(holds[i:])]
        if not starts:
            return False, f"{prop_name} now follows every state where its trigger holds"
    enabled: list[set] = []
    for i in tail:
        enabled.append({fairness.task(st)[0] for _nx, st in model.successors(states[i]) if fairness.task(st)[1]})
    if not loop_start:
        if enabled[0]:
            what = ", ".join(sorted(Fairness.describe(k) for k in enabled[0]))
            return False, f"the behaviour can no longer stop after step {n}: fair steps are enabled there ({what})"
        return True, f"stops after step {n}, where no fair step is enabled, without {prop_name}"
    taken = {fairness.task(s)[0] for s in steps[loop_start - 1:]}
    kinds = {fairness.task(st)[0]: fairness.task(st)[1] for i in tail
             for _nx, st in model.successors(states[i])}
    always = set.intersection(*enabled)
    some = set.union(*enabled)
    starved = [k for k in always if kinds.get(k) == "weak" and k not in taken]
    starved += [k for k in some if kinds.get(k) == "strong" and k not in taken]
    if starved:
        what = ", ".join(sorted(Fairness.describe(k) for k in starved))
        return False, f"the loop is no longer fair: it starves {what}"
    return True, f"loops fairly through steps {loop_start}..{n} without {prop_name}"
