"""Batched BFS: successors of a whole frontier at once, with numpy, from memoised action runs.

An action's effect depends only on the leaves it reads. The first time a combination of read values
(and `choose` decisions) is met, the action's ordinary Python runs once on one representative state
with its reads and writes recorded; the path goes into a decision trie (read a leaf -> branch on
its code; choose -> one branch per option; at the end: disabled, or "write these codes"). Every
later state that reads the same values follows the trie with numpy group-bys, and its successor is
its parent's codes with the recorded writes applied, fingerprint updated by XOR. Properties use the
same tries. Counts, depths and verdicts equal the one-state-at-a-time engine's; the order of new
states is the same too (parent, then action, then decisions), so traces are identical.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..dsl import choice
from ..dsl.choice import Disabled, Oracle
from ..dsl.model import _Ctx
from ..dsl.values import FrozenDict, UnfreezableValue, freeze, thaw
from ..errors import ActionError, SpecError
from .leaves import ABSENT, Leaves, SchemaChanged, Unbatchable
from .model import Step
from .search import ROOT, Search, _Stop

# --------------------------------------------------------------------------- the trie


class _Read:
    __slots__ = ("leaf", "children")

    def __init__(self, leaf: int):
        self.leaf = leaf
        self.children: dict[int, Any] = {}


class _Choose:
    __slots__ = ("children",)

    def __init__(self, n: int):
        self.children: list[Any] = [None] * n


class _Emit:
    __slots__ = ("writes", "step", "action", "id")

    def __init__(self, writes: tuple[tuple[int, int], ...], step: Step, action: int, eid: int):
        self.writes = writes
        self.step = step
        self.action = action
        self.id = eid


class _Verdict:
    __slots__ = ("holds",)

    def __init__(self, holds: bool):
        self.holds = holds


_DISABLED = object()


class _Trie:
    __slots__ = ("root",)

    def __init__(self) -> None:
        self.root: Any = None


class _TrackedDict(dict):
    """A dict field's thawed value that reports which keys a step reads and assigns."""

    __slots__ = ("_rec", "_all", "assigned")

    def __getitem__(self, k):
        self._rec(k)
        return dict.__getitem__(self, k)

    def get(self, k, default=None):
        self._rec(k)
        return dict.get(self, k, default)

    def __contains__(self, k):
        self._rec(k)
        return dict.__contains__(self, k)

    def __setitem__(self, k, v):
        self.assigned.add(k)
        dict.__setitem__(self, k, v)

    def __delitem__(self, k):
        self._rec(k)
        self.assigned.add(k)
        dict.__delitem__(self, k)

    def pop(self, k, *default):
        self._rec(k)
        self.assigned.add(k)
        return dict.pop(self, k, *default)

    def setdefault(self, k, default=None):
        self._rec(k)
        self.assigned.add(k)
        return dict.setdefault(self, k, default)

    def _whole(self):
        self._all()

    def __iter__(self):
        self._all()
        return dict.__iter__(self)

    def __len__(self):
        self._all()
        return dict.__len__(self)

    def keys(self):
        self._all()
        return dict.keys(self)

    def values(self):
        self._all()
        return dict.values(self)

    def items(self):
        self._all()
        return dict.items(self)

    def __eq__(self, other):
        self._all()
        return dict.__eq__(self, other)

    def __ne__(self, other):
        self._all()
        return dict.__ne__(self, other)

    def __bool__(self):
        self._all()
        return dict.__len__(self) > 0

    def copy(self):
        self._all()
        return dict(dict.items(self))

    def __or__(self, other):
        self._all()
        return dict(dict.items(self)) | other

    def __repr__(self):
        self._all()
        return dict.__repr__(self)

    def update(self, *a, **kw):
        self._all()
        before = dict(dict.items(self))
        dict.update(self, *a, **kw)
        self.assigned.update(k for k in dict.keys(self) if k not in before or before[k] is not dict.__getitem__(self, k))

    def __ior__(self, other):
        self.update(other)
        return self

    def clear(self):
        self._all()
        self.assigned.update(dict.keys(self))
        dict.clear(self)

    def popitem(self):
        self._all()
        k, v = dict.popitem(self)
        self.assigned.add(k)
        return k, v

    __hash__ = None  # type: ignore[assignment]


