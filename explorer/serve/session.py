"""`Session`: the interactive explorer's state, without HTTP: one spec, one path, a cursor on it.

The path is a list of states from an initial state, each with the step that reached it; the cursor
is the state the page shows. Taking a step from the middle of the path keeps the rest when it is
the same step and cuts it off otherwise (as a browser's history does). Every method returns plain
JSON-able data; every error a user can cause is an `ExplorerError` (a `StaleState` when the page
acted on a state that is no longer the current one), so the server can answer with a message and
keep running.
"""
from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..api import load_model
from ..dsl.values import show
from ..engine.fingerprint import Fingerprinter
from ..engine.model import Step
from ..engine.options import Options
from ..engine.paths import replay_trace
from ..engine.search import Search
from ..errors import ActionError, ExplorerError, TraceFileError, UsageError
from ..trace.model import Trace, TraceStep, diff

#: Bounds of "search for a violation from here" and "jump to fingerprint" (a page must answer).
SEARCH_MAX_STATES = 200_000
SEARCH_TIME_LIMIT_S = 20.0
HARD_MAX_STATES = 5_000_000
HARD_TIME_LIMIT_S = 300.0
MAX_WALK = 10_000

#: The actor layer's own fields (everything else of an actor spec is `node.field`).
_NET_FIELDS = ("network", "crashed", "partition", "faults_left")
_FAULT_KINDS = ("loss", "dup", "crash", "restart", "partition", "heal")


class StaleState(UsageError):
    """The page acted on a state that is not the current one (another tab, or an old page)."""


class NotFound(UsageError):
    """An unknown endpoint, fingerprint or path index."""


@dataclass
class Entry:
    """One state on the path and the step that led to it (None for the initial state)."""

    state: tuple
    step: Step | None
    fp: int


def fp_hex(fp: int) -> str:
    """Returns a fingerprint as the 16 hex digits the page shows and `jump` accepts."""
    return f"{fp:016x}"


class _FromHere:
    """A model whose only initial state is `state`: the engine's BFS, started from the current state."""

    def __init__(self, model: Any, state: tuple):
        self._model = model
        self._state = state

    def initial_states(self):
        return [(self._state, Step("init", (), "init"))]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


