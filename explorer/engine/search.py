"""Explicit-state search: BFS (shortest counterexamples), DFS and random walks, one state at a time.

Counting rules (DESIGN section 5): `distinct_states` counts every distinct reachable state,
initial states included; `transitions` counts every successor computed, duplicates and self-loops
included. `--depth N` explores the states reachable in at most N steps; the successors of states
at depth N are not computed.
"""
from __future__ import annotations

import random
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from ..errors import ActionError
from . import checkpoint
from .fingerprint import Fingerprinter
from .model import Step
from .options import Options
from .paths import fp_path, rebuild
from .result import Result, Violation

ROOT = -1


class _Stop(Exception):
    """Ends the search early (a bound, enough violations, or Ctrl-C)."""


class Search:
    """One run of the explicit engine over a model."""

    def __init__(self, model: Any, opts: Options, *, faults: str | None = None, spec_file: str | None = None,
                 progress: Callable[[str], None] | None = None, memo: Any = None):
        self.model = model
        self.opts = opts
        self.memo = memo  # liveness.memo.Remembering: keeps each expanded state's successors by its fingerprint
        self.faults = faults
        self.spec_file = spec_file
        self.fpr = _fingerprinter(model, opts)
        self.parents: dict[int, int] = {}
        self.result = Result(spec=model.name, params=dict(model.params), faults=faults,
                             options={"depth": opts.depth, "strategy": opts.strategy,
                                      "max_states": opts.max_states, "time_limit": opts.time_limit,
                                      "deadlock": opts.deadlock, "symmetry": opts.symmetry})
        self.result.unchecked = [p.name for p in getattr(model, "liveness", [])]
        self._seen_violation_keys: set[tuple[str, str]] = set()
        self._unwitnessed = set(model.reachables())
        self._progress = progress
        self._t0 = 0.0
        self._next_progress = 0.0
        self._checks = 0  # states expanded: every 256, a place to stop (bounds, Ctrl-C) and checkpoint
        self._news = 0  # new states: every 1024, a progress line (a state with many successors)
        self._stop_reason: str | None = None

    # ------------------------------------------------------------------ entry point
    def run(self) -> Result:
        r = self.result
        self._t0 = time.perf_counter()
        self._next_progress = self._t0 + self.opts.progress_every_s
        self._elapsed_before = 0.0  # search time before the checkpoint this run resumes
        checkpoint.start(self)  # Ctrl-C as a flag, --max-memory, --checkpoint (explorer/engine/checkpoint.py)
        try:
            if self.opts.strategy == "bfs":
                self._bfs()
            elif self.opts.strategy == "dfs":
                self._dfs()
            else:
                self._random()
            r.complete = self.opts.strategy != "random"
        except _Stop:
            r.complete = False
            r.stop_reason = self._stop_reason
            if self._stop_reason == "violations":
                r.stop_reason = None
            if self._saver is not None:
                self._saver.finish(self, r.stop_reason)
        except KeyboardInterrupt:
            r.complete = False
            r.stop_reason = "interrupted"
        except ActionError as e:
            if getattr(e, "trace", None) is None and getattr(e, "_fp", None) is not None:
                e.trace = self._trace_to(e._fp)
            raise
        finally:
            checkpoint.stop(self)
            r.elapsed_s = self._elapsed_before + time.perf_counter() - self._t0
            r.peak_rss_mb = _peak_rss_mb()
            if self._progress and r.elapsed_s > self.opts.progress_every_s:
                self._progress(self._progress_line(final=True))
        if r.complete and not r.depth_bound_hit and not any(v.kind != "unreachable" for v in r.violations):
            for name in sorted(self._unwitnessed):
                r.violations.append(Violation(name, "unreachable",
                                              f"no reachable state satisfies {name}", None))
        elif self._unwitnessed and r.complete:
            for name in sorted(self._unwitnessed):
                r.warnings.append(f"no state within the bounds satisfies reachable property {name}")
        if r.stop_reason == "violations":
            r.stop_reason = None
        return r

    # ------------------------------------------------------------------ shared bookkeeping
    def _on_new(self, state: tuple, fp: int, parent: int, depth: int, last: Step | None | bool = False) -> bool:
        """Records a new distinct state and checks it; returns False when it violates an invariant.

        `last` is the step that reached it (None for an initial state), for the counterexample key.
        """
        r = self.result
        self.parents[fp] = parent
        r.distinct_states += 1
        if depth > r.depth:
            r.depth = depth
        ok = True
        try:
            for name, res in self.model.check_invariants(state):
                if not res.holds:
                    ok = False
                    self._violation(name, "invariant", fp, res.reason, res.read, last=last)
            if self._unwitnessed:
                for name in self.model.check_reachables(state):
                    self._unwitnessed.discard(name)
        except ActionError as e:
            e._fp = fp
            raise
        mx = self.opts.max_states
        if mx is not None and r.distinct_states >= mx:
            self._stop_reason = "max_states"
            raise _Stop()
        self._news += 1
        if self._news & 1023 == 0:
            self._tick(0, boundary=False)
        return ok

    def _tick(self, frontier: int, boundary: bool = True) -> None:
        """Prints progress; where the search can stop cleanly (`boundary`), stops it for a bound or Ctrl-C."""
        now = time.perf_counter()
        tl = self.opts.time_limit
        if boundary and tl is not None and now - self._t0 >= tl:
            self._stop_reason = "time_limit"
            raise _Stop()
        if boundary and self._interrupt.set:
            self._stop_reason = "interrupted"
            raise _Stop()
        if boundary and self._mem is not None and self._mem.over():
            self.result.warnings.append(self._mem.message())
            self._stop_reason = "max_memory"
            raise _Stop()
        if self._progress and now >= self._next_progress:
            self._next_progress = now + self.opts.progress_every_s
            self._progress(self._progress_line(frontier=frontier))

    def _progress_line(self, frontier: int = 0, final: bool = False) -> str:
        r = self.result
        el = time.perf_counter() - self._t0
        rate = r.distinct_states / el if el > 0 else 0
        fr = f"  frontier {frontier:,}" if frontier else ""
        head = "done:" if final else "progress:"
        return (f"{head} {r.distinct_states:,} states  {rate:,.0f} states/s  {r.transitions:,} transitions"
                f"{fr}  depth {r.depth}  {el:.1f}s")

    def _check_step(self, state: tuple, fp: int, nxt: tuple, nfp: int, step: Step, parent_known: bool) -> None:
        m = self.model
        if m.action_invariants:
            for name, res in m.check_action_invariants(state, nxt, step):
                if not res.holds:
                    if nfp not in self.parents:
                        self.parents[nfp] = fp
                    self._violation(name, "action_invariant", nfp, res.reason, res.read, via=(fp, nfp))
        n = self.opts.determinism_sample
        if n and (self.result.distinct_states < 256 or nfp % n == 0) and not parent_known:
            m.check_deterministic(state, step, nxt)

    def _violation(self, prop: str, kind: str, fp: int, reason: str | None, read=(), via=None,
                   last: Step | None | bool = False) -> None:
        """Records a counterexample unless one with the same key (property, last action) is recorded.

        `last` is the step that reached the violating state (None for an initial state) when the caller
        knows it: the key is then checked before the (costly) trace rebuild.
        """
        if last is not False and violation_key(prop, last) in self._seen_violation_keys:
            return
        trace = self._trace_to(fp, via=via)
        key = violation_key(prop, trace.steps[-1] if trace.steps else None)
        if key in self._seen_violation_keys:
            return
        self._seen_violation_keys.add(key)
        trace.violated, trace.kind, trace.reason, trace.read = prop, kind, reason, tuple(read)
        self.result.violations.append(Violation(prop, kind, reason, trace))
        if len(self.result.violations) >= self.opts.max_violations:
            self._stop_reason = "violations"
            raise _Stop()

    def _trace_to(self, fp: int, via=None):
        path = fp_path(self.parents, fp, ROOT)
        if via is not None and path[-2:] != list(via):  # action invariant on a step to a known state
            path = fp_path(self.parents, via[0], ROOT) + [via[1]]
        return rebuild(self.model, self.fpr, path, faults=self.faults, spec_file=self.spec_file)

    def _deadlock(self, state: tuple, fp: int) -> None:
        if self.opts.deadlock and not self.model.is_terminal(state):
            self._violation("deadlock", "deadlock", fp, "no action is enabled", ())

    def _initials(self) -> list[tuple[tuple, int]]:
        out = []
        for state, _step in self.model.initial_states():
            fp = self.fpr.of(state)
            if fp in self.parents:
                continue
            self.result.initial_states += 1
            out.append((state, fp, self._on_new(state, fp, ROOT, 0, None)))
        return out

    # ------------------------------------------------------------------ strategies
    def _expand(self, state: tuple, fp: int):
        try:
            succs = self.model.successors(state)
        except ActionError as e:
            e._fp = fp
            raise
        if self.memo is not None:  # for the liveness graph, under the fingerprint computed already
            self.memo.keep(fp, succs)
        return succs

    def _bfs(self) -> None:
        r = self.result
        limit = self.opts.depth
        if self.opts.resume:  # the rest of a level, the next level found so far, and the level's depth
            frontier, carry, depth = checkpoint.restore_search(self)
        else:
            frontier, carry, depth = [(s, fp) for s, fp, ok in self._initials() if ok], [], 0
        parents = self.parents
        update = self.fpr.update
        while frontier:
            if limit is not None and depth >= limit:
                r.depth_bound_hit = True
                break
            nxt_frontier: list[tuple[tuple, int]] = carry
            carry = []
            for k, (state, fp) in enumerate(frontier):
                succs = self._expand(state, fp)
                r.transitions += len(succs)
                if not succs:
                    self._deadlock(state, fp)
                for nxt, step in succs:
                    nfp = update(fp, state, nxt)
                    known = nfp in parents
                    self._check_step(state, fp, nxt, nfp, step, known)
                    if known:
                        continue
                    if self._on_new(nxt, nfp, fp, depth + 1, step):
                        nxt_frontier.append((nxt, nfp))
                self._checks += 1
                if self._checks & 255 == 0:
                    self._bfs_boundary(frontier, k + 1, nxt_frontier, depth)
            frontier = nxt_frontier
            depth += 1

    def _bfs_boundary(self, frontier: list, pos: int, nxt: list, depth: int) -> None:
        """Between two expanded states: the place to stop, and to write a checkpoint (when due, or at a stop)."""
        try:
            self._tick(len(nxt))
        except _Stop:
            if self._saver is not None:
                self._saver.search_boundary(self, frontier, pos, nxt, depth, force=True)
            raise
        if self._saver is not None:
            self._saver.search_boundary(self, frontier, pos, nxt, depth)

    def _dfs(self) -> None:
        r = self.result
        limit = self.opts.depth
        best_depth: dict[int, int] = {}
        stack = []
        for s, fp, ok in self._initials():
            best_depth[fp] = 0
            if ok:
                stack.append((s, fp, 0))
        stack.reverse()
        parents = self.parents
        update = self.fpr.update
        while stack:
            state, fp, d = stack.pop()
            if d > best_depth.get(fp, d):
                continue  # reached again at a smaller depth since it was pushed
            if limit is not None and d >= limit:
                r.depth_bound_hit = True
                continue
            succs = self._expand(state, fp)
            r.transitions += len(succs)
            if not succs:
                self._deadlock(state, fp)
            pushed = []
            for nxt, step in succs:
                nfp = update(fp, state, nxt)
                known = nfp in parents
                self._check_step(state, fp, nxt, nfp, step, known)
                if known:
                    if limit is not None and d + 1 < best_depth[nfp]:
                        best_depth[nfp] = d + 1  # a shorter way in: explore its successors again
                        parents[nfp] = fp
                        pushed.append((nxt, nfp, d + 1))
                    continue
                best_depth[nfp] = d + 1
                if self._on_new(nxt, nfp, fp, d + 1, step):
                    pushed.append((nxt, nfp, d + 1))
            stack.extend(reversed(pushed))
            self._checks += 1
            if self._checks & 255 == 0:
                self._tick(len(stack))

    def _random(self) -> None:
        r = self.result
        rng = random.Random(self.opts.seed)
        limit = self.opts.depth if self.opts.depth is not None else 100
        inits = self._initials()
        parents = self.parents
        update = self.fpr.update
        if not inits:
            return
        for _walk in range(self.opts.walks):
            state, fp, ok = inits[rng.randrange(len(inits))]
            d = 0
            while ok and d < limit:
                succs = self._expand(state, fp)
                r.transitions += len(succs)
                if not succs:
                    self._deadlock(state, fp)
                    break
                nxt, step = succs[rng.randrange(len(succs))]
                nfp = update(fp, state, nxt)
                known = nfp in parents
                self._check_step(state, fp, nxt, nfp, step, known)
                if not known:
                    ok = self._on_new(nxt, nfp, fp, d + 1, step)
                state, fp, d = nxt, nfp, d + 1
                self._checks += 1
                if self._checks & 255 == 0:
                    self._tick(0)
            if d >= limit:
                r.depth_bound_hit = True