class _Recorder:
    """Records the events of one run: leaf reads and choose decisions, in order."""

    def __init__(self, leaves: Leaves):
        self.leaves = leaves
        self.events: list[tuple] = []
        self.read_leaves: set[int] = set()
        self.read_fields: set[int] = set()

    def read_leaf(self, lid: int) -> None:
        if lid not in self.read_leaves:
            self.read_leaves.add(lid)
            self.events.append(("r", lid))

    def hook(self, i: int, value: Any) -> Any:
        lv = self.leaves
        self.read_fields.add(i)
        if lv.is_dict[i]:
            if type(value) is not FrozenDict:
                raise Unbatchable(f"field {lv.fields[i]} is not always a dict")
            td = _TrackedDict(thaw(value))
            td.assigned = set()
            td._rec = lambda k, i=i: self.read_leaf(lv.leaf(i, k))
            td._all = lambda i=i: [self.read_leaf(x) for x in list(lv.dict_leaves[i])]
            return td
        self.read_leaf(lv.leaf_of[(i, None)])
        return thaw(value)


class _RecordingOracle(Oracle):
    __slots__ = ("rec",)

    def pick(self, options, name):
        i = self.prefix[self.pos] if self.pos < len(self.prefix) else 0
        n = len(options)
        if n == 0:
            raise Disabled()
        self.rec.events.append(("c", n, i))
        return super().pick(options, name)


# --------------------------------------------------------------------------- the engine