class Session:
    """The explorer behind one `explore serve`: a spec, the path so far and the cursor on it."""

    def __init__(self, spec: str, params: dict[str, Any] | None = None, faults: Any = None):
        self.spec = spec
        self.lock = threading.RLock()
        self._seed = 0
        self._diagram_cache: dict[tuple, dict[str, Any]] = {}
        self._load(params or {}, faults)

    # ------------------------------------------------------------------ model and path
    def _load(self, params: dict[str, Any], faults: Any) -> None:
        model, spec_file = load_model(self.spec, params, faults)
        self.model = model
        self.spec_file = spec_file
        self.fpr = Fingerprinter(tuple(model.fields))
        self.inits = model.initial_states()
        self.blueprint: dict[str, type] = model.blueprint()
        self.actor = bool(self.blueprint) and "network" in model.fields
        self._diagram_cache.clear()
        self._reset(0)

    def configure(self, params: Any = None, faults: Any = None) -> dict[str, Any]:
        """Reloads the spec with other parameters (name -> text, as for --param) and fault budgets; a new path.

        A bad value is a UsageError and leaves everything as it was.
        """
        if params is not None and not (isinstance(params, dict) and all(isinstance(k, str) for k in params)):
            raise UsageError(f"params must be an object of name: value, not {params!r}")
        if faults is not None and not isinstance(faults, str):
            raise UsageError(f"faults must be text such as 'crash=1,loss=1', not {faults!r}")
        if faults and faults.strip() not in ("", "none") and not self.actor:
            raise UsageError(f"{self.model.name} is a plain Spec: faults apply to actor specs (Protocol) only")
        merged = {**dict(self.model.params), **(params or {})}
        old = self.model.describe(), getattr(self.model, "faults_text", None) or "none"
        self._load(merged, faults if faults is not None else getattr(self.model, "faults_text", None))
        out = self.view()
        out["configured"] = {"from": f"{old[0]} with faults {old[1]}",
                             "to": f"{self.model.describe()} with faults {out['spec']['faults']}"}
        return out

    def _entry(self, state: tuple, step: Step | None) -> Entry:
        return Entry(state, step, self.fpr.of(state))

    @property
    def current(self) -> Entry:
        return self.path[self.cursor]

    def reset(self, init: int = 0) -> dict[str, Any]:
        """Starts a new path at initial state number `init`; returns the view."""
        self._reset(init)
        return self.view()

    def _reset(self, init: int) -> None:
        if type(init) is not int or not 0 <= init < len(self.inits):
            raise NotFound(f"there is no initial state {init!r}: this spec has {len(self.inits)} (0..{len(self.inits) - 1})")
        state, _step = self.inits[init]
        self.path = [self._entry(state, None)]
        self.init_index = init
        self.cursor = 0

    def check_state_id(self, state_id: Any) -> None:
        if state_id is None:
            return
        if state_id != fp_hex(self.current.fp):
            raise StaleState(
                f"the page acted on state {state_id}, but the current state is {fp_hex(self.current.fp)}",
                hint="the page was out of date (another tab or an earlier request moved on); it now shows the current state",
            )

    def _push(self, state: tuple, step: Step) -> None:
        """Moves the cursor one step forward along `step`, keeping the rest of the path if it is the same step."""
        nxt = self.cursor + 1
        if nxt < len(self.path):
            e = self.path[nxt]
            if e.step is not None and e.step.action == step.action and tuple(e.step.decisions) == tuple(step.decisions):
                self.cursor = nxt
                return
            del self.path[nxt:]
        self.path.append(self._entry(state, step))
        self.cursor = nxt

    # ------------------------------------------------------------------ stepping
    def step(self, state_id: Any, action: Any, decisions: Any) -> dict[str, Any]:
        """Takes the step `action` with `decisions` from the current state (which must be `state_id`)."""
        self.check_state_id(state_id)
        names = [a.name for a in self.model.actions]
        if not isinstance(action, str) or action not in names:
            raise UsageError(f"unknown action {action!r}: {self.model.name} has {', '.join(names)}",
                             hint="click one of the buttons under 'Enabled actions'")
        if not isinstance(decisions, (list, tuple)) or not all(type(d) is int and d >= 0 for d in decisions):
            raise UsageError(f"decisions must be a list of choice indices (integers >= 0), not {decisions!r}")
        r = self.model.replay(self.current.state, action, tuple(decisions))
        if r is None:
            raise UsageError(f"{action} with decisions {list(decisions)} is not enabled in the current state",
                             hint="only the buttons shown are enabled here")
        self._push(*r)
        return self.view()

    def goto(self, index: Any) -> dict[str, Any]:
        """Moves the cursor to state `index` of the path (0 is the initial state)."""
        if type(index) is not int or not 0 <= index < len(self.path):
            raise NotFound(f"the path has states 0..{len(self.path) - 1}, not {index!r}")
        self.cursor = index
        return self.view()

    def random_walk(self, state_id: Any, steps: Any, seed: Any = None) -> dict[str, Any]:
        """Takes up to `steps` random steps; stops early at a violated invariant or when nothing is enabled."""
        self.check_state_id(state_id)
        if type(steps) is not int or not 1 <= steps <= MAX_WALK:
            raise UsageError(f"steps must be a whole number from 1 to {MAX_WALK}, not {steps!r}")
        if seed is None:
            self._seed += 1
            seed = self._seed
        rng = random.Random(seed)
        taken, why = 0, f"took {steps} steps"
        for _ in range(steps):
            succs = self.model.successors(self.current.state)
            if not succs:
                why = "stopped: no action is enabled"
                break
            nxt, step = succs[rng.randrange(len(succs))]
            del self.path[self.cursor + 1:]
            self._push(nxt, step)
            taken += 1
            checks = self._invariants(nxt)
            bad = [name for name, ok, _r, _read in checks if ok is False]
            raised = [name for name, ok, _r, _read in checks if ok is None]
            if bad or raised:
                why = "stopped: " + "; ".join([f"{', '.join(bad)} is violated"] * bool(bad) +
                                              [f"{', '.join(raised)} raised (see Invariants)"] * bool(raised))
                break
        out = self.view()
        out["walk"] = {"taken": taken, "seed": seed, "outcome": why}
        return out

    # ------------------------------------------------------------------ search
    def search(self, state_id: Any, max_states: Any = None, time_limit: Any = None, depth: Any = None,
               deadlock: Any = False) -> dict[str, Any]:
        """Runs the engine's BFS from the current state; a violation's trace becomes the rest of the path."""
        self.check_state_id(state_id)
        opts = Options(strategy="bfs", backend="interp", deadlock=bool(deadlock),
                       max_states=_bounded("max_states", max_states, SEARCH_MAX_STATES, HARD_MAX_STATES),
                       time_limit=_bounded("time_limit", time_limit, SEARCH_TIME_LIMIT_S, HARD_TIME_LIMIT_S, float),
                       depth=_bounded("depth", depth, None, 10_000))
        start, start_index = self.current, self.cursor
        result = Search(_FromHere(self.model, start.state), opts, faults=getattr(self.model, "faults_text", None),
                        spec_file=self.spec_file).run()
        stats = {k: v for k, v in result.summary().items()
                 if k in ("result", "distinct_states", "transitions", "depth", "complete", "depth_bound_hit",
                          "stop_reason", "elapsed_s", "states_per_s")}
        found = next((v for v in result.violations if v.trace is not None), None)
        notes = [f"from here no reachable state satisfies {v.property}" for v in result.violations
                 if v.kind == "unreachable"]
        notes += result.warnings
        stats["result"] = "violation" if found else ("ok" if result.complete else "incomplete")
        stats["found"] = None
        if found is not None:
            t = found.trace
            del self.path[self.cursor + 1:]
            for s in t.steps:
                r = self.model.replay(self.current.state, s.action, s.decisions)
                if r is None:  # cannot happen for a deterministic spec: the engine just ran these steps
                    raise ActionError(f"the trace found could not be replayed at its step {s.index} ({s.label})")
                self._push(*r)
            stats["found"] = {"property": found.property, "kind": found.kind, "reason": found.reason,
                              "length": t.length, "from_step": start_index}
        stats["notes"] = notes
        out = self.view()
        out["search"] = stats
        return out

    def jump(self, fingerprint: Any, max_states: Any = None, time_limit: Any = None) -> dict[str, Any]:
        """Goes to the state with this fingerprint: on the path if it is there, else by BFS from the initial state."""
        fp = _parse_fp(fingerprint)
        for i, e in enumerate(self.path):
            if e.fp == fp:
                self.cursor = i
                out = self.view()
                out["jump"] = {"found": True, "where": f"step {i} of the path", "searched": 0}
                return out
        limit = _bounded("max_states", max_states, SEARCH_MAX_STATES, HARD_MAX_STATES)
        tl = _bounded("time_limit", time_limit, SEARCH_TIME_LIMIT_S, HARD_TIME_LIMIT_S, float)
        route, searched, complete = self._bfs_to(fp, limit, tl)
        if route is None:
            where = "of every reachable state" if complete else f"in the first {searched:,} states reachable"
            raise NotFound(f"no state has fingerprint {fp_hex(fp)} ({where})",
                           hint="copy a fingerprint shown by this page, or raise the search bounds" if not complete
                           else "copy a fingerprint shown by this page for this spec, parameters and faults")
        init, steps = route
        self._reset(init)
        for action, decisions in steps:
            r = self.model.replay(self.current.state, action, decisions)
            if r is None:
                raise ActionError("the path to the fingerprint could not be replayed (is the spec deterministic?)")
            self._push(*r)
        out = self.view()
        out["jump"] = {"found": True, "where": f"{len(steps)} steps from initial state {init}", "searched": searched}
        return out

    def _bfs_to(self, target: int, max_states: int, time_limit: float):
        """BFS from every initial state; returns ((init index, [(action, decisions)...]) or None, states seen, complete)."""
        t0 = time.perf_counter()
        parents: dict[int, tuple[int, str, tuple] | int] = {}
        frontier = []
        for k, (state, _step) in enumerate(self.inits):
            fp = self.fpr.of(state)
            if fp not in parents:
                parents[fp] = -1 - k
                frontier.append((state, fp))
        found = target if target in parents else None
        while frontier and found is None:
            nxt_frontier = []
            for state, fp in frontier:
                for nxt, step in self.model.successors(state):
                    nfp = self.fpr.update(fp, state, nxt)
                    if nfp in parents:
                        continue
                    parents[nfp] = (fp, step.action, tuple(step.decisions))
                    if nfp == target:
                        found = nfp
                        break
                    nxt_frontier.append((nxt, nfp))
                    if len(parents) >= max_states:
                        return None, len(parents), False
                if found is not None:
                    break
                if time.perf_counter() - t0 > time_limit:
                    return None, len(parents), False
            frontier = nxt_frontier
        if found is None:
            return None, len(parents), True
        steps = []
        p = parents[found]
        while not isinstance(p, int):
            fp, action, decisions = p
            steps.append((action, decisions))
            p = parents[fp]
        steps.reverse()
        return (-1 - p, steps), len(parents), True

    # ------------------------------------------------------------------ saved traces
    def load_trace(self, data: Any, where: str = "the uploaded trace") -> dict[str, Any]:
        """Opens a saved trace (the dict of its JSON file): replays it and makes it the path, cursor at its end.

        All or nothing: a trace that cannot be opened leaves the spec, the path and the cursor as they were.
        """
        before = dict(self.__dict__)
        try:
            return self._load_trace(data, where)
        except BaseException:
            self.__dict__.update(before)
            raise

    def _load_trace(self, data: Any, where: str) -> dict[str, Any]:
        from ..trace.json_io import decode_value as dec
        from ..trace.json_io import validate_trace_json

        validate_trace_json(data, where)
        if data["spec"] != self.model.name:
            raise TraceFileError(f"this is a trace of {data['spec']}, but {self.spec} defines {self.model.name}",
                                 where=where, hint=f"open it with `explore serve SPEC.py --trace ...` for the spec of {data['spec']}")
        params = {k: dec(v) for k, v in data["params"].items()}
        faults = data.get("faults")
        notes = []
        same_faults = (faults or None) == (getattr(self.model, "faults_text", None) or None)
        same_params = all(self.model.params.get(k) == v for k, v in params.items())
        if not (same_faults and same_params):
            old = self.model.describe(), getattr(self.model, "faults_text", None) or "none"
            self._load(params, faults)
            what = [] if same_params else [f"from {old[0]} to the trace's {self.model.describe()}"]
            what += [] if same_faults else [f"from faults {old[1]} to the trace's faults {faults or 'none'}"]
            notes.append("switched " + " and ".join(what))
        steps = [(s["action"], tuple(s["decisions"])) for s in data["steps"]]
        _trace, states, failed_at = replay_trace(self.model, tuple(data.get("init_decisions") or ()), steps)
        if failed_at == 0:
            raise TraceFileError("the trace's initial state is not an initial state of the spec any more", where=where,
                                 hint="the spec changed since the trace was saved; run explore again to get a new one")
        init = next(k for k, (s, st) in enumerate(self.inits) if tuple(st.decisions) == tuple(data.get("init_decisions") or ()))
        self._reset(init)
        for action, decisions in steps[:len(states) - 1]:
            self._push(*self.model.replay(self.current.state, action, decisions))
        if failed_at is not None:
            s = data["steps"][failed_at - 1]
            notes.append(f"the trace diverges at step {failed_at}: {s.get('label', s['action'])} is not enabled any "
                         f"more; opened its first {failed_at - 1} steps")
        prop = data.get("property")
        notes.append(f"opened a trace of {len(states) - 1} steps" + (f" (it violates {prop})" if prop else ""))
        out = self.view()
        out["loaded"] = {"steps": len(states) - 1, "property": prop, "notes": notes}
        return out

    def as_trace(self, upto: int | None = None) -> Trace:
        """Returns the path (up to state `upto`) as a Trace, marked violated when its last state breaks an invariant."""
        m = self.model
        entries = self.path[: (len(self.path) if upto is None else upto + 1)]
        init_step = self.inits[self.init_index][1]
        t = Trace(spec=m.name, spec_file=self.spec_file, params=dict(m.params),
                  faults=getattr(m, "faults_text", None), fields=tuple(m.fields),
                  init_decisions=tuple(init_step.decisions), initial=m.as_dict(entries[0].state))
        for i in range(1, len(entries)):
            e, before = entries[i], m.as_dict(entries[i - 1].state)
            after = m.as_dict(e.state)
            t.steps.append(TraceStep(i, e.step.action, tuple(e.step.decisions), e.step.label, dict(e.step.info), after,
                                     diff(before, after)))
        for name, ok, reason, read in self._invariants(entries[-1].state):
            if ok is False:
                t.violated, t.kind, t.reason, t.read = name, "invariant", reason, read
                break
        return t

    def diagram(self) -> dict[str, Any]:
        """Returns the sequence diagram of the path up to the cursor: DOT text and inline SVG (or why there is none)."""
        from ..trace.dot import MAX_RENDER_STEPS, find_renderer, render_dot, render_svg

        key = (self.model.name, self.model.describe(), tuple(e.fp for e in self.path[: self.cursor + 1]),
               tuple(e.step.decisions if e.step else () for e in self.path[: self.cursor + 1]))
        hit = self._diagram_cache.get(key)
        if hit is not None:
            return hit
        dot = render_dot(self.as_trace(self.cursor))
        svg, why = None, None
        if self.cursor > MAX_RENDER_STEPS:
            why = f"the path has more than {MAX_RENDER_STEPS} steps: too many to lay out; here is the DOT text"
        elif find_renderer() is None:
            why = "no Graphviz renderer found (install graphviz, or pip install graphviz-pure); here is the DOT text"
        else:
            raw = render_svg(dot)
            if raw is None:
                why = "the renderer failed on this chart; here is the DOT text"
            else:
                text = raw.decode("utf-8", "replace")
                svg = text[text.find("<svg"):] if "<svg" in text else None
        out = {"steps": self.cursor, "state_id": fp_hex(self.current.fp), "svg": svg, "dot": dot, "note": why}
        if len(self._diagram_cache) > 64:
            self._diagram_cache.clear()
        self._diagram_cache[key] = out
        return out

    # ------------------------------------------------------------------ the view
    def _invariants(self, state: tuple) -> list[tuple[str, bool | None, str | None, tuple]]:
        """Returns (name, holds or None when it raised, reason or error, fields read) per invariant."""
        out = []
        m = self.model
        for p in m.invariants:
            try:
                res = m.evaluate(p, state)
                out.append((p.name, res.holds, res.reason, tuple(res.read)))
            except ExplorerError as e:
                out.append((p.name, None, e.render(), ()))
        return out

    def _other_properties(self, state: tuple) -> list[dict[str, Any]]:
        """Returns the @reachable and liveness properties with their predicate's value here (a hint, not a check)."""
        m = self.model
        out = []
        for p in list(getattr(m, "reachable_props", [])) + list(getattr(m, "liveness", [])):
            entry = {"name": p.name, "kind": p.kind, "here": None}
            if p.kind in ("reachable", "eventually", "always_eventually"):
                try:
                    entry["here"] = m.evaluate(p, state).holds
                except (ExplorerError, TypeError):
                    pass
            out.append(entry)
        return out

    def view(self) -> dict[str, Any]:
        """Returns everything the page shows for the current state."""
        m, e = self.model, self.current
        before = m.as_dict(self.path[self.cursor - 1].state) if self.cursor > 0 else None
        now = m.as_dict(e.state)
        changed = set(diff(before, now)) if before is not None else set()
        invariants = [{"name": n, "holds": ok, "reason": r, "read": list(read)}
                      for n, ok, r, read in self._invariants(e.state)]
        actions, actions_error = [], None
        try:
            succs = m.successors(e.state)
        except ExplorerError as err:
            succs, actions_error = [], err.render()
        for nxt, step in succs:
            actions.append(self._action(step, self.fpr.update(e.fp, e.state, nxt)))
        return {
            "spec": {"name": m.name, "title": m.describe(), "file": self.spec_file, "actor": self.actor,
                     "params": {k: show(v) for k, v in m.params.items()},
                     "param_defs": self._param_defs(),
                     "faults": getattr(m, "faults_text", None) or "none",
                     "initial_states": len(self.inits)},
            "state_id": fp_hex(e.fp),
            "cursor": self.cursor,
            "init": self.init_index,
            "path": [self._path_item(i, p) for i, p in enumerate(self.path)],
            "state": self._actor_state(now, before, changed) if self.actor else
            {"fields": [{"name": f, "value": show(now[f]), "changed": f in changed} for f in m.fields]},
            "changed": sorted(changed),
            "last_step": self._path_item(self.cursor, e) if self.cursor else None,
            "actions": _group(actions, list(self.blueprint) if self.actor else None),
            "enabled": len(actions),
            "actions_error": actions_error,
            "invariants": invariants,
            "properties": self._other_properties(e.state),
        }

    def _param_defs(self) -> list[dict[str, Any]]:
        """Returns each parameter as the settings form edits it: its value as --param text, choices, help."""
        defs = getattr(self.model.spec_cls, "_param_defs", {}) or {}
        out = []
        for name, v in self.model.params.items():
            p = defs.get(name)
            choices = [c if isinstance(c, str) else show(c) for c in p.choices] if p is not None and p.choices else None
            out.append({"name": name, "text": v if isinstance(v, str) else show(v), "choices": choices,
                        "help": getattr(p, "help", "") or ""})
        return out

    def _path_item(self, i: int, e: Entry) -> dict[str, Any]:
        if e.step is None:
            return {"index": i, "label": "initial state", "kind": "init", "fp": fp_hex(e.fp)}
        return {"index": i, "label": e.step.label, "action": e.step.action, "kind": e.step.info.get("kind"),
                "fp": fp_hex(e.fp)}

    def _action(self, step: Step, fp: int) -> dict[str, Any]:
        info = step.info
        kind = info.get("kind") or "action"
        a = {"action": step.action, "decisions": list(step.decisions), "label": step.label, "kind": kind,
             "node": info.get("node"), "to": fp_hex(fp)}
        if kind in ("deliver", "drop", "dup", "loss"):
            a["text"] = f"{info.get('src')} → {info.get('dst')}  {info.get('msg')}"
            a["detail"] = (f"chose {info['chose']}" if info.get("chose") else None)
            if kind == "drop":
                a["detail"] = f"lost: {info.get('dst')} is down"
            elif kind == "dup":
                a["text"] = "duplicate " + a["text"]
                a["detail"] = "delivered, and a copy stays in flight" + (f"; chose {info['chose']}" if info.get("chose") else "")
            elif kind == "loss":
                a["text"] = "drop " + a["text"]
                a["detail"] = "the network loses it"
        elif kind == "timer":
            a["text"] = f"timer {info.get('timer')}"
            a["detail"] = f"chose {info['chose']}" if info.get("chose") else None
        elif kind in ("crash", "restart"):
            a["text"] = f"{kind} {info.get('node')}"
            a["detail"] = ("loses its non-durable fields" if kind == "crash" else "comes back with its durable fields")
        else:
            a["text"] = step.label
            a["detail"] = None
        return a

    def _actor_state(self, now: dict, before: dict | None, changed: set[str]) -> dict[str, Any]:
        from ..trace.text import messages_of

        crashed = set(now.get("crashed") or ())
        nodes = []
        for nid, cls in self.blueprint.items():
            durable = {f.name for f in getattr(cls, "_fields", ()) if f.durable}
            fields = [{"name": f.split(".", 1)[1], "value": show(now[f]), "changed": f in changed,
                       "durable": f.split(".", 1)[1] in durable}
                      for f in self.model.fields if f.startswith(nid + ".")]
            nodes.append({"id": nid, "cls": cls.__name__, "crashed": nid in crashed, "fields": fields,
                          "changed": any(x["changed"] for x in fields) or ("crashed" in changed and
                                                                          (nid in crashed) != (nid in set(before.get("crashed") or ())))})
        net_now = messages_of(now.get("network")) or Counter()
        net_before = (messages_of(before.get("network")) or Counter()) if before is not None else Counter()
        partition = now.get("partition")
        blocks = [sorted(b) for b in sorted(partition, key=sorted)] if partition else None
        msgs = []
        for (src, dst, msg), count in sorted(net_now.items(), key=lambda kv: (kv[0][0], kv[0][1], show(kv[0][2]))):
            cut = bool(blocks) and not any(src in b and dst in b for b in blocks)
            msgs.append({"src": src, "dst": dst, "msg": msg if isinstance(msg, str) else show(msg), "count": count,
                         "new": before is not None and count > net_before.get((src, dst, msg), 0), "blocked": cut,
                         "to_crashed": dst in crashed})
        others = [{"name": f, "value": show(now[f]), "changed": f in changed} for f in self.model.fields
                  if "." not in f and f not in _NET_FIELDS]
        fl = now.get("faults_left")
        return {"nodes": nodes, "network": msgs, "crashed": sorted(crashed), "partition": blocks,
                "faults_left": {k: v for k, v in fl.items()} if fl else None, "globals": others}


