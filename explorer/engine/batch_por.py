"""Partial-order reduction on the batched engine: stubborn sets chosen per parent state, with numpy.

The interpreted `--por` (engine/por.py) runs every action in Python on every state; this one lets the
batched engine compute a chunk's candidate successors as usual (each carries its parent and the id of
its step, an `_Emit`) and then drops the candidates outside each parent's stubborn set. Everything the
choice needs is a function of numbers the batch already has:

- which node each step belongs to, and whether it is a key step, is a property of the step (its `info`),
  so it is a table indexed by step id;
- C2 (visibility) compares, per candidate, the codes its step writes on the visible leaves with its
  parent's codes; C3 looks its fingerprint up in the visited set (see below);
- the closure (which nodes may send to the set before it moves) depends only on the set of enabled
  nodes and, per destination, the message types in flight: the latter is read off the presence of the
  `network` leaves. Each distinct (in flight, enabled) pair is closed once, in Python, with the actor
  layer's own `_senders_into`, and remembered; the per-parent choice (smallest valid set, ties broken by
  the start node's step count and name, as `Reducer.ample` does) is a few array operations.

Where it differs from the interpreted engine, and why it stays sound:

- C3 is checked against the visited set as of the level's start (every state of depth <= d while level
  d is expanded), not against the states the level found so far. A reduced expansion then reaches only
  states of depth d + 1, so every edge out of a reduced state goes one level down, a cycle must contain
  an edge that does not, and that edge leaves a fully expanded state: the cycle proviso holds, as with
  the interpreted engine's stricter test (which also rejects states found earlier in the same level).
  Counts can therefore differ from the interpreted `--por`'s (usually fewer states: a successor found by
  an earlier parent of the level no longer forces full expansion). They do not depend on chunking, the
  run, or the machine: every test reads the level-start visited set and the candidate's own parent.
- The static scan of sends is audited once per memo entry (the representative run of each recorded
  path, `_plain_successors`) instead of once per state: a send is a write the entry records, and the
  framework increments a message's count after reading it, so the entry writes the same new message in
  every state it covers.
- Visibility is learned from the properties' memo entries (`_expand_property`): every state checked
  follows a recorded path, and a path reads the same fields on every state that follows it.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..actors.independence import _NODE_KINDS, _handler
from .batch import BatchSearch
from .fingerprint import unseen
from .leaves import Unbatchable
from .por import Reducer, check_por_options

_MAX_NODES = 62  # node sets are bit masks in an int64


class PorBatchMixin:
    """Prunes each chunk's candidates to the stubborn sets; mixed in before BatchSearch (or its symmetric kind)."""

    def _por_init(self, reducer: Reducer, independence: Any) -> None:
        ind = independence
        self.reducer = reducer
        self.ind = ind
        self.node_ids: tuple[str, ...] = tuple(ind.ids)
        if len(self.node_ids) > _MAX_NODES:
            raise Unbatchable(f"--por on the batched engine handles up to {_MAX_NODES} nodes")
        self.node_index = {n: i for i, n in enumerate(self.node_ids)}
        order = sorted(range(len(self.node_ids)), key=lambda i: self.node_ids[i])
        self.name_rank = np.empty(len(self.node_ids), dtype=np.int64)
        self.name_rank[order] = np.arange(len(self.node_ids))
        self._emit_tables: tuple[int, np.ndarray, np.ndarray] | None = None
        self._closures: dict[int | bytes, dict[int, int]] = {}  # (in flight, enabled) -> start -> closure
        self._net_cache: tuple | None = None
        self._por_visited: Any = None
        self.result.backend = "batch"

    # ------------------------------------------------------------------ hooks into BatchSearch
    def _expand_level(self, cols: np.ndarray, fps: np.ndarray, visited: Any):
        self._por_visited = visited  # C3 reads the level-start visited set
        return super()._expand_level(cols, fps, visited)

    def _successors(self, cols: np.ndarray, fps: np.ndarray):
        cfp, cpar, cem = super()._successors(cols, fps)
        keep = self._stubborn(cols, fps, cfp, cpar, cem)
        if keep is None:
            return cfp, cpar, cem
        return cfp[keep], cpar[keep], cem[keep]

    def _plain_successors(self, a, state: tuple) -> list:
        out = super()._plain_successors(a, state)
        for nxt, step in out:  # audit the static scan of sends on each memo entry's representative
            if step.info:
                self.ind.check(state, nxt, step)
        return out

    def _expand_property(self, trie, p, codes: np.ndarray) -> None:
        super()._expand_property(trie, p, codes)
        m = self.model
        self.reducer.observe(m._eval(p, m.view(self.leaves.decode(codes))).read)

    # ------------------------------------------------------------------ the choice
    def _stubborn(self, cols: np.ndarray, fps: np.ndarray, cfp: np.ndarray, cpar: np.ndarray,
                  cem: np.ndarray) -> np.ndarray | None:
        """Mask of the candidates to keep (None: all), the stats updated; one chunk of parents."""
        stats = self.reducer.stats
        n_par = len(fps)
        if self.ind.unknown or not len(cfp):
            stats.full += n_par
            return None
        node_of, key_of = self._emit_node_tables()
        nodes = len(self.node_ids)
        node = node_of[cem]
        force = np.zeros(n_par, dtype=bool)
        bad_node = node < 0
        if bad_node.any():
            force[cpar[bad_node]] = True
        force |= self._partition_forces_full(cols)
        # C2 and C3 per candidate
        bad = cfp == fps[cpar]
        bad |= self._visible_change(cols, cpar, cem)
        u, inv = np.unique(cfp, return_inverse=True)
        bad |= ~unseen(self._por_visited, u)[inv.reshape(-1)]
        key = key_of[cem] == 1
        restart = key_of[cem] == 2
        if restart.any():
            key |= restart & ~self._restart_budget(cols)[cpar]
        ok = ~bad_node
        pn = cpar[ok] * nodes + node[ok]
        size = n_par * nodes
        cnt = np.bincount(pn, minlength=size).reshape(n_par, nodes)
        badn = np.bincount(pn, weights=bad[ok], minlength=size).reshape(n_par, nodes) > 0
        keyn = np.bincount(pn, weights=key[ok], minlength=size).reshape(n_par, nodes) > 0
        bits = np.left_shift(np.int64(1), np.arange(nodes, dtype=np.int64))
        en = cnt > 0
        enabled = (en * bits).sum(axis=1)
        fine = ((en & ~badn) * bits).sum(axis=1)
        keys = ((en & keyn) * bits).sum(axis=1)
        cand = ~force & (en.sum(axis=1) >= 2) & (fine != 0) & (keys != 0)
        chosen = np.zeros(n_par, dtype=np.int64)
        rows = np.flatnonzero(cand)
        if len(rows):
            members = self._members(cols, rows, enabled[rows], fine[rows])  # (rows, nodes): closures
            e, f, k = enabled[rows, None], fine[rows, None], keys[rows, None]
            inside = members & e
            valid = en[rows] & ((e & ~members) != 0) & ((inside & ~f) == 0) & ((inside & k) != 0)
            c = cnt[rows]
            set_size = np.zeros_like(inside)  # steps of the enabled members of each start's closure
            for m in range(nodes):
                set_size += ((inside >> m) & 1) * c[:, m, None]
            score = (set_size * (cnt.max() + 1) + c) * nodes + self.name_rank[None, :]
            score = np.where(valid, score, np.iinfo(np.int64).max)
            best = score.argmin(axis=1)
            has = valid[np.arange(len(rows)), best]
            chosen[rows[has]] = inside[np.arange(len(rows)), best][has]
        reduced = chosen != 0
        keep = ~reduced[cpar]
        sel = ~keep & ~bad_node
        keep[sel] = ((chosen[cpar[sel]] >> node[sel]) & 1) == 1
        n_red = int(reduced.sum())
        stats.reduced += n_red
        stats.full += n_par - n_red
        stats.pruned += int(len(keep) - keep.sum())
        return keep

    def _members(self, cols: np.ndarray, rows: np.ndarray, enabled: np.ndarray, fine: np.ndarray) -> np.ndarray:
        """Per parent in `rows`, per node: the bit mask of its closure, for the nodes that may start a set
        (enabled, C2 and C3 fine); 0 for the others, which the choice then rejects."""
        bits = self._inflight_bits(cols, rows)  # (pairs, rows)
        nodes = len(self.node_ids)
        if len(bits) + nodes <= 62:  # one int64 per parent: enabled nodes, then the pairs in flight
            rowkeys = enabled.astype(np.int64)
            for j in range(len(bits)):
                rowkeys |= bits[j].astype(np.int64) << (nodes + j)
        else:
            key = np.ascontiguousarray(np.concatenate(
                [np.packbits(bits, axis=0).T, enabled.astype("<i8").view(np.uint8).reshape(len(rows), 8)], axis=1))
            rowkeys = key.view(np.dtype((np.void, key.shape[1]))).reshape(-1)
        uniq, first, inv = np.unique(rowkeys, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
        starts = np.zeros(len(uniq), dtype=np.int64)
        np.bitwise_or.at(starts, inv, fine)  # the start nodes some parent of each key needs
        table = np.zeros((len(uniq), len(self.node_ids)), dtype=np.int64)
        memo = self._closures
        for j, (i, need) in enumerate(zip(first.tolist(), starts.tolist(), strict=True)):
            kb = rowkeys[i].item() if rowkeys.dtype == np.int64 else bytes(rowkeys[i])
            got = memo.get(kb)
            if got is None:
                got = memo[kb] = {}
            missing = [s for s in range(nodes) if need >> s & 1 and s not in got]
            if missing:
                got.update(self._close(np.flatnonzero(bits[:, i]).tolist(), int(enabled[i]), missing))
            for s in range(nodes):
                if need >> s & 1:
                    table[j, s] = got[s]
        return table[inv]

    def _close(self, on: list[int], enabled_mask: int, starts: list[int]) -> dict[int, int]:
        """Closes each start node as `ActorIndependence.closure` does, given the (destination, type) pairs in flight."""
        pids = self._net_cache[2]
        inflight: dict[str, set[type]] = {}
        for j in on:
            dst, t = pids[j]
            inflight.setdefault(dst, set()).add(t)
        ids = self.node_ids
        enabled = {ids[i] for i in range(len(ids)) if enabled_mask >> i & 1}
        return {start: sum(1 << self.node_index[m] for m in self.ind.close_over(ids[start], enabled, inflight))
                for start in starts}

    # ------------------------------------------------------------------ per-step and per-state facts
    def _emit_node_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Per step id: its node's index (-1: not a node's step, the parent is fully expanded) and
        1 for a key step, 2 for a restart (a key step unless a restart budget is given), 0 otherwise."""
        emits = self.emits
        t = self._emit_tables
        start = 0 if t is None else t[0]
        if t is not None and start == len(emits):
            return t[1], t[2]
        node_of = np.full(len(emits), -1, dtype=np.int64)
        key_of = np.zeros(len(emits), dtype=np.int8)
        if t is not None:
            node_of[:start], key_of[:start] = t[1], t[2]
        for e in emits[start:]:
            info = e.step.info or {}
            kind = info.get("kind")
            nid = self.node_index.get(info.get("node"))
            if nid is not None and kind in _NODE_KINDS:
                node_of[e.id] = nid
                key_of[e.id] = 1 if kind in ("deliver", "drop", "timer") else 2 if kind == "restart" else 0
        self._emit_tables = (len(emits), node_of, key_of)
        return node_of, key_of

    def _visible_change(self, cols: np.ndarray, cpar: np.ndarray, cem: np.ndarray) -> np.ndarray:
        """Per candidate: its step changes a field some property reads (C2)."""
        out = np.zeros(len(cem), dtype=bool)
        visible = self.reducer.visible
        if not visible:
            return out
        field_of = self.leaves.leaf_field
        ncols = cols.shape[0]
        for pos, lids, codes in self._by_shape(cem):
            for lid, new in zip(lids, codes, strict=True):
                if field_of[lid] in visible:
                    old = cols[lid, cpar[pos]] if lid < ncols else 0
                    out[pos] |= new != old
        return out

    def _leaf_truth(self, field: int | None, key: Any, test) -> np.ndarray | None:
        """Code -> test(value) for one leaf (None when the leaf does not exist yet)."""
        if field is None:
            return None
        lid = self.leaves.leaf_of.get((field, key))
        if lid is None:
            return None
        vals = self.leaves.values[lid]
        return lid, np.array([j > 0 and bool(test(v)) for j, v in enumerate(vals)]
                             if self.leaves.is_dict[field] else [bool(test(v)) for v in vals], dtype=bool)

    def _leaf_mask(self, cols: np.ndarray, got) -> np.ndarray:
        if got is None:
            return np.zeros(cols.shape[1], dtype=bool)
        lid, table = got
        if lid >= cols.shape[0]:
            return np.full(cols.shape[1], bool(table[0]), dtype=bool)
        return table[cols[lid]]

    def _partition_forces_full(self, cols: np.ndarray) -> np.ndarray:
        """A partition budget left, or a partition up: `groups` says expand fully (it changes who receives)."""
        ind = self.ind
        out = self._leaf_mask(cols, self._leaf_truth(ind.left_i, "partition", lambda v: v))
        if ind.part_i is not None:
            out = out | self._leaf_mask(cols, self._leaf_truth(ind.part_i, None, lambda v: v is not None))
        return out

    def _restart_budget(self, cols: np.ndarray) -> np.ndarray:
        """A `restart=K` budget is in faults_left: restarts are then not key steps."""
        return self._leaf_mask(cols, self._leaf_truth(self.ind.left_i, "restart", lambda v: True))

    def _matters(self, dst: str, t: type) -> bool:
        """Whether a message of type t in flight to dst can change a closure: it does only through what dst
        may send once it handles it (`_may_send`), so not when its handler sends nothing dst's timers and
        restart may not send already (nor when there is no handler, or dst may send anything anyway)."""
        ind = self.ind
        cls = ind.blueprint[dst]
        timers = ind.timer_sends[cls]
        h = _handler(ind.handles[cls], t)
        if timers is None or h is None:
            return False
        sends = ind.sends_of_handler[(cls, h)]
        return sends is None or not sends <= timers

    def _inflight_bits(self, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Per (destination, message type) pair that matters to a closure (`_matters`), per parent in `rows`:
        whether such a message is in flight; with the enabled nodes, the key closures are memoised under."""
        net_i = self.ind.net_i
        if net_i is None:
            return np.zeros((0, len(rows)), dtype=bool)
        lv = self.leaves
        lids = [x for x in lv.dict_leaves[net_i] if x < cols.shape[0]]
        c = self._net_cache
        sizes = tuple(len(lv.values[x]) for x in lids)
        if c is None or c[0] != (tuple(lids), sizes):
            pid_of: dict[tuple[str, type], int] = {} if c is None else dict(c[3])
            pids: list[tuple[str, type]] = [] if c is None else list(c[2])

            def pid(dst: str, t: type) -> int | None:
                j = pid_of.get((dst, t), -1)
                if j == -1:
                    j = pid_of[(dst, t)] = len(pids) if self._matters(dst, t) else None
                    if j is not None:
                        pids.append((dst, t))
                return j

            tables = []  # per leaf: [(pair id, code -> present)]
            for x in lids:
                k = lv.leaf_key[x]
                vals = lv.values[x]
                if self.ind.fifo:
                    per: dict[int, np.ndarray] = {}
                    for code, v in enumerate(vals):
                        if code == 0 or not v:
                            continue
                        for m in v:
                            j = pid(k[1], type(m))
                            if j is not None:
                                per.setdefault(j, np.zeros(len(vals), dtype=bool))[code] = True
                    tables.append(list(per.items()))
                else:
                    j = pid(k[1], type(k[2]))
                    arr = np.ones(len(vals), dtype=bool)
                    arr[0] = False
                    tables.append([] if j is None else [(j, arr)])
            c = self._net_cache = ((tuple(lids), sizes), tables, pids, pid_of)
        _, tables, pids, _ = c
        bits = np.zeros((len(pids), len(rows)), dtype=bool)
        for x, pairs in zip(lids, tables, strict=True):
            if not pairs:
                continue
            codes = cols[x, rows]
            for j, arr in pairs:
                bits[j] |= arr[codes]
        return bits


def por_search_class(symmetric: bool) -> type:
    """BatchSearch (or SymmetricBatchSearch) with the stubborn-set pruning mixed in."""
    if symmetric:
        from .batch_symmetry import SymmetricBatchSearch

        return type("PorSymmetricBatchSearch", (PorBatchMixin, SymmetricBatchSearch), {})
    return type("PorBatchSearch", (PorBatchMixin, BatchSearch), {})


def run_batch_por(model: Any, opts: Any, independence: Any, **kw: Any):
    """`--por` on the batched engine; the interpreted `run_por` when the spec cannot be batched.

    As `run_por`: when a property reads a new field after a reduction used the smaller visible set,
    the search runs again from the start with the larger set.
    """
    from .por import run_por, run_until_settled

    check_por_options(model, opts)
    t0 = time.perf_counter()
    cls = por_search_class(bool(opts.symmetry))

    def run_once(reducer: Reducer):
        search = cls(model, opts, **kw)
        search._por_init(reducer, independence)
        return search.run()

    try:
        return run_until_settled(model, opts, independence, run_once)
    except Unbatchable as e:
        result = run_por(model, opts, independence, **kw)
        result.warnings.append(f"batched engine not used: {e} (+{time.perf_counter() - t0:.1f}s)")
        return result