class BatchSearch(Search):
    """BFS over whole frontiers; same Result as Search, computed with numpy."""

    def __init__(self, model: Any, opts, **kw: Any):
        super().__init__(model, opts, **kw)
        if getattr(model, "action_invariants", None):
            raise Unbatchable("action invariants are checked by the interpreted engine")
        if opts.strategy != "bfs":
            raise Unbatchable("the batched engine does breadth-first search only")
        self.result.backend = "batch"
        inits = model.initial_states()
        self.leaves = Leaves(tuple(model.fields), inits[0][0], self.fpr)
        self.action_tries = [_Trie() for _ in model.actions]
        self.inv_tries = [_Trie() for _ in model.invariants]
        self.reach_tries = [_Trie() for _ in model.reachable_props]
        self.emits: list[_Emit] = []
        self._emit_index: dict[tuple, _Emit] = {}
        self.level_fps: list[np.ndarray] = []
        self.level_parent: list[np.ndarray] = []
        self._fp_parent_cache: dict[int, int] | None = None

    # ------------------------------------------------------------------ recorded runs
    def _run_tracked(self, fn, state: tuple, ctx_fields, writes: bool, *args):
        """Runs `fn` on every decision path from `state`; returns [(events, outcome)]."""
        model = self.model
        lv = self.leaves
        out = []
        prefix: list[int] | None = []
        while prefix is not None:
            rec = _Recorder(lv)
            ctx = _Ctx(ctx_fields.fields, ctx_fields.field_index, None, rec.hook)
            oracle = _RecordingOracle(prefix)
            oracle.rec = rec
            obj = model._instance(state, ctx)
            choice._current[0] = oracle
            try:
                r = fn(obj, *args)
            except Disabled:
                out.append((rec.events, _DISABLED, oracle, None))
                prefix = oracle.next_prefix()
                continue
            except (SpecError, Unbatchable):
                raise
            except Exception:  # noqa: BLE001 - reproduced below by the interpreted engine for its message
                raise _ReRun() from None
            finally:
                choice._current[0] = None
            out.append((rec.events, (obj, r, rec), oracle, None))
            prefix = oracle.next_prefix()
        return out

    def _writes_of(self, obj, rec: _Recorder, state: tuple, action_name: str) -> tuple[tuple[int, int], ...]:
        lv = self.leaves
        index = self.model._ctx_rw.field_index
        writes: dict[int, int] = {}
        for k, v in obj.__dict__.items():
            if k[0] == "_":
                continue
            i = index.get(k)
            if i is None:
                raise SpecError(f"action {action_name} assigns self.{k}, which is not a field of the state",
                                hint=f"give {k} an initial value in init()")
            if lv.is_dict[i]:
                if type(v) is _TrackedDict:
                    orig = state[i]
                    keys = set(v.assigned)
                    for lid in rec.read_leaves:
                        if lv.leaf_field[lid] == i:
                            keys.add(lv.leaf_key[lid])
                    for key in keys:
                        lid = lv.leaf(i, key)
                        if dict.__contains__(v, key):
                            nv = _freeze(dict.__getitem__(v, key), k)
                            if key in v.assigned or not (key in orig and _same(orig[key], nv)):
                                writes[lid] = lv.code(lid, nv)
                        elif key in v.assigned or key in orig:
                            writes[lid] = ABSENT
                elif isinstance(v, dict):
                    nd = _freeze(v, k)
                    for key in nd:
                        lv.leaf(i, key)
                    for lid in list(lv.dict_leaves[i]):
                        key = lv.leaf_key[lid]
                        writes[lid] = lv.code(lid, nd[key]) if key in nd else ABSENT
                else:
                    raise Unbatchable(f"action {action_name} makes field {k} a {type(v).__name__} (it was a dict)")
            else:
                nv = _freeze(v, k)
                if type(nv) is FrozenDict:
                    raise Unbatchable(f"action {action_name} makes field {k} a dict")
                if i in rec.read_fields and _same(state[i], nv):
                    continue
                lid = lv.leaf_of[(i, None)]
                writes[lid] = lv.code(lid, nv)
        return tuple(sorted(writes.items()))

    def _insert(self, trie: _Trie, events: list[tuple], outcome: Any, codes: np.ndarray) -> None:
        holder, slot = trie, None  # slot None: trie.root; int/code: holder.children[slot]
        node = trie.root
        for ev in events:
            if node is None:
                node = _Read(ev[1]) if ev[0] == "r" else _Choose(ev[1])
                _put(holder, slot, node)
            if ev[0] == "r":
                if type(node) is not _Read or node.leaf != ev[1]:
                    raise _Diverged()
                c = int(codes[ev[1]]) if ev[1] < len(codes) else 0
                holder, slot, node = node, c, node.children.get(c)
            else:
                if type(node) is not _Choose or len(node.children) != ev[1]:
                    raise _Diverged()
                holder, slot, node = node, ev[2], node.children[ev[2]]
        if node is None:
            _put(holder, slot, outcome)

    def _expand_action(self, ai: int, codes: np.ndarray) -> None:
        a = self.model.actions[ai]
        state = self.leaves.decode(codes)
        runs = self._run_tracked(a.fn, state, self.model._ctx_rw, True)
        for events, res, oracle, _ in runs:
            if res is _DISABLED:
                outcome: Any = _DISABLED
            else:
                obj, _r, rec = res
                writes = self._writes_of(obj, rec, state, a.name)
                d = obj.__dict__
                from ..dsl.model import _label

                step = Step(a.name, tuple(oracle.taken), d.get("_step_label") or _label(a.name, oracle.labels),
                            d.get("_step_info") or {})
                outcome = self._emit(writes, step, ai)
            if self.leaves.changed:  # a new leaf: the tries recorded so far may miss it
                raise SchemaChanged()
            self._insert(self.action_tries[ai], events, outcome, codes)

    def _emit(self, writes, step: Step, ai: int) -> _Emit:
        key = (ai, step.decisions, writes, step.label)
        e = self._emit_index.get(key)
        if e is None:
            e = _Emit(writes, step, ai, len(self.emits))
            self.emits.append(e)
            self._emit_index[key] = e
        return e

    def _expand_property(self, trie: _Trie, p, codes: np.ndarray) -> None:
        state = self.leaves.decode(codes)
        runs = self._run_tracked(p.fn, state, self.model._ctx_ro, False)
        for events, res, _oracle, _ in runs:
            if res is _DISABLED:
                raise SpecError(f"{p.kind} {p.name} calls require(): properties cannot be disabled", where=p.where)
            _obj, r, _rec = res
            if r is None:
                raise SpecError(f"{p.kind} {p.name} returned None", where=p.where,
                                hint="return True when it holds, False (or a string saying why) when it does not")
            holds = r is True or (not isinstance(r, str) and bool(r))
            if self.leaves.changed:
                raise SchemaChanged()
            self._insert(trie, events, _Verdict(holds), codes)

    # ------------------------------------------------------------------ evaluating a trie
    def _walk(self, trie: _Trie, idx: np.ndarray, cols: np.ndarray, expand, sink) -> None:
        if trie.root is None:
            expand(cols[:, idx[0]])
        self._walk_node(trie, None, idx, cols, expand, sink)

    def _walk_node(self, holder, slot, idx: np.ndarray, cols: np.ndarray, expand, sink) -> None:
        node = holder.root if slot is None else holder.children[slot]
        if node is None:
            expand(cols[:, idx[0]])
            node = holder.root if slot is None else holder.children[slot]
            if node is None:
                raise _Diverged()
        t = type(node)
        if t is _Read:
            codes = cols[node.leaf, idx]
            ch = node.children
            if len(ch) == 1:
                (c,) = ch
                if (codes == c).all():
                    self._walk_node(node, c, idx, cols, expand, sink)
                    return
            order = np.argsort(codes, kind="stable")
            sc = codes[order]
            cuts = np.flatnonzero(sc[1:] != sc[:-1]) + 1
            starts = [0, *cuts.tolist()]
            ends = [*cuts.tolist(), len(sc)]
            for s, e in zip(starts, ends):
                c = int(sc[s])
                sub = idx[order[s:e]]
                if c not in node.children:
                    expand(cols[:, sub[0]])
                    if c not in node.children:
                        raise _Diverged()
                self._walk_node(node, c, sub, cols, expand, sink)
        elif t is _Choose:
            for i in range(len(node.children)):
                self._walk_node(node, i, idx, cols, expand, sink)
        elif node is _DISABLED:
            return
        else:
            sink(node, idx)

    # ------------------------------------------------------------------ the search
    def _bfs(self) -> None:
        r = self.result
        opts = self.opts
        lv = self.leaves
        inits = []
        for state, _step in self.model.initial_states():
            fp = self.fpr.of(state)
            if fp in self.parents:
                continue
            r.initial_states += 1
            self.parents[fp] = ROOT
            inits.append((state, fp))
        cols = self._encode_states([s for s, _ in inits])
        fps = np.array([fp for _, fp in inits], dtype=np.uint64)
        self.level_fps.append(fps)
        self.level_parent.append(np.full(len(fps), -1, dtype=np.int64))
        visited = np.sort(fps)
        r.distinct_states = len(fps)
        self._acct = (0, 0, None, None)
        ok, cols = self._check_level(cols, fps, 0)
        cols, fps = cols[:, ok], fps[ok]
        frontier_index = np.flatnonzero(ok)  # positions within the level (for parent pointers)
        depth = 0
        while len(fps):
            if opts.depth is not None and depth >= opts.depth:
                r.depth_bound_hit = True
                break
            self._tick(len(fps))
            while True:
                try:
                    cand_fp, cand_parent, cand_emit = self._successors(cols, fps)
                    break
                except SchemaChanged:
                    self._reset_tries()
                    cols = self._widen(cols)
            r.transitions += len(cand_fp)
            if opts.deadlock:
                counts = np.bincount(cand_parent, minlength=len(fps))
                for i in np.flatnonzero(counts == 0).tolist():
                    state = lv.decode(cols[:, i])
                    if not self.model.is_terminal(state):
                        self._violation_at(depth, int(frontier_index[i]), "deadlock", "deadlock",
                                           "no action is enabled")
            # first occurrence of each fingerprint, in (parent, action, decisions) order
            if len(cand_fp) == 0:
                break
            o = np.argsort(cand_fp, kind="stable")
            s = cand_fp[o]
            first = np.ones(len(s), dtype=bool)
            first[1:] = s[1:] != s[:-1]
            keep = np.sort(o[first])
            kfp = cand_fp[keep]
            pos = np.searchsorted(visited, kfp)
            pos[pos == len(visited)] = 0
            new = visited[pos] != kfp if len(visited) else np.ones(len(kfp), bool)
            keep = keep[new]
            kfp = kfp[new]
            mx = opts.max_states
            truncated = False
            if mx is not None and r.distinct_states + len(kfp) > mx:
                n_ok = max(0, mx - r.distinct_states)
                keep, kfp = keep[:n_ok], kfp[:n_ok]
                truncated = True
            if not len(kfp):
                break
            parent = cand_parent[keep]
            emit_ids = cand_emit[keep]
            new_cols = cols[:, parent]
            self._apply_writes(new_cols, emit_ids)
            visited = np.sort(np.concatenate([visited, kfp]), kind="stable")
            self.level_fps.append(kfp)
            self.level_parent.append(frontier_index[parent])
            depth += 1
            r.distinct_states += len(kfp)
            r.depth = depth
            self._acct = (r.distinct_states - len(kfp), r.transitions - len(cand_fp), parent, cand_parent)
            ok, new_cols = self._check_level(new_cols, kfp, depth)
            if truncated:
                self._stop_reason = "max_states"
                raise _Stop()
            cols, fps = new_cols[:, ok], kfp[ok]
            frontier_index = np.flatnonzero(ok)

    def _encode_states(self, states: list[tuple]) -> np.ndarray:
        pairs = [self.leaves.encode(s) for s in states]
        cols = np.zeros((self.leaves.n, len(states)), dtype=np.int32)
        for j, ps in enumerate(pairs):
            for lid, c in ps:
                cols[lid, j] = c
        self.leaves.changed = False
        return cols

    def _widen(self, cols: np.ndarray) -> np.ndarray:
        self.leaves.changed = False
        extra = self.leaves.n - cols.shape[0]
        if extra <= 0:
            return cols
        return np.vstack([cols, np.zeros((extra, cols.shape[1]), dtype=cols.dtype)])

    def _reset_tries(self) -> None:
        self.action_tries = [_Trie() for _ in self.model.actions]
        self.inv_tries = [_Trie() for _ in self.model.invariants]
        self.reach_tries = [_Trie() for _ in self.model.reachable_props]

    def _successors(self, cols: np.ndarray, fps: np.ndarray):
        lv = self.leaves
        parts_fp, parts_parent, parts_emit = [], [], []

        def sink(e: _Emit, idx: np.ndarray) -> None:
            f = fps[idx].copy()
            for lid, code in e.writes:
                h = lv.hashes[lid]
                f ^= h[code] ^ h[cols[lid, idx]] if lid < cols.shape[0] else h[code]
            parts_fp.append(f)
            parts_parent.append(idx)
            parts_emit.append(np.full(len(idx), e.id, dtype=np.int64))

        all_idx = np.arange(len(fps), dtype=np.int64)
        for ai in range(len(self.model.actions)):
            trie = self.action_tries[ai]
            expand = lambda codes, ai=ai: self._expand_action(ai, codes)  # noqa: E731
            try:
                self._walk(trie, all_idx, cols, expand, sink)
            except _ReRun:
                self._reraise_interp(cols, fps)
            if lv.changed:
                raise SchemaChanged()
            self._tick(len(fps))
        if not parts_fp:
            z = np.zeros(0, dtype=np.int64)
            return np.zeros(0, dtype=np.uint64), z, z
        cfp = np.concatenate(parts_fp)
        cpar = np.concatenate(parts_parent)
        cem = np.concatenate(parts_emit)
        # order as the interpreted engine generates: parent, then action, then decisions
        present = np.unique(cem)
        rank_of = np.empty(len(self.emits), dtype=np.int64)
        ordered = sorted(present.tolist(), key=lambda i: (self.emits[i].action, self.emits[i].step.decisions))
        rank_of[ordered] = np.arange(len(ordered))
        key = cpar * len(ordered) + rank_of[cem]
        o = np.argsort(key, kind="stable")
        return cfp[o], cpar[o], cem[o]

    def _apply_writes(self, new_cols: np.ndarray, emit_ids: np.ndarray) -> None:
        o = np.argsort(emit_ids, kind="stable")
        se = emit_ids[o]
        cuts = np.flatnonzero(se[1:] != se[:-1]) + 1
        for s, e in zip([0, *cuts.tolist()], [*cuts.tolist(), len(se)]):
            em = self.emits[int(se[s])]
            if em.writes:
                pos = o[s:e]
                for lid, code in em.writes:
                    new_cols[lid, pos] = code

    def _check_level(self, cols: np.ndarray, fps: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """Checks invariants and reachables on a level; returns (mask of states to expand, cols)."""
        ok = np.ones(len(fps), dtype=bool)
        if not len(fps):
            return ok, cols
        idx = np.arange(len(fps), dtype=np.int64)
        model = self.model
        while True:
            try:
                bad_by_prop = []
                for k, p in enumerate(model.invariants):
                    bad: list[np.ndarray] = []
                    self._walk(self.inv_tries[k], idx, cols,
                               lambda codes, k=k, p=p: self._expand_property(self.inv_tries[k], p, codes),
                               lambda v, i, bad=bad: bad.append(i) if not v.holds else None)
                    bad_by_prop.append((p, np.sort(np.concatenate(bad)) if bad else None))
                if self._unwitnessed:
                    for k, p in enumerate(model.reachable_props):
                        if p.name not in self._unwitnessed:
                            continue
                        hit: list[np.ndarray] = []
                        self._walk(self.reach_tries[k], idx, cols,
                                   lambda codes, k=k, p=p: self._expand_property(self.reach_tries[k], p, codes),
                                   lambda v, i, hit=hit: hit.append(i) if v.holds else None)
                        if hit:
                            self._unwitnessed.discard(p.name)
                break
            except SchemaChanged:
                self._reset_tries()
                cols = self._widen(cols)
        violations = []
        for p, bad in bad_by_prop:
            if bad is not None and len(bad):
                ok[bad] = False
                violations.append((int(bad[0]), p))
        r = self.result
        full = (r.distinct_states, r.transitions)
        for i, p in sorted(violations, key=lambda t: t[0]):
            state = self.leaves.decode(cols[:, i])
            res = dict(model.check_invariants(state))[p.name]
            self._count_as_of(i)
            self._violation_at(depth, i, p.name, "invariant", res.reason, res.read)
        r.distinct_states, r.transitions = full
        return ok, cols

    def _count_as_of(self, i: int) -> None:
        """Sets the counts the one-state-at-a-time engine has when it meets new state i of this level."""
        before, trans_before, parent, cand_parent = self._acct
        r = self.result
        r.distinct_states = before + i + 1
        if parent is not None:
            r.transitions = trans_before + int(np.searchsorted(cand_parent, parent[i], side="right"))

    # ------------------------------------------------------------------ traces and errors
    def _fp_path(self, depth: int, i: int) -> list[int]:
        path = []
        while depth >= 0:
            path.append(int(self.level_fps[depth][i]))
            i = int(self.level_parent[depth][i])
            depth -= 1
        path.reverse()
        return path

    def _violation_at(self, depth: int, i: int, prop: str, kind: str, reason, read=()) -> None:
        path = self._fp_path(depth, i)
        for a, b in zip(path, path[1:]):
            self.parents[b] = a
        self._violation(prop, kind, path[-1], reason, read)

    def _reraise_interp(self, cols: np.ndarray, fps: np.ndarray) -> None:
        """An action raised: find the state with the interpreted engine, for its message and trace."""
        depth = len(self.level_fps) - 1
        for i in range(cols.shape[1]):
            state = self.leaves.decode(cols[:, i])
            try:
                self.model.successors(state)
            except ActionError as e:
                idx = int(np.flatnonzero(self.level_fps[depth] == fps[i])[0])
                path = self._fp_path(depth, idx)
                for a, b in zip(path, path[1:]):
                    self.parents[b] = a
                e._fp = path[-1]
                raise
        raise Unbatchable("an action raised on a recorded run but not when re-run")


class _ReRun(Exception):
    """A recorded run raised: the interpreted engine reproduces the error with its trace."""


class _Diverged(Unbatchable):
    """A recorded path disagrees with an earlier one: the spec reads something the recorder missed."""

    def __init__(self) -> None:
        super().__init__("a step read the state in a way the batched engine could not record")


def _put(holder: Any, slot: Any, node: Any) -> None:
    if slot is None:
        holder.root = node
    else:
        holder.children[slot] = node


def _same(a: Any, b: Any) -> bool:
    return a is b or (type(a) is type(b) and a == b)


def _freeze(v: Any, name: str) -> Any:
    try:
        return freeze(v)
    except UnfreezableValue as e:
        raise SpecError(f"field {name}{e.path} is set to a {type(e.value).__name__}, which cannot be part of a state",
                        hint="use int, str, bool, None, tuple, list, dict, set, an Enum or a frozen dataclass") from None


def run_batch_or_fallback(model: Any, opts, **kw: Any):
    """Runs the batched engine; falls back to the interpreted one when the spec cannot be batched."""
    from .result import Result

    t0 = time.perf_counter()
    try:
        return BatchSearch(model, opts, **kw).run()
    except Unbatchable as e:
        if opts.backend == "batch":
            res: Result = Search(model, opts, **kw).run()
            res.warnings.append(f"batched engine not used: {e}")
            return res
        res = Search(model, opts, **kw).run()
        res.warnings.append(f"batched engine not used: {e} (+{time.perf_counter() - t0:.1f}s)")
        return res