def _group(actions: list[dict[str, Any]], nodes: list[str] | None) -> list[dict[str, Any]]:
    """Groups enabled actions: per node (deliveries to it and its timers, every node even with nothing
    enabled), then faults; a plain spec's per action."""
    actor = nodes is not None
    groups: dict[str, dict[str, Any]] = {n: {"title": n, "group": "node", "node": n, "actions": []}
                                         for n in nodes or ()}
    faults: list[dict[str, Any]] = []
    for a in actions:
        if actor and a["kind"] in _FAULT_KINDS:
            faults.append(a)
            continue
        key = a["node"] if actor and a["node"] else a["action"]
        g = groups.setdefault(key, {"title": key, "group": "node" if actor and a["node"] else "action",
                                    "node": a["node"] if actor else None, "actions": []})
        g["actions"].append(a)
    out = list(groups.values())
    if faults:
        out.append({"title": "faults", "group": "faults", "node": None, "actions": faults})
    return out


def _bounded(name: str, value: Any, default: Any, hard: Any, kind: type = int) -> Any:
    if value is None or value == "":
        return default
    try:
        v = kind(value)
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a number, not {value!r}") from None
    if v <= 0 or v > hard:
        raise UsageError(f"{name}={value!r} must be more than 0 and at most {hard:,}")
    return v


def _parse_fp(text: Any) -> int:
    s = str(text if text is not None else "").strip().lower()
    s = s[2:] if s.startswith("0x") else s
    if not s or len(s) > 16 or any(c not in "0123456789abcdef" for c in s):
        raise UsageError(f"{text!r} is not a fingerprint: expected up to 16 hex digits, as the page shows them")
    return int(s, 16)