def violation_key(prop: str, last: Any) -> tuple[str, str]:
    """Counterexamples are distinct by property and last action (a Step or TraceStep; None: initial).

    For actors the action includes what was delivered or which timer fired ("deliver Decision"),
    since every delivery is one `deliver` action.
    """
    if last is None:
        return (prop, "init")
    what = last.info.get("msg_type") or last.info.get("timer")
    return (prop, f"{last.action} {what}" if what else last.action)


FIELD_TIMED = "timers"  # the zone field of a timed spec (explorer.timed)


def _fingerprinter(model: Any, opts: Options):
    """A plain Fingerprinter, or with --symmetry one that fingerprints canonical representatives."""
    if not opts.symmetry:
        return Fingerprinter(tuple(model.fields))
    from ..errors import UsageError
    from .symmetry import SymmetricFingerprinter, declares_symmetry, symmetry_groups

    if FIELD_TIMED in getattr(model, "fields", ()) and getattr(model, "interpreted_only", False):
        raise UsageError(f"--symmetry: {model.name} is a timed spec; its zone names timers after node ids, "
                         "which the symmetry reduction does not rename", hint="drop --symmetry")
    if not declares_symmetry(model):
        raise UsageError(f"--symmetry: {model.name} declares no interchangeable ids",
                         hint='declare them: n = param(3, symmetric=True) in a plain spec, '
                         'Participant(symmetric="p") in nodes() of an actor spec')
    return SymmetricFingerprinter(model, symmetry_groups(model))


def _peak_rss_mb() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ru / (1024 * 1024) if sys.platform == "darwin" else ru / 1024
