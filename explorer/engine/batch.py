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

import dataclasses
import itertools
import time
import weakref
from typing import Any

import numpy as np

from ..dsl import choice
from ..dsl.choice import Disabled, Oracle
from ..dsl.model import _Ctx
from ..dsl.values import FrozenDict, UnfreezableValue, freeze, thaw
from ..errors import ActionError, SpecError
from . import checkpoint, diskstore
from .fingerprint import unseen
from .leaves import ABSENT, Leaves, SchemaChanged, Unbatchable
from .model import Step
from .search import ROOT, Search, _Stop, violation_key

# --------------------------------------------------------------------------- the trie


class _Read:
    """Branches on the codes of one or more leaves (several for a whole-dict read)."""

    __slots__ = ("leaves", "children", "cache")

    def __init__(self, leaves: tuple[int, ...]):
        self.leaves = leaves
        self.children: dict[tuple[int, ...], Any] = {}
        self.cache: Any = None  # (bases, n_children, sorted int keys, outcome ids, {int key: child})


class _Choose:
    __slots__ = ("children",)

    def __init__(self, n: int):
        self.children: list[Any] = [None] * n


class _ChooseKey:
    """A `choose_present` over the present keys of dict field `field`: one branch per key (leaf id).

    Each state goes down the branch of every present key that `allowed` admits; its decision is the
    key's rank among them in `order` (computed per state with numpy), substituted at position `pos`
    of the decisions of the step reached below. `allowed` depends only on leaves read above this node.
    """

    __slots__ = ("field", "pos", "allowed", "order", "children", "cache")

    def __init__(self, field: int, pos: int, allowed, order):
        self.field = field
        self.pos = pos
        self.allowed = allowed
        self.order = order
        self.children: dict[int, Any] = {}
        self.cache: Any = None  # (number of leaves, ordered admitted leaf ids)

    def ordered(self, lv: Leaves) -> list[int]:
        """The field's leaves this node admits, in `order` of their keys."""
        c = self.cache
        if c is None or c[0] != lv.n:
            keys = lv.leaf_key
            lids = [x for x in lv.dict_leaves[self.field] if self.allowed is None or self.allowed(keys[x])]
            lids.sort(key=lambda x: self.order(keys[x]))
            c = self.cache = (lv.n, lids)
        return c[1]


class _Emit:
    __slots__ = ("writes", "step", "action", "id")

    def __init__(self, writes: tuple[tuple[int, int], ...], step: Step, action: int, eid: int):
        self.writes = writes
        self.step = step
        self.action = action
        self.id = eid


class _Verdict:
    __slots__ = ("holds", "id")

    def __init__(self, holds: bool):
        self.holds = holds
        self.id = int(holds)


_HOLDS, _FAILS = _Verdict(True), _Verdict(False)


class _Disabled:
    __slots__ = ()
    id = -1


_DISABLED = _Disabled()
_TERMINAL = (_Emit, _Verdict, _Disabled)


class _Trie:
    __slots__ = ("root", "whole")

    def __init__(self) -> None:
        self.root: Any = None
        self.whole: set[int] = set()  # dict fields some entry read or assigned whole (see _forget_stale)


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
        self.state: tuple | None = None  # the state being run (choose_present reads its keys directly)
        self.keyed = False  # a choose_present was recorded as a key choice in this run (one per run)
        self.whole: set[int] = set()  # dict fields read whole (iterated, sized, compared) or assigned whole
        self.tracked: dict[int, _TrackedDict] = {}  # dict field -> the tracked value the run was given

    def read_leaf(self, lid: int) -> None:
        if lid not in self.read_leaves:
            self.read_leaves.add(lid)
            self.events.append(("r", (lid,)))

    def read_many(self, lids: list[int]) -> None:
        new = tuple(x for x in lids if x not in self.read_leaves)
        if new:
            self.read_leaves.update(new)
            self.events.append(("r", new))

    def hook(self, i: int, value: Any) -> Any:
        lv = self.leaves
        self.read_fields.add(i)
        if lv.is_dict[i]:
            if type(value) is not FrozenDict:
                raise Unbatchable(f"field {lv.fields[i]} is not always a dict")
            td = _TrackedDict(thaw(value))
            td.assigned = set()
            td._rec = lambda k, i=i: self.read_leaf(lv.leaf(i, k))
            td._all = lambda i=i: (self.whole.add(i), self.read_many(list(lv.dict_leaves[i])))
            self.tracked[i] = td
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

    def pick_present(self, field, options, order, allowed, option, name):
        """`choose_present`: records a key choice ("k" event) and a read of the chosen key's leaf only."""
        rec = self.rec
        lv = rec.leaves
        i = lv.fields.index(field) if field in lv.fields else -1
        val = rec.state[i] if rec.state is not None and i >= 0 else None
        if rec.keyed or i < 0 or not lv.is_dict[i] or type(val) is not FrozenDict:
            return self.pick(list(options()), name)  # a plain choose: reads what options() reads
        keys = sorted((k for k in val if allowed is None or allowed(k)), key=order)
        j = self.prefix[self.pos] if self.pos < len(self.prefix) else 0
        if j >= len(keys):  # no present key (or a replayed index past the end): disabled
            rec.events.append(("k", i, None, allowed, order))
            raise Disabled()
        lid = lv.leaf(i, keys[j])
        rec.keyed = True
        rec.events.append(("k", i, lid, allowed, order))
        rec.read_leaf(lid)
        return Oracle.pick(self, [option(k, val[k]) if option else k for k in keys], name)


# --------------------------------------------------------------------------- the engine


