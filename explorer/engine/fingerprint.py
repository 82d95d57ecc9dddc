"""64-bit fingerprints of states: Zobrist hashing over the state's leaves.

A leaf is a field, or one key of a dict field. Each leaf value gets a stable 64-bit hash salted with
the leaf's name; a state's fingerprint is the XOR of its leaves' hashes. So:
- it is the same in every process, run and worker count (no `hash()` of `str`);
- a step that changes one field updates the fingerprint in O(that field), not O(state);
- a batched engine that keeps one column per leaf computes the same value with numpy.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..dsl.values import FrozenDict, mix64, stable_hash

_DICT_MARK = 0x9E3779B97F4A7C15


class Fingerprinter:
    """Computes and updates fingerprints of states of one model."""

    __slots__ = ("salts", "caches")

    def __init__(self, fields: tuple[str, ...]):
        self.salts = [stable_hash(("field", f)) for f in fields]
        self.caches: list[dict[Any, int]] = [{} for _ in fields]

    def leaf_salt(self, i: int, key: Any = None, *, keyed: bool = False) -> int:
        s = self.salts[i]
        return mix64(s ^ stable_hash(key) ^ _DICT_MARK) if keyed else s

    def field_hash(self, i: int, value: Any) -> int:
        cache = self.caches[i]
        try:
            return cache[value]
        except KeyError:
            pass
        salt = self.salts[i]
        if type(value) is FrozenDict:
            h = mix64(salt ^ _DICT_MARK)
            for k, v in value.items():
                h ^= mix64(mix64(salt ^ stable_hash(k) ^ _DICT_MARK) ^ stable_hash(v))
        else:
            h = mix64(salt ^ stable_hash(value))
        if len(cache) > 500_000:
            cache.clear()
        cache[value] = h
        return h

    def of(self, state: tuple) -> int:
        fp = 0
        fh = self.field_hash
        for i, v in enumerate(state):
            fp ^= fh(i, v)
        return fp

    def update(self, fp: int, old: tuple, new: tuple) -> int:
        """Returns the fingerprint of `new` given `fp` of `old` (fields unchanged are the same objects)."""
        fh = self.field_hash
        for i, v in enumerate(new):
            o = old[i]
            if v is not o:
                fp ^= fh(i, o) ^ fh(i, v)
        return fp


def absent(sorted_fps: np.ndarray, fps: np.ndarray) -> np.ndarray:
    """Mask of the fingerprints `fps` that are not in the sorted array `sorted_fps` (one binary search each)."""
    if not len(sorted_fps):
        return np.ones(len(fps), dtype=bool)
    pos = np.searchsorted(sorted_fps, fps)
    pos[pos == len(sorted_fps)] = 0
    return sorted_fps[pos] != fps


def unseen(visited: Any, fps: np.ndarray) -> np.ndarray:
    """Mask of the sorted distinct fingerprints `fps` not in `visited`: a sorted array, or a set that
    looks them up itself (diskstore.DiskVisited, Layers)."""
    return absent(visited, fps) if type(visited) is np.ndarray else visited.unseen(fps)


class Layers:
    """Disjoint fingerprint sets looked up as one: the first, then each next one only for what the ones
    before did not hold (so the largest goes first). A layer is anything `unseen` takes. The pool's
    visited set is the shared merged set plus the sorted runs of the levels not merged yet; a --disk level
    is the visited file plus the level's new fingerprints so far."""

    def __init__(self, layers: list[Any]):
        self.layers = layers

    def __len__(self) -> int:
        return sum(len(x) for x in self.layers)

    def unseen(self, fps: np.ndarray) -> np.ndarray:
        keep = unseen(self.layers[0], fps) if self.layers else np.ones(len(fps), dtype=bool)
        for layer in self.layers[1:]:
            sel = np.flatnonzero(keep)
            if not len(sel):
                break
            keep[sel] = unseen(layer, fps[sel])
        return keep
