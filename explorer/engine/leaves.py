"""Leaf columns: a state as one small integer code per leaf, for engines that work on whole frontiers.

A leaf is a scalar field, or one key of a dict field. Each leaf has a codebook (value <-> code) and,
per code, the leaf's Zobrist hash, computed exactly as `Fingerprinter.field_hash` does, so a state's
fingerprint is the XOR of its leaves' hashes whichever engine found it. Code 0 means "absent" (a
dict key the state does not have) and hashes to 0, so adding a leaf changes no fingerprint.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..dsl.values import FrozenDict, mix64, stable_hash
from .fingerprint import _DICT_MARK, Fingerprinter

ABSENT = 0


class SchemaChanged(Exception):
    """A new leaf appeared (a dict gained a key never seen before): memoised step tables are stale."""


class Unbatchable(Exception):
    """The spec does something the batched engine cannot represent; the caller falls back."""


class Leaves:
    """The leaves of a model's states, their codebooks and hashes."""

    def __init__(self, fields: tuple[str, ...], initial: tuple, fpr: Fingerprinter):
        self.fields = fields
        self.fpr = fpr
        self.is_dict = [type(v) is FrozenDict for v in initial]
        self.leaf_of: dict[tuple[int, Any], int] = {}
        self.leaf_field: list[int] = []
        self.leaf_key: list[Any] = []
        self.leaf_salt: list[int] = []
        self.values: list[list[Any]] = []
        self.codes: list[dict[Any, int]] = []
        self.hashes: list[np.ndarray] = []
        self.dict_leaves: dict[int, list[int]] = {i: [] for i, d in enumerate(self.is_dict) if d}
        self.const_hash = 0  # XOR of the per-dict-field marks, present in every state
        for i, d in enumerate(self.is_dict):
            if d:
                self.const_hash ^= mix64(fpr.salts[i] ^ _DICT_MARK)
            else:
                self.leaf(i, None)
        self.changed = False

    @property
    def n(self) -> int:
        return len(self.leaf_field)

    def leaf(self, field: int, key: Any) -> int:
        """Returns the leaf id of (field, key), creating it (and marking the schema changed)."""
        k = (field, key)
        lid = self.leaf_of.get(k)
        if lid is not None:
            return lid
        lid = len(self.leaf_field)
        self.leaf_of[k] = lid
        self.leaf_field.append(field)
        self.leaf_key.append(key)
        salt = self.fpr.salts[field]
        self.leaf_salt.append(mix64(salt ^ stable_hash(key) ^ _DICT_MARK) if self.is_dict[field] else salt)
        self.values.append([None])
        self.codes.append({})
        self.hashes.append(np.zeros(16, dtype=np.uint64))
        if self.is_dict[field]:
            lst = self.dict_leaves[field]
            lst.append(lid)
            try:
                lst.sort(key=lambda x: self.leaf_key[x])
            except TypeError:
                lst.sort(key=lambda x: repr(self.leaf_key[x]))
        self.changed = True
        return lid

    def code(self, lid: int, value: Any) -> int:
        """Returns the code of `value` in leaf `lid`, adding it to the codebook when new."""
        cb = self.codes[lid]
        c = cb.get(value)
        if c is not None and type(self.values[lid][c]) is type(value):
            return c
        if c is not None:  # 1 and True are equal in Python but distinct values here
            for j, v in enumerate(self.values[lid]):
                if j and type(v) is type(value) and v == value:
                    return j
        vals = self.values[lid]
        c = len(vals)
        vals.append(value)
        cb.setdefault(value, c)
        h = mix64(self.leaf_salt[lid] ^ stable_hash(value))
        arr = self.hashes[lid]
        if c >= len(arr):
            arr = np.concatenate([arr, np.zeros(len(arr), dtype=np.uint64)])
            self.hashes[lid] = arr
        arr[c] = h
        return c

    # ------------------------------------------------------------------ states <-> codes
    def encode(self, state: tuple) -> list[tuple[int, int]]:
        """Returns the (leaf, code) pairs of a state (absent dict keys omitted)."""
        out = []
        for i, v in enumerate(state):
            if self.is_dict[i]:
                if type(v) is not FrozenDict:
                    raise Unbatchable(f"field {self.fields[i]} changes from a dict to a {type(v).__name__}")
                for k, x in v.items():
                    out.append((self.leaf(i, k), self.code(self.leaf(i, k), x)))
            else:
                if type(v) is FrozenDict:
                    raise Unbatchable(f"field {self.fields[i]} changes from a {type(v).__name__} to a dict")
                lid = self.leaf(i, None)
                out.append((lid, self.code(lid, v)))
        return out

    def decode(self, col: np.ndarray) -> tuple:
        """Returns the state tuple whose leaf codes are `col` (one code per leaf)."""
        out: list[Any] = [None] * len(self.fields)
        vals = self.values
        codes = np.asarray(col).tolist()  # Python ints at once: indexing a numpy array per leaf costs several times more
        n = len(codes)
        for i, d in enumerate(self.is_dict):
            if d:
                items = {}
                for lid in self.dict_leaves[i]:
                    c = codes[lid] if lid < n else 0
                    if c:
                        items[self.leaf_key[lid]] = vals[lid][c]
                out[i] = FrozenDict(items)
            else:
                lid = self.leaf_of[(i, None)]
                out[i] = vals[lid][codes[lid]]
        return tuple(out)

    def fingerprints(self, cols: np.ndarray) -> np.ndarray:
        """Returns the fingerprint of every state (column) of a (leaves x states) code matrix."""
        fp = np.full(cols.shape[1], np.uint64(self.const_hash), dtype=np.uint64)
        for lid in range(cols.shape[0]):
            fp ^= self.hashes[lid][cols[lid]]
        return fp
