"""Symmetry reduction on the batched engine: canonical fingerprints of whole batches of candidates.

The batched search keeps real states in its frontier (leaf-code columns) and deduplicates by a
fingerprint that is a function of the orbit only, as the interpreted engine does with
`SymmetricFingerprinter` (engine/symmetry.py, which says what a permutation renames). Each chunk's
candidate successors are materialised as columns and given that fingerprint with numpy:

- sorted blocks, for int ids (`n = param(3, symmetric=True)`): int ids are renamed only as keys of
  dict fields, so an orbit is the rest of the state plus the multiset of per-id blocks (the entries
  of every dict field at that id). Each block gets a 64-bit hash from per-leaf tables, the blocks of
  every candidate are sorted together (one `np.sort` over axis 0), and the fingerprint hashes the
  rest with the sorted sequence. Cost: one sort per candidate, whatever the number of ids.
- least sorted image, for string ids (ids also occur in values, messages, and as node fields of
  actors): each id gets a profile hash (every entry that is one of its node fields or mentions it,
  hashed with the id replaced by one placeholder and other ids by another, so renaming does not
  change it); among the renamings that put the ids in profile order, the smallest fingerprint of
  the renamed state is kept, computed from per-leaf tables (code -> hash of the renamed value at
  the renamed leaf). Each renaming costs a profile comparison per candidate, and a table pass only
  over the candidates it sorts (one per candidate when profiles differ, more when ids look alike).
  Above MAX_PERMUTATIONS renamings the spec runs on the interpreted engine, and says why.

Both are exact (functions of the orbit only, so the orbit counts are the interpreted engine's) and
depend only on values, not on the order codebooks were filled, so forked workers agree with the
parent. `of(state)` computes the same fingerprint for a state tuple: initial states, and trace
rebuilding (paths.rebuild), which follows the path's canonical fingerprints with real successors.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..dsl.values import FrozenDict, FrozenSet, mix64, stable_hash
from .batch import BatchSearch
from .leaves import Leaves, Unbatchable
from .parallel import ParallelBatchSearch
from .symmetry import _ID, SymmetricFingerprinter, _contains, _is_id, _rename

MAX_PERMUTATIONS = 720  # 6 interchangeable string ids: 720 profile comparisons per candidate

_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)


def mix64_array(x: np.ndarray) -> np.ndarray:
    """`values.mix64` (splitmix64's finaliser) on a uint64 array, bit for bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * _C1
    x = x ^ (x >> np.uint64(27))
    x = x * _C2
    return x ^ (x >> np.uint64(31))


class CanonicalFingerprints:
    """Fingerprints of orbits, for leaf-code columns (`columns`) and state tuples (`of`, `update`).

    Has Fingerprinter's `of`, `update` and `salts`, so a search and trace rebuilding use it as one.
    """

    def __init__(self, sym: SymmetricFingerprinter, leaves: Callable[[], Leaves]):
        self.sym = sym
        self.base = sym.base
        self.salts = sym.salts
        self._get_leaves = leaves  # the search's current Leaves (a worker may replace its codebooks)
        self._tables_of: Leaves | None = None
        self.groups = sym.groups
        ids = [x for g in self.groups for x in g]
        if len(set(ids)) != len(ids):
            raise Unbatchable("two symmetric params share ids (both range(n)?); the batched canonical form "
                              "needs disjoint groups")
        self.sorted_blocks = sym.keys_only
        self._tables: dict[tuple, tuple[int, np.ndarray | None]] = {}  # (kind, ..., leaf) -> (codes, table)
        if self.sorted_blocks:
            self._pos = [np.array([stable_hash(("symmetric-position", gi, j)) for j in range(len(g))],
                                  dtype=np.uint64) for gi, g in enumerate(self.groups)]
            self._slot_salt = [stable_hash(("symmetric-slot", f)) for f in sym.fields]
            self.perms: list[tuple[dict, list[int], list[list[int]]]] = []
        else:
            n = math.prod(math.factorial(len(g)) for g in self.groups)
            if n > MAX_PERMUTATIONS:
                sizes = " x ".join(f"{len(g)}!" for g in self.groups)
                raise Unbatchable(f"symmetry with ids inside values: {sizes} = {n:,} orders of the ids per state "
                                  f"(the batched canonical form tries each, up to {MAX_PERMUTATIONS})")
            self.perms = [(m, self._field_map(m), self._sources(m)) for m in _permutations(self.groups)]
            self._profile_salt = stable_hash("symmetric-profile")
            self._classes: dict[tuple, tuple] = {}

    @property
    def leaves(self) -> Leaves:
        lv = self._get_leaves()
        if lv is not self._tables_of:  # tables are per leaf id and code: new codebooks, new tables
            self._tables.clear()
            self._tables_of = lv
        return lv

    # ------------------------------------------------------------------ Fingerprinter's interface
    def of(self, state: tuple) -> int:
        if self.sorted_blocks:
            return self._of_blocks(state)
        base = self.base.of
        prof = [[self._profile(state, gi, x) for x in g] for gi, g in enumerate(self.groups)]
        return min(base(self._apply(state, m, fmap)) for m, fmap, src in self.perms
                   if all(p[a] <= p[b] for p, s in zip(prof, src, strict=True) for a, b in itertools.pairwise(s)))

    def update(self, fp: int, old: tuple, new: tuple) -> int:
        return self.of(new)

    # ------------------------------------------------------------------ batches
    def columns(self, cols: np.ndarray) -> np.ndarray:
        """Returns the canonical fingerprint of every state (column) of a (leaves x states) code matrix."""
        if self.sorted_blocks:
            return self._columns_blocks(cols)
        lv = self.leaves
        fp = lv.fingerprints(cols)
        prof = self._profiles(cols)
        best = np.full(len(fp), np.iinfo(np.uint64).max, dtype=np.uint64)
        for pi, (m, fmap, src) in enumerate(self.perms):
            sorts = None  # the candidates this renaming puts in profile order
            for p, s in zip(prof, src, strict=True):
                for a, b in itertools.pairwise(s):
                    ok = p[a] <= p[b]
                    sorts = ok if sorts is None else sorts & ok
            idx = np.arange(len(fp)) if sorts is None else np.flatnonzero(sorts)  # None: no group of 2+ ids
            if not len(idx):
                continue
            sub = cols[:, idx]
            h = fp[idx]
            for lid in range(cols.shape[0]):
                d = self._delta(pi, m, fmap, lid)
                if d is not None:
                    h ^= d[sub[lid]]
            best[idx] = np.minimum(best[idx], h)
        return best

    # ------------------------------------------------------------------ sorted blocks (int ids)
    def _of_blocks(self, state: tuple) -> int:
        fp = self.base.of(state)
        salt = self.base.leaf_salt
        seq = 0
        for gi, g in enumerate(self.groups):
            blocks = []
            for x in g:
                b = 0
                for f, v in enumerate(state):
                    if type(v) is FrozenDict and x in v:
                        h = stable_hash(v[x])
                        b ^= mix64(self._slot_salt[f] ^ h)
                        fp ^= mix64(salt(f, x, keyed=True) ^ h)  # the entry leaves the rest
                blocks.append(b)
            blocks.sort()
            pos = self._pos[gi].tolist()
            for j, b in enumerate(blocks):
                seq ^= mix64(b ^ pos[j])
        return fp ^ seq

    def _columns_blocks(self, cols: np.ndarray) -> np.ndarray:
        lv = self.leaves
        rows, n = cols.shape
        in_block = np.zeros(rows, dtype=bool)
        seq = np.zeros(n, dtype=np.uint64)
        for gi, g in enumerate(self.groups):
            blocks = np.zeros((len(g), n), dtype=np.uint64)
            for j, x in enumerate(g):
                for f, is_dict in enumerate(lv.is_dict):
                    lid = lv.leaf_of.get((f, x)) if is_dict else None
                    if lid is None or lid >= rows:
                        continue  # no state has that entry yet (absent)
                    in_block[lid] = True
                    blocks[j] ^= self._block_table(lid)[cols[lid]]
            blocks.sort(axis=0)
            for j in range(len(g)):
                seq ^= mix64_array(blocks[j] ^ self._pos[gi][j])
        fp = np.full(n, np.uint64(lv.const_hash), dtype=np.uint64)
        for lid in np.flatnonzero(~in_block).tolist():
            fp ^= lv.hashes[lid][cols[lid]]
        return fp ^ seq

    def _block_table(self, lid: int) -> np.ndarray:
        """Code -> the entry's hash within its id's block (0 for an absent entry)."""
        vals = self.leaves.values[lid]
        key = ("block", lid)
        got = self._tables.get(key)
        if got is None or got[0] != len(vals):
            salt = self._slot_salt[self.leaves.leaf_field[lid]]
            t = np.array([0] + [mix64(salt ^ stable_hash(v)) for v in vals[1:]], dtype=np.uint64)
            got = self._tables[key] = (len(vals), t)
        return got[1]

    # ------------------------------------------------------------------ least sorted image (string ids)
    def _sources(self, m: dict) -> list[list[int]]:
        """Per group: the position (in the group) of the id each position receives under m."""
        inv = {b: a for a, b in m.items()}
        return [[g.index(inv[y]) for y in g] for g in self.groups]

    def _field_class(self, gi: int, x: Any, f: int) -> tuple:
        """What field f is to id x, in terms a renaming keeps: x's own node field, another node's, or a field."""
        got = self._classes.get((gi, x, f))
        if got is None:
            got = ("field", f)
            for gj, owned in enumerate(self.sym.owned):
                for y, fields in (owned or {}).items():
                    if f in fields:
                        pos = fields.index(f)
                        got = ("own", pos) if y == x else ("node", gj == gi, pos)
            self._classes[(gi, x, f)] = got
        return got

    def _entry_profile(self, gi: int, x: Any, f: int, key: Any, value: Any) -> int:
        """One entry's share of id x's profile: 0 unless it is x's node field or mentions x.

        The entry is hashed with x replaced by one placeholder and every other id by another, so the
        share of m[x] in the renamed state is the same: profiles are equal across an orbit.
        """
        cls = self._field_class(gi, x, f)
        if cls[0] != "own" and not (_contains(key, {x}) or _contains(value, {x})):
            return 0
        ids = self.sym.id_set
        return mix64(self._profile_salt ^ stable_hash((cls, _abstract_self(key, ids, x),
                                                       _abstract_self(value, ids, x))))

    def _profile(self, state: tuple, gi: int, x: Any) -> int:
        """Id x's profile hash in a state (equal for x in s and m[x] in m(s))."""
        h = 0
        for f, v in enumerate(state):
            if type(v) is FrozenDict:
                for k, v2 in v.items():
                    h ^= self._entry_profile(gi, x, f, k, v2)
            else:
                h ^= self._entry_profile(gi, x, f, None, v)
        return h

    def _profiles(self, cols: np.ndarray) -> list[np.ndarray]:
        """Per group: (ids x states) profile hashes, as `_profile` computes them."""
        rows, n = cols.shape
        out = []
        for gi, g in enumerate(self.groups):
            p = np.zeros((len(g), n), dtype=np.uint64)
            for j, x in enumerate(g):
                for lid in range(rows):
                    t = self._profile_table(gi, x, lid)
                    if t is not None:
                        p[j] ^= t[cols[lid]]
            out.append(p)
        return out

    def _profile_table(self, gi: int, x: Any, lid: int) -> np.ndarray | None:
        """Code -> the entry's share of id x's profile (0 for an absent entry); None when all 0."""
        lv = self.leaves
        vals = lv.values[lid]
        key = ("profile", gi, x, lid)
        got = self._tables.get(key)
        if got is None or got[0] != len(vals):
            f, k = lv.leaf_field[lid], lv.leaf_key[lid]
            t = np.array([0] + [self._entry_profile(gi, x, f, k, v) for v in vals[1:]], dtype=np.uint64)
            got = self._tables[key] = (len(vals), t if t.any() else None)
        return got[1]

    def _field_map(self, m: dict) -> list[int]:
        """Where each field's value goes under the renaming m (actors: p1.state -> p2.state)."""
        fmap = list(range(len(self.sym.fields)))
        for owned in self.sym.owned:
            if owned is None:
                continue
            for x, srcs in owned.items():
                for src, dst in zip(srcs, owned[m.get(x, x)], strict=True):
                    fmap[src] = dst
        return fmap

    def _apply(self, state: tuple, m: dict, fmap: list[int]) -> tuple:
        out: list[Any] = [None] * len(state)
        for i, v in enumerate(state):
            out[fmap[i]] = _rename(v, m)
        return tuple(out)

    def _delta(self, pi: int, m: dict, fmap: list[int], lid: int) -> np.ndarray | None:
        """Code -> (hash of the entry) ^ (hash of the renamed entry at the renamed leaf); None when all 0."""
        lv = self.leaves
        vals = lv.values[lid]
        key = ("perm", pi, lid)
        got = self._tables.get(key)
        if got is None or got[0] != len(vals):
            f = lv.leaf_field[lid]
            f2 = fmap[f]
            if lv.is_dict[f]:
                salt = self.base.leaf_salt(f2, _rename(lv.leaf_key[lid], m), keyed=True)
            else:
                salt = self.salts[f2]
            t = np.array([0] + [mix64(salt ^ stable_hash(_rename(v, m))) for v in vals[1:]], dtype=np.uint64)
            t ^= lv.hashes[lid][: len(vals)]
            got = self._tables[key] = (len(vals), t if t.any() else None)
        return got[1]


def _permutations(groups: list[tuple]) -> list[dict]:
    """Every renaming of the ids that permutes each group within itself (the identity first)."""
    per_group = [[dict(zip(g, p, strict=True)) for p in itertools.permutations(g)] for g in groups]
    out = []
    for combo in itertools.product(*per_group):
        m: dict = {}
        for part in combo:
            m.update(part)
        out.append(m)
    return out


class SymmetricBatchSearch(BatchSearch):
    """The batched search with --symmetry: dedup by canonical fingerprints, frontier of real states.

    Candidate successors are fingerprinted below the range expansion (`_successors`), so parallel
    workers, which call the same code, compute the same fingerprints.
    """

    symmetric = True
    _MATRIX_BYTES = 1 << 27  # candidate columns materialised at once (leaves x successors), about 128 MB

    @property
    def _CHUNK_CANDIDATES(self) -> int:  # noqa: N802 - BatchSearch's constant, sized here by the leaves
        return max(1 << 14, self._MATRIX_BYTES // max(1, self.leaves.n * 2))

    def __init__(self, model: Any, opts, **kw: Any):
        super().__init__(model, opts, **kw)
        self.canon = CanonicalFingerprints(self.fpr, lambda: self.leaves)
        self.fpr = self.canon  # initial states and trace rebuilding use the same fingerprints

    def _successors(self, cols: np.ndarray, fps: np.ndarray):
        _xor_fps, cpar, cem = super()._successors(cols, fps)  # fps are canonical: XOR updates do not apply
        succ = self._fit_dtype(cols)[:, cpar]
        extra = self.leaves.n - succ.shape[0]
        if extra > 0:
            succ = np.vstack([succ, np.zeros((extra, succ.shape[1]), dtype=succ.dtype)])
        self._apply_writes(succ, cem)
        return self.canon.columns(succ), cpar, cem

    def _col_fps(self, cols: np.ndarray) -> np.ndarray:
        return self.canon.columns(cols)


def symmetric_search(model: Any, opts, **kw: Any) -> BatchSearch:
    """The batched search for --symmetry: one process, with --workers N the pool's forked workers, or
    with --cluster the Dask workers (they call the same `_successors`, and the canonical fingerprints
    do not depend on codebook order, so every range is fingerprinted by orbit alike)."""
    if opts.cluster:
        from .cluster import ClusterBatchSearch

        class SymmetricClusterSearch(SymmetricBatchSearch, ClusterBatchSearch):
            """SymmetricBatchSearch's fingerprints with ranges expanded on a Dask cluster."""

        return SymmetricClusterSearch(model, opts, **kw)
    if opts.workers > 1:
        from .pool import PoolBatchSearch

        class SymmetricPoolSearch(SymmetricBatchSearch, PoolBatchSearch):
            """SymmetricBatchSearch's fingerprints with PoolBatchSearch's workers."""

        return SymmetricPoolSearch(model, opts, **kw)
    return SymmetricBatchSearch(model, opts, **kw)


class SymmetricRangeSearch(SymmetricBatchSearch, ParallelBatchSearch):
    """What a Dask worker expands its ranges with under --symmetry (explorer/engine/cluster.py)."""


_OTHER = ("\x00other-symmetric-id",)


def _abstract_self(v: Any, ids: set, x: Any) -> Any:
    """The value with id x replaced by one placeholder and every other id by another."""
    if _is_id(v, ids):
        return _ID if v == x else _OTHER
    t = type(v)
    if t is FrozenDict:
        return ("dict", frozenset((_abstract_self(k, ids, x), _abstract_self(y, ids, x)) for k, y in v.items()))
    if t is FrozenSet or t is frozenset:
        return ("set", frozenset(_abstract_self(y, ids, x) for y in v))
    if isinstance(v, tuple):
        return (t.__name__, tuple(_abstract_self(y, ids, x) for y in v))
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return (t.__name__, tuple(_abstract_self(getattr(v, f.name), ids, x) for f in dataclasses.fields(v)))
    return v
