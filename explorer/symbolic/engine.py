"""Bounded model checking and k-induction over the relation derived from the spec's own actions.

BMC unrolls the relation frame by frame (`s0 -> s1 -> ... -> sK`) and asks Z3, at each depth in
turn, whether an invariant can fail there; the first depth where it can is the shortest
counterexample, the same length BFS finds. The Z3 model names the initial state and, per step, the
path taken (action + `choose()` decisions), so the trace is rebuilt by re-running the concrete
actions (`replay_trace`), and `explore replay` can replay the saved file.

k-induction proves the invariants for every depth: the base case is BMC to depth k-1, the step
asks whether k consecutive states satisfying every invariant can step into one that breaks one.
When it can, that is a counterexample to induction (CTI): a trace that starts from an *arbitrary*
state, not one reachable from init, marked as such in every format.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import z3

from ..engine.paths import replay_trace
from ..engine.result import Result, Violation
from ..errors import SpecError
from ..trace.model import Trace, TraceStep, diff
from .relation import SymbolicModel

CTI_NOTE = ("NOT reachable from an initial state: a counterexample to induction. It starts from an arbitrary "
            "state that satisfies every invariant, and its last step breaks one. The invariant may still hold; "
            "strengthen it (add an @invariant that rules the first state out) and run again.")


class Unrolling:
    """Frame variables and the formulas of init, the relation and the invariants over them."""

    def __init__(self, sm: SymbolicModel, tag: str = ""):
        self.sm = sm
        self.tag = tag
        self.frames: list[list[Any]] = []
        self.acts: list[Any] = []
        self.generic = sm.vars
        self.init_var = z3.Int(f"init{tag}")

    def frame(self, i: int) -> list[Any]:
        while len(self.frames) <= i:
            k = len(self.frames)
            self.frames.append([leaf.var(f"@{self.tag}{k}") for leaf in self.sm.layout.leaves])
        return self.frames[i]

    def _sub(self, ex: Any, vs: list[Any]) -> Any:
        return z3.substitute(ex, *zip(self.generic, vs, strict=True))

    def ranges(self, i: int, assumed: bool = True) -> list[Any]:
        return self.sm.ranges(self.frame(i), assumed)

    def init(self) -> Any:
        v0 = self.frame(0)
        inits = self.sm.model.initial_states()
        return z3.Or(*[z3.And(self.init_var == j, self.sm.encode_state(s, v0)) for j, (s, _) in enumerate(inits)])

    def trans(self, i: int, stutter: bool = False) -> Any:
        """The step from frame i to frame i+1; `act@i` names the path taken.

        Functional form: one selector, each path's guard implied by its selector value, and each
        leaf of frame i+1 an if-then-else over the paths that change it (else unchanged). With
        `stutter`, the selector value len(paths) keeps the state as it is (a run may stop early).
        """
        a, b = self.frame(i), self.frame(i + 1)
        paths = self.sm.paths
        if not paths and not stutter:
            return z3.BoolVal(False)
        n = len(paths) + (1 if stutter else 0)
        width = max(1, (n - 1).bit_length())
        act = z3.BitVec(f"act@{self.tag}{i}", width)
        while len(self.acts) <= i:
            self.acts.append(None)
        self.acts[i] = act
        template, nxt, gact = self._template(stutter, width)
        # one substitution per frame (the template is built once over generic variables)
        return z3.substitute(template, *zip(self.generic + nxt + [gact], a + b + [act], strict=True))

    def _template(self, stutter: bool, width: int) -> tuple[Any, list[Any], Any]:
        key = (stutter, id(self.sm.paths), len(self.sm.paths))
        cached = getattr(self, "_templates", {}).get(key)
        if cached is not None:
            return cached
        paths = self.sm.paths
        n = len(paths) + (1 if stutter else 0)
        a = self.generic
        nxt = [leaf.var(f"@{self.tag}next") for leaf in self.sm.layout.leaves]
        act = z3.BitVec(f"act@{self.tag}generic", width)
        cs = []
        if n < (1 << width):
            cs.append(z3.ULT(act, n))
        for p_i, p in enumerate(paths):
            if not z3.is_true(p.guard):
                cs.append(z3.Implies(act == p_i, p.guard))
        for j in range(len(a)):
            val = a[j]
            for p_i in reversed(range(len(paths))):
                u = paths[p_i].updates.get(j)
                if u is not None:
                    val = z3.If(act == p_i, u, val)
            cs.append(nxt[j] == val)
        out = (z3.And(*cs), nxt, act)
        self.__dict__.setdefault("_templates", {})[key] = out
        return out

    def inv(self, name: str, i: int) -> Any:
        return self._sub(self.sm.invariants[name], self.frame(i))

    def all_inv(self, i: int) -> Any:
        return z3.And(*[self.inv(n, i) for n in self.sm.invariants]) if self.sm.invariants else z3.BoolVal(True)


def _new_result(model: Any, engine: str, spec_file: str | None, depth: int | None) -> Result:
    props = [p.name for p in model.action_invariants + model.reachable_props + model.liveness]
    r = Result(spec=model.name, params=dict(model.params), faults=getattr(model, "faults_text", None),
               options={"engine": engine, "depth": depth}, backend="z3")
    r.unchecked = props
    r.initial_states = len(model.initial_states())
    return r


def _concrete_step(model: Any, sm: SymbolicModel, m: z3.ModelRef, un: Unrolling, i: int, state: tuple):
    """Returns the concrete (next state, Step) of step i: the path's own decisions when they replay to
    Z3's next state, else the successor of `state` by the path's action that is Z3's next state.

    A path's decisions index a sparse field's universe where a concrete run indexes the keys present
    (`SymRun.pick_present`: an actor's deliver), so the states, not the indices, identify the step.
    None when no concrete successor matches.
    """
    p = sm.paths[m.eval(un.acts[i], model_completion=True).as_long()]
    target = sm.decode_state(m, un.frame(i + 1))
    got = model.replay(state, p.action, p.choices)
    if got is not None and got[0] == target:
        return got
    return next(((n, st) for n, st in model.successors(state) if st.action == p.action and n == target), None)


def _violated(model: Any, state: tuple) -> tuple[str, str | None, tuple]:
    for name, res in model.check_invariants(state):
        if not res.holds:
            return name, res.reason, res.read
    raise SpecError("internal: Z3 found a state that breaks an invariant, but the spec's invariant holds there",
                    hint="this is a bug in explorer's symbolic translation; please report it")


def _check_agrees(sm: SymbolicModel, m: z3.ModelRef, un: Unrolling, states: list[tuple]) -> None:
    for i, s in enumerate(states):
        if sm.decode_state(m, un.frame(i)) != s:
            raise SpecError(f"internal: the concrete replay of the symbolic trace differs from Z3's state at step {i}",
                            hint="this is a bug in explorer's symbolic translation; please report it")


def bmc(model: Any, depth: int, *, spec_file: str | None = None, sm: SymbolicModel | None = None,
        progress: Callable[[str], None] | None = None, time_limit: float | None = None) -> Result:
    """Checks every invariant in all states reachable in at most `depth` steps, with Z3."""
    t0 = time.perf_counter()
    r = _new_result(model, "bmc", spec_file, depth)
    sm = sm or SymbolicModel(model)
    t_derive = time.perf_counter() - t0
    for _widen in range(8):
        un, s, per_depth, found = _bmc_run(model, sm, r, depth, t0, progress, time_limit)
        if found != "overflow":
            break
        sm.widen()
        r.stop_reason = None
    else:
        raise SpecError("a message count kept exceeding its cap (2^8 times the seeds' largest)",
                        hint="the network may grow without bound; use the explicit engine with --depth")
    if found is not None:
        k, m = found
        trace = _trace_from_model(model, sm, un, m, k, spec_file)
        r.violations.append(Violation(trace.violated, "invariant", trace.reason, trace))
    r.complete = r.stop_reason is None
    r.depth_bound_hit = found is None and r.complete
    r.elapsed_s = time.perf_counter() - t0
    r.symbolic = {"engine": "bmc", "depth_checked": r.depth, "proved_up_to_depth": r.depth if found is None and
                  r.complete else (found[0] - 1 if found else r.depth - 1),
                  "derive_s": round(t_derive, 4), "solve_s_per_depth": per_depth, **sm.describe()}
    return r


def _bmc_run(model: Any, sm: SymbolicModel, r: Result, depth: int, t0: float,
             progress: Callable[[str], None] | None, time_limit: float | None):
    """Asks Z3 depth by depth; returns (unrolling, solver, seconds per depth, found), where found is
    (k, model) for a counterexample at depth k, "overflow" when a counter exceeds its cap, or None."""
    un = Unrolling(sm)
    s = z3.Solver()
    s.add(*un.ranges(0), *sm.param_constraints(), un.init())
    per_depth: list[float] = []
    for k in range(depth + 1):
        over = None
        if k > 0:
            s.add(*un.ranges(k, assumed=False), un.trans(k - 1))
            over = sm.overflow(un.frame(k))
        tk = time.perf_counter()
        bad = z3.Not(un.all_inv(k))
        res = s.check(bad if over is None else z3.Or(bad, over))  # one query: a violation or a count over its cap
        per_depth.append(round(time.perf_counter() - tk, 4))
        r.depth = k
        if progress:
            progress(f"bmc: depth {k} checked ({per_depth[-1]:.2f}s)")
        if res == z3.sat:
            m = s.model()
            if over is not None and z3.is_true(m.eval(over, model_completion=True)):
                return un, s, per_depth, "overflow"
            return un, s, per_depth, (k, m)
        if over is not None:  # unsat: no state reachable in k steps exceeds a cap, so the caps hide nothing
            s.add(*un.ranges(k))
        if res == z3.unknown:
            r.stop_reason = "solver_unknown"
            break
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            r.stop_reason = "time_limit"
            break
    return un, s, per_depth, None


def _trace_from_model(model: Any, sm: SymbolicModel, un: Unrolling, m: z3.ModelRef, k: int,
                      spec_file: str | None) -> Trace:
    init_state, init_step = model.initial_states()[m.eval(un.init_var, model_completion=True).as_long()]
    steps, state = [], init_state
    for i in range(k):
        got = _concrete_step(model, sm, m, un, i, state)
        if got is None:
            raise SpecError(f"internal: step {i + 1} of the symbolic counterexample has no concrete counterpart",
                            hint="this is a bug in explorer's symbolic translation; please report it")
        state, step = got
        steps.append((step.action, tuple(step.decisions)))
    trace, states, failed = replay_trace(model, init_step.decisions, steps, spec_file=spec_file,
                                         faults=getattr(model, "faults_text", None))
    if trace is None or failed is not None:
        raise SpecError(f"internal: the symbolic counterexample does not replay concretely (step {failed})",
                        hint="this is a bug in explorer's symbolic translation; please report it")
    _check_agrees(sm, m, un, states)
    trace.violated, trace.reason, trace.read = _violated(model, states[-1])
    trace.kind = "invariant"
    trace.notes.append(f"found by bounded model checking (Z3) at depth {k}")
    return trace


def induction(model: Any, k_max: int = 1, *, spec_file: str | None = None, sm: SymbolicModel | None = None,
              progress: Callable[[str], None] | None = None) -> Result:
    """Proves the conjunction of the invariants for all depths by k-induction, k = 1..k_max.

    Returns a Result with no violation when it is proved; a BMC counterexample when the base case
    fails; otherwise a `not_inductive` violation whose trace is the counterexample to induction.
    """
    t0 = time.perf_counter()
    r = _new_result(model, "induction", spec_file, k_max)
    sm = sm or SymbolicModel(model)
    base = Unrolling(sm)
    sb = z3.Solver()
    sb.add(*base.ranges(0, assumed=False), *sm.param_constraints(), base.init())
    cti = None
    for k in range(1, k_max + 1):
        # base case: no violation in the first k states (depths 0..k-1)
        if k > 1:
            sb.add(*base.ranges(k - 1, assumed=False), base.trans(k - 2))
        if sb.check(z3.Not(base.all_inv(k - 1))) == z3.sat:
            trace = _trace_from_model(model, sm, base, sb.model(), k - 1, spec_file)
            r.violations.append(Violation(trace.violated, "invariant", trace.reason, trace))
            r.depth = k - 1
            break
        # inductive step: k states satisfying the invariants, then one that does not
        un = Unrolling(sm, tag="i")
        ss = z3.Solver()
        ss.add(*sm.param_constraints())
        for i in range(k + 1):
            ss.add(*un.ranges(i, assumed=False))  # a counter's cap is not inductive
        for i in range(k):
            ss.add(un.all_inv(i), un.trans(i))
        for i in range(k):  # a simple path: k-induction is complete for finite systems with it
            for j in range(i + 1, k + 1):
                ss.add(z3.Or(*[a != b for a, b in zip(un.frame(i), un.frame(j), strict=True)]))
        res = ss.check(z3.Not(un.all_inv(k)))
        if progress:
            progress(f"induction: k={k}: {res}")
        if res == z3.unsat:
            r.depth = k
            cti = None
            break
        if res == z3.unknown:
            r.stop_reason = "solver_unknown"
            break
        cti = (k, ss.model(), un)
        r.depth = k
    if cti is not None and not r.violations:
        k, m, un = cti
        trace = _cti_trace(model, sm, un, m, k, spec_file)
        r.violations.append(Violation(trace.violated, "not_inductive", trace.reason, trace))
    r.complete = r.stop_reason is None and not (cti is not None)
    r.elapsed_s = time.perf_counter() - t0
    r.symbolic = {"engine": "induction", "k": r.depth, "proved": not r.violations and r.complete,
                  "invariants": list(sm.invariants), **sm.describe()}
    return r


def _cti_trace(model: Any, sm: SymbolicModel, un: Unrolling, m: z3.ModelRef, k: int, spec_file: str | None) -> Trace:
    state = sm.decode_state(m, un.frame(0))
    trace = Trace(spec=model.name, spec_file=spec_file, params=dict(model.params),
                  faults=getattr(model, "faults_text", None), fields=tuple(model.fields), init_decisions=(),
                  initial=model.as_dict(state))
    for i in range(1, k + 1):
        got = _concrete_step(model, sm, m, un, i - 1, state)
        if got is None:
            raise SpecError(f"internal: step {i} of a counterexample to induction does not replay concretely",
                            hint="this is a bug in explorer's symbolic translation; please report it")
        nxt, step = got
        before, after = model.as_dict(state), model.as_dict(nxt)
        trace.steps.append(TraceStep(i, step.action, step.decisions, step.label, dict(step.info), after,
                                     diff(before, after)))
        if nxt != sm.decode_state(m, un.frame(i)):
            raise SpecError("internal: the concrete step of a counterexample to induction differs from Z3's",
                            hint="this is a bug in explorer's symbolic translation; please report it")
        state = nxt
    trace.violated, trace.reason, trace.read = _violated(model, state)
    trace.kind = "not_inductive"
    trace.notes.append(CTI_NOTE)
    return trace