class BatchSearch(Search):
    """BFS over whole frontiers; same Result as Search, computed with numpy."""

    symmetric = False  # True in SymmetricBatchSearch: fingerprints are canonical (engine/batch_symmetry.py)
    _in_child = False  # a --workers or --cluster worker expanding a range (parallel.py): the parent reports errors

    def __init__(self, model: Any, opts, **kw: Any):
        super().__init__(model, opts, **kw)
        if getattr(model, "action_invariants", None):
            raise Unbatchable("action invariants are checked by the interpreted engine")
        if opts.strategy != "bfs":
            raise Unbatchable("the batched engine does breadth-first search only")
        if opts.symmetry and not self.symmetric:
            raise Unbatchable("symmetry reduction needs SymmetricBatchSearch (engine/batch_symmetry.py)")
        self.result.backend = "batch"
        inits = model.initial_states()
        self.leaves = Leaves(tuple(model.fields), inits[0][0], self.fpr)
        self.action_tries = [_Trie() for _ in model.actions]
        self.inv_tries = [_Trie() for _ in model.invariants]
        self.reach_tries = [_Trie() for _ in model.reachable_props]
        self.emits: list[_Emit] = []
        self._emit_index: dict[tuple, _Emit] = {}
        self._ranked_index: dict[tuple[_Emit, int, int], _Emit] = {}  # (step, position, rank) -> step
        self._ranked_tables: tuple[list, dict[int, np.ndarray]] | None = None  # (steps, {position: table})
        self._first_decision: int | None = None  # set while one key's paths of an action are recorded
        self._expand_pos = 0  # the position (in the columns walked) of the state being expanded
        self.level_parent: list[np.ndarray] = []  # per level: index of each state's parent in the level before
        self.level_emit: list[np.ndarray] = []  # per level: id of the step (an _Emit) that made each state
        self._init_cols: np.ndarray | None = None
        self._frontier: tuple | None = None  # (cols, fps, level positions) being expanded
        self._succ_per_state = 16.0  # successors per state seen so far: sizes the chunks
        self._rank_cache: tuple[np.ndarray, np.ndarray] | None = None
        self._shape_cache: tuple | None = None

    # ------------------------------------------------------------------ recorded runs
    def _run_tracked(self, fn, state: tuple, ctx_fields, writes: bool, *args, first: int | None = None):
        """Runs `fn` on every decision path from `state` (whose first decision is `first`, if given);
        returns [(events, outcome)]."""
        model = self.model
        lv = self.leaves
        out = []
        prefix: list[int] | None = [] if first is None else [first]
        while prefix is not None:
            rec = _Recorder(lv)
            ctx = _Ctx(ctx_fields.fields, ctx_fields.field_index, None, rec.hook)
            oracle = _RecordingOracle(prefix)
            oracle.rec = rec
            rec.state = state
            obj = model._instance(state, ctx)
            choice._current[0] = oracle
            try:
                r = fn(obj, *args)
            except Disabled:
                out.append((rec.events, _DISABLED, oracle, rec))
                prefix = _next_within(oracle, first)
                continue
            except ActionError:  # e.g. a message no handler takes: the interpreted run gives its trace
                raise _ReRun() from None
            except (SpecError, Unbatchable):
                raise
            except Exception:  # noqa: BLE001 - reproduced below by the interpreted engine for its message
                raise _ReRun() from None
            finally:
                choice._current[0] = None
            out.append((rec.events, (obj, r, rec), oracle, rec))
            prefix = _next_within(oracle, first)
        return out

    def _writes_of(self, obj, rec: _Recorder, state: tuple, action_name: str,
                   where: str | None = None) -> tuple[tuple[int, int], ...]:
        lv = self.leaves
        index = self.model._ctx_rw.field_index
        writes: dict[int, int] = {}
        for k, v in obj.__dict__.items():
            if k[0] == "_":
                continue
            i = index.get(k)
            if i is None:
                raise SpecError(f"action {action_name} assigns self.{k}, which is not a field of the state",
                                where=where, hint=f"give {k} an initial value in init() (a parameter cannot be assigned)")
            if lv.is_dict[i]:
                if type(v) is _TrackedDict and rec.tracked.get(i) is v:  # its own value, changed key by key
                    orig = state[i]
                    keys = set(v.assigned)
                    for lid in rec.read_leaves:
                        if lv.leaf_field[lid] == i:
                            keys.add(lv.leaf_key[lid])
                    for key in keys:
                        lid = lv.leaf(i, key)
                        if dict.__contains__(v, key):
                            nv = self._freeze(dict.__getitem__(v, key), k, action_name)
                            if key in v.assigned or not (key in orig and _same(orig[key], nv)):
                                writes[lid] = lv.code(lid, nv)
                        elif key in v.assigned or key in orig:
                            writes[lid] = ABSENT
                elif isinstance(v, dict):  # a new dict, or another field's (`self.a = self.b`: read whole)
                    rec.whole.add(i)  # writes the leaves known now: stale once the field has a new key
                    if type(v) is _TrackedDict:
                        v = dict(v.items())  # records the other field read whole
                    nd = self._freeze(v, k, action_name)
                    for key in nd:
                        lv.leaf(i, key)
                    for lid in list(lv.dict_leaves[i]):
                        key = lv.leaf_key[lid]
                        writes[lid] = lv.code(lid, nd[key]) if key in nd else ABSENT
                else:
                    raise Unbatchable(f"action {action_name} makes field {k} a {type(v).__name__} (it was a dict)")
            else:
                nv = self._freeze(v, k, action_name)
                if type(nv) is FrozenDict:
                    raise Unbatchable(f"action {action_name} makes field {k} a dict")
                if i in rec.read_fields and _same(state[i], nv):
                    continue
                lid = lv.leaf_of[(i, None)]
                writes[lid] = lv.code(lid, nv)
        return tuple(sorted(writes.items()))

    def _freeze(self, v: Any, name: str, action_name: str) -> Any:
        try:
            return freeze(v)
        except UnfreezableValue:
            return self.model._freeze_field(name, v, f"action {action_name}")

    def _insert(self, trie: _Trie, events: list[tuple], outcome: Any, codes: np.ndarray) -> None:
        holder, slot = trie, None  # slot None: trie.root; else holder.children[slot]
        node = trie.root
        n = len(codes)
        pos = 0  # decisions so far
        kpos = None  # the position of a key choice's decision (its rank differs between states)
        for ev in events:
            if ev[0] == "k":
                if node is None:
                    node = _ChooseKey(ev[1], pos, ev[3], ev[4])
                    _put(holder, slot, node)
                if type(node) is not _ChooseKey or node.field != ev[1] or node.pos != pos:
                    raise _Diverged()
                kpos = pos
                pos += 1
                if ev[2] is None:  # no key to choose: states here with none have no successor
                    if outcome is not _DISABLED:
                        raise _Diverged()
                    return
                holder, slot, node = node, ev[2], node.children.get(ev[2])
                continue
            if node is None:
                node = _Read(ev[1]) if ev[0] == "r" else _Choose(ev[1])
                _put(holder, slot, node)
            if ev[0] == "r":
                if type(node) is not _Read or node.leaves != ev[1]:
                    raise _Diverged()
                key = tuple(int(codes[x]) if x < n else 0 for x in ev[1])
                holder, slot, node = node, key, node.children.get(key)
            else:
                if type(node) is not _Choose or len(node.children) != ev[1]:
                    raise _Diverged()
                pos += 1
                holder, slot, node = node, ev[2], node.children[ev[2]]
        if node is None:
            _put(holder, slot, outcome)
        elif node is not outcome and not (type(node) is _Verdict and type(outcome) is _Verdict
                                          and node.holds == outcome.holds):
            if kpos is None or type(node) is not _Emit or type(outcome) is not _Emit \
                    or self._ranked_one(node.id, kpos, outcome.step.decisions[kpos]) != outcome.id:
                raise _Diverged()

    def _expand_action(self, ai: int, codes: np.ndarray) -> None:
        a = self.model.actions[ai]
        state = self.leaves.decode(codes)
        runs = self._run_tracked(a.fn, state, self.model._ctx_rw, True, first=self._first_decision)
        recorded = []
        for events, res, oracle, _ in runs:
            if res is _DISABLED:
                outcome: Any = _DISABLED
            else:
                obj, _r, rec = res
                writes = self._writes_of(obj, rec, state, a.name, a.where)
                d = obj.__dict__
                from ..dsl.model import _label

                step = Step(a.name, tuple(oracle.taken), d.get("_step_label") or _label(a.name, oracle.labels),
                            d.get("_step_info") or {})
                outcome = self._emit(writes, step, ai)
            recorded.append((events, outcome))
        self._cross_check(a, state, codes, [o for _, o in recorded if o is not _DISABLED])
        if self.leaves.changed:  # a new leaf: the tries recorded so far may miss it
            raise SchemaChanged()
        trie = self.action_tries[ai]
        for _events, _res, _oracle, rec in runs:
            trie.whole |= rec.whole
        for events, outcome in recorded:
            self._insert(trie, events, outcome, codes)

    def _cross_check(self, a, state: tuple, codes: np.ndarray, emits: list[_Emit]) -> None:
        """Compares a recorded expansion with a plain run of the action (catches non-determinism).

        Each combination of read values is expanded once, so this costs one more run per memo entry.
        """
        plain = self._plain_successors(a, state)
        lv = self.leaves
        mine = []
        for e in emits:
            col = codes.astype(np.int64)  # new codes may not fit the frontier's small type
            if lv.n > len(col):
                col = np.concatenate([col, np.zeros(lv.n - len(col), dtype=col.dtype)])
            for lid, code in e.writes:
                col[lid] = code
            mine.append((e.step.decisions, lv.decode(col)))
        theirs = [(st.decisions, nxt) for nxt, st in plain]
        if mine == theirs:
            return
        again = [(st.decisions, nxt) for nxt, st in self._plain_successors(a, state)]
        if again != theirs or not _same_runs(theirs, mine):
            step = plain[0][1] if plain else Step(a.name, (), a.name)
            from ..errors import NonDeterminismError

            if again != theirs:
                raise NonDeterminismError(
                    f"action {a.name} is not deterministic: the same step from the same state gave different "
                    "results when run twice", where=a.where,
                    hint="an action may only read the state and its choose() values: not the time, random "
                    "numbers, globals, or the iteration order of a plain set of strings")
            raise Unbatchable(f"the recorded run of {step.label} differs from a plain run")

    def _plain_successors(self, a, state: tuple) -> list:
        """The interpreted successors of one action (those whose first decision is `_first_decision`, if set)."""
        first = self._first_decision
        if first is None:
            return self.model._successors_of(a, state, [])
        out = []
        prefix: list[int] | None = [first]
        while prefix is not None:
            nxt, step, oracle = self.model._run(a, state, prefix)
            if nxt is not None:
                out.append((nxt, step))
            prefix = _next_within(oracle, first)
        return out

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
        for events, res, _oracle, rec in runs:
            trie.whole |= rec.whole
            if res is _DISABLED:
                raise SpecError(f"{p.kind} {p.name} calls require(): properties cannot be disabled", where=p.where)
            _obj, r, _rec = res
            if r is None:
                raise SpecError(f"{p.kind} {p.name} returned None", where=p.where,
                                hint="return True when it holds, False (or a string saying why) when it does not")
            holds = r is True or (not isinstance(r, str) and bool(r))
            if self.leaves.changed:
                raise SchemaChanged()
            self._insert(trie, events, _HOLDS if holds else _FAILS, codes)

    # ------------------------------------------------------------------ evaluating a trie
    def _walk(self, trie: _Trie, idx: np.ndarray, cols: np.ndarray, expand, sink) -> None:
        """Sends every state of `idx` down the trie; sink(idx_subset, outcome ids) at the ends."""
        if trie.root is None:
            self._expand_pos = int(idx[0])
            expand(cols[:, idx[0]])
            if trie.root is None:
                raise _Diverged()
        self._eval(trie.root, idx, cols, expand, sink)

    def _eval(self, node: Any, idx: np.ndarray, cols: np.ndarray, expand, sink) -> None:
        t = type(node)
        if t is _Choose:
            for child in node.children:
                self._eval(child, idx, cols, expand, sink)
        elif t is _Read:
            self._eval_read(node, idx, cols, expand, sink)
        elif t is _ChooseKey:
            self._eval_key(node, idx, cols, expand, sink)
        elif t is not _Disabled:
            sink(idx, np.full(len(idx), node.id, dtype=np.int64))

    def _eval_key(self, node: _ChooseKey, idx: np.ndarray, cols: np.ndarray, expand, sink) -> None:
        """Sends each state down the branch of every admitted key it has, with that key's rank as its decision."""
        n = cols.shape[0]
        lids = [x for x in node.ordered(self.leaves) if x < n]  # leaves past the columns: absent everywhere
        if not lids or not len(idx):
            return
        rows = cols[np.array(lids, dtype=np.int64)]
        present = (rows if _every(idx, cols) else rows.take(idx, axis=1)) != 0
        seen = np.zeros(len(idx), dtype=np.int16 if len(lids) < 1 << 15 else np.int64)  # admitted keys so far
        rank_at = np.zeros(cols.shape[1], dtype=np.int64)  # the key being walked: its rank, by state position
        for j, lid in enumerate(lids):
            row = present[j]
            sel = np.flatnonzero(row)
            if not len(sel):
                continue
            sub = idx[sel]
            rank_at[sub] = seen[sel]  # reused by every key: each key's walk ends before the next one's starts
            seen += row

            def only_this_key(codes, rank_at=rank_at, pos=node.pos):
                """Records only the paths through this key (when its choice is the action's first decision)."""
                self._first_decision = int(rank_at[self._expand_pos]) if pos == 0 else None
                try:
                    expand(codes)
                finally:
                    self._first_decision = None

            child = node.children.get(lid)
            if child is None:
                self._expand_pos = int(sub[0])
                only_this_key(cols[:, sub[0]])
                child = node.children.get(lid)
                if child is None:
                    raise _Diverged()
            self._eval(child, sub, cols, only_this_key,
                       lambda i, ids, pos=node.pos, rank_at=rank_at: sink(i, self._ranked(ids, pos, rank_at[i])))

    _RANKED_MAX = 1 << 22  # entries of a dense (step, rank) -> step table per decision position, at most

    def _ranked(self, ids: np.ndarray, pos: int, ranks: np.ndarray) -> np.ndarray:
        """The steps `ids` (recorded on some state) with decision `pos` set to each state's own rank.

        A dense table per position maps (step, rank) to the step (filled by `_ranked_one` on first use),
        so that a walk's many calls cost two gathers rather than a sort each."""
        if not len(ids):
            return ids
        c = self._ranked_tables
        if c is None or c[0] is not self.emits:  # a restored or re-synced step list starts afresh
            c = self._ranked_tables = (self.emits, {})
        need_e, need_r = int(ids.max()) + 1, int(ranks.max()) + 1
        tab = c[1].get(pos)
        if tab is None or tab.shape[0] < need_e or tab.shape[1] < need_r:
            shape = (max(need_e, len(self.emits), 0 if tab is None else tab.shape[0]),
                     max(need_r, 8, 0 if tab is None else tab.shape[1]))
            if shape[0] * shape[1] > self._RANKED_MAX:
                return self._ranked_sorted(ids, pos, ranks)
            new = np.full(shape, -1, dtype=np.int64)
            if tab is not None:
                new[:tab.shape[0], :tab.shape[1]] = tab
            tab = c[1][pos] = new
        flat = ids.astype(np.int64) * tab.shape[1] + ranks
        out = tab.ravel()[flat]
        miss = np.flatnonzero(out < 0)
        if len(miss):
            for f in np.unique(flat[miss]).tolist():
                tab.flat[f] = self._ranked_one(f // tab.shape[1], pos, f % tab.shape[1])
            out[miss] = tab.ravel()[flat[miss]]
        return out

    def _ranked_sorted(self, ids: np.ndarray, pos: int, ranks: np.ndarray) -> np.ndarray:
        pair = ids.astype(np.int64) * (1 << 20) + ranks
        u, inv = np.unique(pair, return_inverse=True)
        out = np.array([self._ranked_one(p >> 20, pos, p & ((1 << 20) - 1)) for p in u.tolist()], dtype=np.int64)
        return out[inv.reshape(-1)]

    def _ranked_one(self, eid: int, pos: int, rank: int) -> int:
        e = self.emits[eid]
        key = (e, pos, rank)  # keyed by the step object: a restored or re-synced step list starts afresh
        got = self._ranked_index.get(key)
        if got is None:
            dec = e.step.decisions
            if dec[pos] == rank:
                got = e
            else:
                step = dataclasses.replace(e.step, decisions=dec[:pos] + (rank,) + dec[pos + 1:])
                got = self._emit(e.writes, step, e.action)
            self._ranked_index[key] = got
        return got.id

    _LUT_MAX = 1 << 22  # largest dense lookup table per trie node (entries)

    def _keys(self, node: _Read, idx: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, tuple[int, ...], int] | None:
        """Combines the codes of the node's leaves into one integer key per state (mixed radix)."""
        lv = self.leaves
        lids = node.leaves
        bases = tuple(len(lv.values[x]) for x in lids)
        total = 1
        for b in bases:
            total *= b
        if total >= 1 << 62:
            return None
        n = cols.shape[0]
        if len(lids) == 1:
            x = lids[0]
            # cols[x][idx], not cols[x, idx]: a row view then a 1-D gather is 3-5x faster in numpy
            keys = (cols[x] if _every(idx, cols) else cols[x][idx]) if x < n else np.zeros(len(idx), dtype=cols.dtype)
            return keys, bases, total
        dt = np.int32 if total < 1 << 31 else np.int64
        keys = np.zeros(len(idx), dtype=dt)
        mult = 1
        for x, b in zip(lids, bases, strict=True):
            if x < n:
                keys += cols[x][idx].astype(dt) * dt(mult)
            mult *= b
        return keys, bases, total

    def _table(self, node: _Read, bases: tuple[int, ...], total: int):
        """Returns (lookup of outcome id by key: -3 unknown, -2 inner node; {key: inner node})."""
        c = node.cache
        if c is not None and c[0] == bases and c[1] == len(node.children):
            return c[2], c[3]
        dense = total <= self._LUT_MAX
        items: Any = node.children.items()
        if c is not None and c[0] == bases and dense and isinstance(c[2], np.ndarray):
            # entries learned since: children only grow, in insertion order, so add just the new ones
            # (a full rebuild per learned entry made each small level cost milliseconds per trie node)
            lut, inner, items = c[2], c[3], itertools.islice(items, c[1], None)
        else:
            lut = np.full(total, -3, dtype=np.int64) if dense else {}
            inner = {}
        for key, child in items:
            k, mult = 0, 1
            for code, b in zip(key, bases, strict=True):
                k += code * mult
                mult *= b
            if isinstance(child, _TERMINAL):
                lut[k] = child.id
            else:
                lut[k] = -2
                inner[k] = child
        if not dense:
            ks = np.array(sorted(lut), dtype=np.int64)
            lut = (ks, np.array([lut[k] for k in ks.tolist()], dtype=np.int64))
        node.cache = (bases, len(node.children), lut, inner)
        return lut, inner

    @staticmethod
    def _lookup(lut: Any, keys: np.ndarray) -> np.ndarray:
        if isinstance(lut, np.ndarray):
            return lut.take(keys)  # take: 2-3x faster than lut[keys] with small unsigned keys
        ks, vals = lut
        if not len(ks):
            return np.full(len(keys), -3, dtype=np.int64)
        pos = np.searchsorted(ks, keys)
        pos[pos >= len(ks)] = 0
        return np.where(ks[pos] == keys, vals[pos], -3)

    def _eval_read(self, node: _Read, idx: np.ndarray, cols: np.ndarray, expand, sink) -> None:
        if not len(idx):
            return
        for _attempt in range(4):
            kb = self._keys(node, idx, cols)
            if kb is None:  # too many combinations for one integer key: group by columns
                return self._eval_read_slow(node, idx, cols, expand, sink)
            keys, bases, total = kb
            lut, inner = self._table(node, bases, total)
            ids = self._lookup(lut, keys)
            low = int(ids.min())  # -3 unknown < -2 inner node < 0 <= an outcome
            if low != -3:
                break
            unknown = np.flatnonzero(ids == -3)
            ukeys, first = np.unique(keys[unknown], return_index=True)
            for j in first.tolist():
                self._expand_pos = int(idx[unknown[j]])
                expand(cols[:, idx[unknown[j]]])
        else:
            raise _Diverged()
        if low >= 0:  # every state ends here
            sink(idx, ids)
            return
        if int(ids.max()) == -2:  # every state reads on (a chain of reads): nothing to split off
            sk, sidx = keys, idx
        else:
            term = ids >= 0
            if term.any():
                sink(idx[term], ids[term])
            sub = np.flatnonzero(ids == -2)
            if not len(sub):
                return
            sk, sidx = keys[sub], idx[sub]
        lo = sk.min()
        if lo == sk.max():
            self._eval(inner[int(lo)], sidx, cols, expand, sink)
            return
        if len(inner) <= 4:  # a few branches: a mask each costs less than a sort
            for k, child in inner.items():
                sel = np.flatnonzero(sk == k)
                if len(sel):
                    self._eval(child, sidx[sel], cols, expand, sink)
            return
        if total <= 1 << 16 and sk.dtype.itemsize > 2:
            sk = sk.astype(np.uint16)  # a radix sort
        order = np.argsort(sk, kind="stable")  # one sort gives the groups and their keys (no np.unique)
        sorted_keys = sk[order]
        starts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
        ukeys = sorted_keys[starts]
        ends = np.append(starts[1:], len(sorted_keys))
        for k, a, b in zip(ukeys.tolist(), starts.tolist(), ends.tolist(), strict=True):
            self._eval(inner[k], sidx[order[a:b]], cols, expand, sink)

    def _eval_read_slow(self, node: _Read, idx: np.ndarray, cols: np.ndarray, expand, sink) -> None:
        n = cols.shape[0]
        sub = np.stack([cols[x, idx] if x < n else np.zeros(len(idx), dtype=cols.dtype) for x in node.leaves])
        uniq, inv = np.unique(sub, axis=1, return_inverse=True)
        inv = inv.reshape(-1)
        for g in range(uniq.shape[1]):
            members = idx[inv == g]
            key = tuple(int(c) for c in uniq[:, g])
            child = node.children.get(key)
            if child is None:
                self._expand_pos = int(members[0])
                expand(cols[:, members[0]])
                child = node.children.get(key)
                if child is None:
                    raise _Diverged()
            self._eval(child, members, cols, expand, sink)

    # ------------------------------------------------------------------ the search
    def run(self):
        with diskstore.attached(self):  # --disk DIR: visited set and level arrays in files (engine/diskstore.py)
            return super().run()

    # Memory (issue 7): what a visited state costs after its level is done is its fingerprint in
    # the sorted `visited` array (8 B), its parent's index within the previous level (uint32, 4 B)
    # and the id of the step that made it (uint16, or uint32 past 65,535 distinct steps): 14-16 B.
    # Fingerprints of a path are recomputed from the initial state's codes and the steps' writes.
    # Frontier columns use the smallest unsigned type that holds every code (uint8 for most specs),
    # and successors are computed a chunk of the frontier at a time so candidate arrays stay small.
    _CHUNK_CANDIDATES = 1 << 21  # successors computed at once (about 60 B each while deduplicated)
    _MIN_CHUNK = 1024  # frontier states per chunk, at least

    def _bfs(self) -> None:
        if self.opts.resume:  # from a checkpoint's level start instead of the initial states
            return self._levels(*checkpoint.restore_batch(self))
        r = self.result
        opts = self.opts
        inits = []
        for state, _step in self.model.initial_states():
            fp = self.fpr.of(state)
            if fp in self.parents:
                continue
            r.initial_states += 1
            self.parents[fp] = ROOT
            inits.append((state, fp))
        mx = opts.max_states
        if mx is not None and len(inits) >= mx:
            inits = inits[:mx]
            r.initial_states = len(inits)
            self.parents = {fp: ROOT for _, fp in inits}
        cols = self._encode_states([s for s, _ in inits])
        fps = np.array([fp for _, fp in inits], dtype=np.uint64)
        self._init_cols = cols.copy()
        self.level_parent.append(np.zeros(len(fps), dtype=np.uint32))
        self.level_emit.append(np.zeros(len(fps), dtype=np.uint16))
        visited = diskstore.visited_set(self, np.sort(fps))  # the sorted array, or its file under --disk
        r.distinct_states = len(fps)
        self._acct = (0, 0, None, None)
        ok, cols = self._check_level(cols, fps, 0)
        if mx is not None and r.distinct_states >= mx:
            self._stop_reason = "max_states"
            raise _Stop()
        frontier_index = np.flatnonzero(ok)  # positions within the level (for parent pointers)
        if not ok.all():
            cols, fps = cols[:, ok], fps[ok]
        self._levels(cols, fps, frontier_index, visited, 0)

    def _levels(self, cols: np.ndarray, fps: np.ndarray, frontier_index: np.ndarray, visited: np.ndarray,
                depth: int) -> None:
        """Expands level after level from a frontier: the initial states', or a checkpoint's."""
        r = self.result
        opts = self.opts
        lv = self.leaves
        mx = opts.max_states
        while len(fps):
            if opts.depth is not None and depth >= opts.depth:
                r.depth_bound_hit = True
                break
            checkpoint.level_start(self, cols, fps, frontier_index, visited, depth)  # when due; --max-memory
            self._tick(len(fps))
            self._frontier = (cols, fps, frontier_index)
            trans_before = r.transitions
            cols, kfp, kpar, kem, counts = self._expand_level(cols, fps, visited)
            per_parent = np.cumsum(counts)
            if opts.deadlock:
                for i in np.flatnonzero(counts == 0).tolist():
                    state = lv.decode(cols[:, i])
                    if not self.model.is_terminal(state):
                        self._violation_at(depth, int(frontier_index[i]), "deadlock", "deadlock",
                                           "no action is enabled")
            del counts
            truncated = False
            if mx is not None and r.distinct_states + len(kfp) >= mx:
                n_ok = max(0, mx - r.distinct_states)
                kfp, kpar, kem = kfp[:n_ok], kpar[:n_ok], kem[:n_ok]
                truncated = True
                if n_ok:  # the interpreted engine stops inside the parent of the last state kept
                    r.transitions = trans_before + int(per_parent[kpar[-1]])
            if not len(kfp):
                if truncated:
                    self._stop_reason = "max_states"
                    raise _Stop()
                break
            new_cols = self._next_columns(cols, kpar, kem)
            self._frontier = None
            del cols
            visited = self._visit(visited, kfp)
            self.level_parent.append(frontier_index[kpar].astype(np.uint32))
            self.level_emit.append(kem.astype(np.uint16 if len(self.emits) <= 1 << 16 else np.uint32))
            depth += 1
            r.distinct_states += len(kfp)
            r.depth = depth
            self._acct = (r.distinct_states - len(kfp), trans_before, kpar, per_parent)
            ok, new_cols = self._check_level(new_cols, kfp, depth)
            if truncated:
                self._stop_reason = "max_states"
                raise _Stop()
            frontier_index = np.flatnonzero(ok)
            if ok.all():
                cols, fps = new_cols, kfp
            else:
                cols, fps = new_cols[:, ok], kfp[ok]
            del new_cols, kpar, kem, per_parent

    def _next_columns(self, cols: np.ndarray, kpar: np.ndarray, kem: np.ndarray) -> np.ndarray:
        """The new level's code columns: each parent's codes with its step's writes applied.

        A method so that the pool (engine/pool.py) can hand in the columns its workers computed."""
        new_cols = self._fit_dtype(cols)[:, kpar]
        self._apply_writes(new_cols, kem)
        return new_cols

    def _visit(self, visited: Any, kfp: np.ndarray) -> Any:
        """Adds a level's new fingerprints to the visited set; returns it (the pool's workers sort theirs)."""
        return _merge_visited(visited, np.sort(kfp))

    def _expand_level(self, cols: np.ndarray, fps: np.ndarray, visited: np.ndarray):
        """Computes the successors of a frontier, a chunk at a time.

        Returns (cols, possibly widened; fingerprints, frontier positions of the parents and step ids
        of the new states, in the order the interpreted engine finds them; successors per parent).
        Transitions are counted here.
        """
        counts = np.zeros(len(fps), dtype=np.int64)
        cols, parts = self._expand_range(cols, fps, visited, 0, len(fps), counts)
        return self._merge_parts(cols, parts, counts)

    def _expand_range(self, cols: np.ndarray, fps: np.ndarray, visited: np.ndarray, lo: int, n: int,
                      counts: np.ndarray):
        """Expands frontier positions lo..n-1 a chunk at a time (explorer/engine/parallel.py runs ranges apart).

        Fills counts[lo:n]; returns (cols, possibly widened; per chunk: new fingerprints, frontier
        positions of their parents, step ids).
        """
        r = self.result
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

        def widen(cols: np.ndarray) -> np.ndarray:
            self._forget_stale(cols.shape[0])
            cols = self._widen(cols)
            self._frontier = (cols,) + self._frontier[1:]
            return cols

        for cols_now, a, b, cfp, cpar, cem in self._successor_chunks(cols, fps, lo, n, widen):
            cols = cols_now  # widened when a chunk met a new dict key
            r.transitions += len(cfp)
            counts[a:b] = np.bincount(cpar, minlength=b - a)
            # self-loops are duplicates of their (visited) parent: drop them before sorting
            moved = cfp != fps[a:b][cpar]
            cfp, cpar, cem = cfp[moved], cpar[moved], cem[moved]
            del moved
            if len(cfp):
                # each fingerprint once, from its first successor in (parent, action, decisions) order
                rank, ordered = self._emit_rank()
                width = len(ordered)
                key = cpar * width + rank[cem]
                del cpar, cem
                o = np.argsort(cfp)
                sfp = cfp[o]
                del cfp
                starts = np.flatnonzero(np.concatenate(([True], sfp[1:] != sfp[:-1])))
                ufp = sfp[starts]
                del sfp
                ukey = np.minimum.reduceat(key[o], starts)
                del o, key, starts
                new = unseen(visited, ufp)
                ufp, ukey = ufp[new], ukey[new]
                parts.append((ufp, ukey // width + a, ordered[ukey % width]))
            self._tick(n)
        return cols, parts

    def _successor_chunks(self, cols: np.ndarray, fps: np.ndarray, lo: int, n: int, widen):
        """Yields (cols, a, b, successor fps, parent positions - a, step ids) for frontier positions lo..n-1,
        a chunk at a time (sized from the successors per state seen so far, to bound memory).

        A chunk that meets a new dict key (SchemaChanged) is run again on `widen(cols)`: the caller
        resets whatever tries it keeps. Shared by the search and the liveness graph builder.
        """
        chunk = max(self._MIN_CHUNK, int(self._CHUNK_CANDIDATES / max(1.0, self._succ_per_state)))
        a = lo
        while a < n:
            b = min(n, a + chunk)
            while True:
                try:
                    cfp, cpar, cem = self._successors(cols[:, a:b], fps[a:b])
                    break
                except SchemaChanged:
                    cols = widen(cols)
            if b - a:
                self._succ_per_state = max(1.0, len(cfp) / (b - a))
            yield cols, a, b, cfp, cpar, cem
            a = b

    def _merge_parts(self, cols: np.ndarray, parts: list, counts: np.ndarray):
        """Keeps each new fingerprint once (smallest parent first) and orders them as the interpreted engine."""
        if not parts:
            z = np.zeros(0, dtype=np.int64)
            return cols, np.zeros(0, dtype=np.uint64), z, z, counts
        ufp, upar, uem = _first_found(parts)
        o = self._bfs_order(upar, uem)
        return cols, ufp[o], upar[o], uem[o], counts

    def _bfs_order(self, upar: np.ndarray, uem: np.ndarray) -> np.ndarray:
        """The permutation that puts new states in the interpreted engine's order: by parent, then by step
        (action, then decisions)."""
        rank, ordered = self._emit_rank()
        return np.argsort(upar * len(ordered) + rank[uem], kind="stable")

    def _emit_rank(self) -> tuple[np.ndarray, np.ndarray]:
        """Ranks every step id in the interpreted engine's order (action, then decisions)."""
        if self._rank_cache is None or len(self._rank_cache[1]) != len(self.emits):
            ordered = sorted(range(len(self.emits)),
                             key=lambda i: (self.emits[i].action, self.emits[i].step.decisions))
            rank = np.zeros(len(self.emits), dtype=np.int64)
            rank[ordered] = np.arange(len(ordered))
            self._rank_cache = (rank, np.array(ordered, dtype=np.int64))
        return self._rank_cache

    def _fit_dtype(self, cols: np.ndarray) -> np.ndarray:
        """Returns cols in the smallest unsigned type that holds every code of every leaf."""
        dt = _code_dtype(max((len(v) for v in self.leaves.values), default=1))
        if np.dtype(dt).itemsize > cols.dtype.itemsize:
            return cols.astype(dt)
        return cols

    def _encode_states(self, states: list[tuple]) -> np.ndarray:
        pairs = [self.leaves.encode(s) for s in states]
        cols = np.zeros((self.leaves.n, len(states)), dtype=np.int32)
        for j, ps in enumerate(pairs):
            for lid, c in ps:
                cols[lid, j] = c
        self.leaves.changed = False
        return cols.astype(_code_dtype(max((len(v) for v in self.leaves.values), default=1)))

    def _widen(self, cols: np.ndarray) -> np.ndarray:
        self.leaves.changed = False
        extra = self.leaves.n - cols.shape[0]
        if extra <= 0:
            return cols
        return np.vstack([cols, np.zeros((extra, cols.shape[1]), dtype=cols.dtype)])

    def _forget_stale(self, rows: int) -> None:
        """Drops the tries made stale by the leaves past the first `rows` (new keys of dict fields).

        A trie node that reads a dict field whole lists the leaves the field had when it was recorded,
        and a step that assigns a whole dict writes those leaves only: both are wrong for a state with a
        new key, so a trie with such an entry for a field that gained a key starts afresh. Every other
        entry reads and writes named leaves, and a run that would have read a new key would have made
        its leaf then; the codes of the old leaves do not change. Keeping those tries spares relearning
        every memo entry when a key first appears deep in the search (twopc n=4 with loss and crash:
        at level 8, 98,000 states into the search)."""
        lv = self.leaves
        fields = {lv.leaf_field[x] for x in range(rows, lv.n)}
        for tries in (self.action_tries, self.inv_tries, self.reach_tries):
            for k, t in enumerate(tries):
                if t.whole & fields:
                    tries[k] = _Trie()

    def _reset_tries(self) -> None:
        self.action_tries = [_Trie() for _ in self.model.actions]
        self.inv_tries = [_Trie() for _ in self.model.invariants]
        self.reach_tries = [_Trie() for _ in self.model.reachable_props]

    def _successors(self, cols: np.ndarray, fps: np.ndarray):
        """Returns (fingerprints, parent positions, step ids) of every successor of the states given."""
        parts_parent: list[np.ndarray] = []
        parts_emit: list[np.ndarray] = []

        def sink(idx: np.ndarray, ids: np.ndarray) -> None:
            parts_parent.append(idx)
            parts_emit.append(ids)

        all_idx = np.arange(len(fps), dtype=np.int64)
        for ai in range(len(self.model.actions)):
            expand = lambda codes, ai=ai: self._expand_action(ai, codes)  # noqa: E731
            try:
                self._walk(self.action_tries[ai], all_idx, cols, expand, sink)
            except _ReRun:
                self._reraise_interp()
            if self.leaves.changed:
                raise SchemaChanged()
        if not parts_emit:
            z = np.zeros(0, dtype=np.int64)
            return np.zeros(0, dtype=np.uint64), z, z
        cpar = np.concatenate(parts_parent)
        cem = np.concatenate(parts_emit)
        parts_parent.clear()
        parts_emit.clear()
        cfp = fps[cpar]
        hashes = self.leaves.hashes
        ncols = cols.shape[0]
        for pos, lids, codes in self._by_shape(cem):
            par = cpar[pos]
            for lid, new in zip(lids, codes, strict=True):
                h = hashes[lid]
                if lid < ncols:  # take and a row view: numpy's fancy indexing is slower with small code types
                    cfp[pos] ^= h.take(new) ^ h.take(cols[lid][par])
                else:
                    cfp[pos] ^= h.take(new)
        return cfp, cpar, cem

    def _by_shape(self, emit_ids: np.ndarray):
        """Groups successors by the leaves their steps write: yields (positions, leaves, new codes per leaf)."""
        emits = self.emits
        c = self._shape_cache
        if c is None or c[0] != len(emits):
            shapes: dict[tuple[int, ...], list[int]] = {}
            for e in emits:
                if e.writes:
                    shapes.setdefault(tuple(x for x, _ in e.writes), []).append(e.id)
            shape_of = np.full(len(emits), -1, dtype=np.int64)
            tables = []
            for k, (lids, es) in enumerate(shapes.items()):
                shape_of[es] = k
                table = np.zeros((len(lids), len(emits)), dtype=np.int64)
                for e in es:
                    table[:, e] = [c for _, c in emits[e].writes]
                tables.append((lids, table))
            c = self._shape_cache = (len(emits), shape_of, tables)
        _, shape_of, tables = c
        if not tables:
            return
        sid = shape_of[emit_ids]
        if len(tables) < 1 << 15:
            sid = sid.astype(np.int16)  # a radix sort
        order = np.argsort(sid, kind="stable")
        bounds = np.searchsorted(sid[order], np.arange(-1, len(tables) + 1)).tolist()
        for k, (lids, table) in enumerate(tables):
            lo, hi = bounds[k + 1], bounds[k + 2]
            if lo == hi:
                continue
            pos = order[lo:hi]
            ids = emit_ids[pos]
            yield pos, lids, [table[j, ids] for j in range(len(lids))]

    def _apply_writes(self, new_cols: np.ndarray, emit_ids: np.ndarray) -> None:
        for pos, lids, codes in self._by_shape(emit_ids):
            for lid, new in zip(lids, codes, strict=True):
                new_cols[lid, pos] = new

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
                               lambda i, ids, bad=bad: bad.append(i[ids == 0]))
                    bad_by_prop.append((p, np.sort(np.concatenate(bad)) if bad else None))
                if self._unwitnessed:
                    for k, p in enumerate(model.reachable_props):
                        if p.name not in self._unwitnessed:
                            continue
                        hit: list[np.ndarray] = []
                        self._walk(self.reach_tries[k], idx, cols,
                                   lambda codes, k=k, p=p: self._expand_property(self.reach_tries[k], p, codes),
                                   lambda i, ids, hit=hit: hit.append(i[ids == 1]))
                        if any(len(h) for h in hit):
                            self._unwitnessed.discard(p.name)
                break
            except SchemaChanged:
                self._forget_stale(cols.shape[0])
                cols = self._widen(cols)
            except _ReRun:
                self._reraise_property(cols, depth)
        violations = []
        for p, bad in bad_by_prop:
            if bad is not None and len(bad):
                ok[bad] = False
                violations.extend((i, p) for i in self._first_per_key(depth, bad, p.name))
        r = self.result
        full = (r.distinct_states, r.transitions)
        for i, p in sorted(violations, key=lambda t: t[0]):
            state = self.leaves.decode(cols[:, i])
            res = dict(model.check_invariants(state))[p.name]
            self._count_as_of(i)
            self._violation_at(depth, i, p.name, "invariant", res.reason, res.read)
        r.distinct_states, r.transitions = full
        return ok, cols

    def _first_per_key(self, depth: int, bad: np.ndarray, prop: str) -> list[int]:
        """Positions of the first violating state (sorted `bad`) per counterexample key not yet reported.

        The key is the property and the last action (`violation_key`), read from the step that made
        each state, so the interpreted engine's distinct counterexamples are found without a trace rebuild.
        """
        seen = self._seen_violation_keys
        if depth == 0:
            return [] if violation_key(prop, None) in seen else [int(bad[0])]
        ids, first = np.unique(self.level_emit[depth][bad], return_index=True)
        out: dict[tuple[str, str], int] = {}
        for e, j in zip(ids.tolist(), first.tolist(), strict=True):
            key = violation_key(prop, self.emits[e].step)
            i = int(bad[j])
            if key not in seen and i < out.get(key, i + 1):
                out[key] = i
        return sorted(out.values())

    def _count_as_of(self, i: int) -> None:
        """Sets the counts the one-state-at-a-time engine has when it meets new state i of this level."""
        before, trans_before, parent, per_parent = self._acct
        r = self.result
        r.distinct_states = before + i + 1
        if parent is not None:
            r.transitions = trans_before + int(per_parent[parent[i]])

    # ------------------------------------------------------------------ traces and errors
    def _fp_path(self, depth: int, i: int) -> list[int]:
        """Returns the fingerprints from an initial state to state i of level `depth`.

        Only parent indices and step ids are kept per state; the codes of each state on the path are
        its parent's with the step's writes applied, as the search computed them.
        """
        steps = []
        while depth > 0:
            steps.append(int(self.level_emit[depth][i]))
            i = int(self.level_parent[depth][i])
            depth -= 1
        lv = self.leaves
        col = np.zeros(lv.n, dtype=np.int64)
        init = self._init_cols[:, i]
        col[: len(init)] = init
        path = [int(self._col_fps(col[:, None])[0])]
        for e in reversed(steps):
            for lid, code in self.emits[e].writes:
                col[lid] = code
            path.append(int(self._col_fps(col[:, None])[0]))
        return path

    def _col_fps(self, cols: np.ndarray) -> np.ndarray:
        """Fingerprints of states given as code columns (canonical ones under symmetry)."""
        return self.leaves.fingerprints(cols)

    def _violation_at(self, depth: int, i: int, prop: str, kind: str, reason, read=()) -> None:
        last = self.emits[int(self.level_emit[depth][i])].step if depth else None  # the step that made it
        if violation_key(prop, last) in self._seen_violation_keys:
            return  # a counterexample of this kind is reported already: no path, no trace rebuild
        path = self._fp_path(depth, i)
        for a, b in zip(path, path[1:], strict=False):
            self.parents[b] = a
        self._violation(prop, kind, path[-1], reason, read, last=last)

    def _reraise_interp(self) -> None:
        """An action raised: find the state with the interpreted engine, for its message and trace."""
        cols, fps, frontier_index = self._frontier
        depth = len(self.level_parent) - 1
        for i in range(cols.shape[1]):
            state = self.leaves.decode(cols[:, i])
            try:
                self.model.successors(state)
            except ActionError as e:
                if self._in_child:  # its level arrays are not the parent's, which redoes the range for the trace
                    raise
                path = self._fp_path(depth, int(frontier_index[i]))
                for a, b in zip(path, path[1:], strict=False):
                    self.parents[b] = a
                e._fp = path[-1]
                raise
        raise Unbatchable("an action raised on a recorded run but not when re-run")


    def _reraise_property(self, cols: np.ndarray, depth: int) -> None:
        """A property raised on a recorded run: check the level state by state as the interpreted engine
        does (each invariant in order, then the @reachable), so that a violation at an earlier state is
        reported first, and ends the search once --max-violations are found, before a later state's
        check raises; the first state whose check raises gives the error, with its message and trace."""
        model = self.model
        for i in range(cols.shape[1]):
            state = self.leaves.decode(cols[:, i])
            try:
                for name, res in model.check_invariants(state):
                    if not res.holds:
                        self._count_as_of(i)  # the counts the interpreted engine has at this state
                        self._violation_at(depth, i, name, "invariant", res.reason, res.read)
                if self._unwitnessed:
                    self._unwitnessed.difference_update(model.check_reachables(state))
            except ActionError as e:
                self._count_as_of(i)
                path = self._fp_path(depth, i)
                for a, b in zip(path, path[1:], strict=False):
                    self.parents[b] = a
                e._fp = path[-1]
                raise
        raise Unbatchable("a property raised on a recorded run but not when re-run")


class _ReRun(Exception):
    """A recorded run raised: the interpreted engine reproduces the error with its trace."""


class _Diverged(Unbatchable):
    """A recorded path disagrees with an earlier one: the spec reads something the recorder missed."""

    def __init__(self) -> None:
        super().__init__("a step read the state in a way the batched engine could not record")


def _first_found(parts: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The chunks' new states (fingerprints, parents, step ids) with each fingerprint once, from the
    earliest chunk that has it (the smallest parent), in ascending fingerprint order: each chunk of
    `_expand_range` holds distinct fingerprints in ascending order already."""
    if len(parts) == 1:
        return parts[0]
    ufp = np.concatenate([p[0] for p in parts])
    upar = np.concatenate([p[1] for p in parts])
    uem = np.concatenate([p[2] for p in parts])
    if len(ufp) > 1:  # the same new state from several chunks: keep the first
        o = np.argsort(ufp, kind="stable")
        sfp = ufp[o]
        first = o[np.concatenate(([True], sfp[1:] != sfp[:-1]))]
        del o, sfp
        ufp, upar, uem = ufp[first], upar[first], uem[first]
    return ufp, upar, uem


def _every(idx: np.ndarray, cols: np.ndarray) -> bool:
    """Whether `idx` (sorted distinct positions, as every walk passes) is every column of `cols`: then
    a row is read as it is, with no gather (a trie's root sees the whole chunk)."""
    n = cols.shape[1]
    return len(idx) == n and (n == 0 or (idx[0] == 0 and idx[-1] == n - 1))


def _code_dtype(n_codes: int):
    """The smallest unsigned type holding codes 0 .. n_codes - 1."""
    if n_codes <= 1 << 8:
        return np.uint8
    if n_codes <= 1 << 16:
        return np.uint16
    return np.uint32


def _merge_sorted(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Merges two sorted uint64 arrays with no common element (one output array, no full re-sort)."""
    if not len(a):
        return b
    out = np.empty(len(a) + len(b), dtype=a.dtype)
    at = np.searchsorted(a, b) + np.arange(len(b))
    keep = np.ones(len(out), dtype=bool)
    keep[at] = False
    out[at] = b
    out[keep] = a
    return out


def _merge_visited(visited: Any, new: np.ndarray) -> Any:
    return _merge_sorted(visited, new) if type(visited) is np.ndarray else visited.merged(new)


def _same_runs(a: list, b: list) -> bool:
    return len(a) == len(b) and all(x[0] == y[0] and x[1] == y[1] for x, y in zip(a, b, strict=True))


def _next_within(oracle: Oracle, first: int | None) -> list[int] | None:
    """The next decision prefix, or None past the paths whose first decision is `first` (None: all paths)."""
    nxt = oracle.next_prefix()
    if first is not None and nxt is not None and nxt[0] != first:
        return None
    return nxt


def _put(holder: Any, slot: Any, node: Any) -> None:
    if slot is None:
        holder.root = node
    else:
        holder.children[slot] = node


def _same(a: Any, b: Any) -> bool:
    return a is b or (type(a) is type(b) and a == b)


_WARM: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def keep_warm(model: Any, search: BatchSearch) -> None:
    """Keeps the batched search that just explored `model` for its liveness graph (`take_warm`), if it has any."""
    if getattr(model, "liveness", None):
        try:
            _WARM[model] = search
        except TypeError:  # a model that cannot be weakly referenced: nothing kept
            pass


def take_warm(model: Any) -> BatchSearch | None:
    """Returns (and forgets) the batched search that just explored `model`, for its memo tries; or None."""
    try:
        return _WARM.pop(model, None)
    except TypeError:
        return None


def run_batch_or_fallback(model: Any, opts, **kw: Any):
    """Runs the batched engine; falls back to the interpreted one when the spec cannot be batched."""
    from .result import Result

    t0 = time.perf_counter()
    try:
        if opts.symmetry:  # canonical fingerprints of whole candidate batches; liveness builds its own graph
            from .batch_symmetry import symmetric_search

            return symmetric_search(model, opts, **kw).run()
        if opts.cluster:
            from .cluster import ClusterBatchSearch

            return ClusterBatchSearch(model, opts, **kw).run()
        if opts.workers > 1:
            from .pool import PoolBatchSearch

            return PoolBatchSearch(model, opts, **kw).run()
        search = BatchSearch(model, opts, **kw)
        res = search.run()
        if getattr(model, "liveness", None):  # its tries serve the liveness graph next (take_warm)
            try:
                _WARM[model] = search
            except TypeError:  # a model that cannot be weakly referenced: nothing kept
                pass
        return res
    except Unbatchable as e:
        one = f"; --workers {opts.workers} not used (the interpreted engine runs in one process)" \
            if opts.workers > 1 else ""
        if opts.disk:
            one += f"; --disk {opts.disk} not used (the interpreted engine keeps its visited set in memory)"
        if opts.backend == "batch":
            res: Result = Search(model, opts, **kw).run()
            res.warnings.append(f"batched engine not used: {e}{one}")
            return res
        res = Search(model, opts, **kw).run()
        res.warnings.append(f"batched engine not used: {e} (+{time.perf_counter() - t0:.1f}s){one}")
        return res
