"""Frozen values and their stable hashes.

A state is made of frozen values so it can be hashed and shared between the frontier and traces
without copies. Actions see thawed (mutable) copies, so a spec writes ordinary Python
(`self.votes.add(p)`, `self.log.append(x)`); the framework freezes the result after the step.

The freeze keeps the original container kind (a list comes back as a list, a frozenset a user
chose stays a frozenset), and the stable hash never uses Python's `hash()` of `str`, which
changes with PYTHONHASHSEED: fingerprints are identical in every process and every run.
"""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import struct
from fractions import Fraction
from typing import Any

MASK64 = (1 << 64) - 1


def _ne(self: Any, other: object) -> bool:
    """`!=` of the frozen containers: the negation of their `__eq__` (which may defer to the other side)."""
    eq = self.__eq__(other)
    return eq if eq is NotImplemented else not eq


class FrozenDict(dict):
    """An immutable dict: what a dict field holds inside a state."""

    __slots__ = ("_hash",)

    def _immutable(self, *a, **k):
        raise TypeError("this dict is part of a frozen state; actions get a mutable copy")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _immutable  # type: ignore[assignment]
    __ior__ = _immutable  # type: ignore[assignment]

    def __hash__(self) -> int:  # type: ignore[override]
        try:
            return self._hash
        except AttributeError:
            self._hash = h = hash(frozenset(self.items()))
            return h

    def __eq__(self, other: object) -> bool:
        # equal to a plain dict with the same items (trace.final["votes"] == {"p1": True}); a dict is
        # unhashable, so no hash has to agree. Other dict subclasses (a lazily loaded working dict) decide.
        if type(other) is FrozenDict or type(other) is dict:
            return dict.__eq__(self, other)
        return NotImplemented

    __ne__ = _ne

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: {v!r}" for k, v in sorted_items(self)) + "}"

    def __reduce__(self):
        return (FrozenDict, (dict(self),))


class FrozenList(tuple):
    """An immutable list: a list field inside a state (thaws back to a list)."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(("list", tuple.__hash__(self)))

    def __eq__(self, other: object) -> bool:
        # equal to a plain list with the same items (a list is unhashable: no hash has to agree), never
        # to a tuple, which is hashable and hashes differently
        if type(other) is FrozenList:
            return tuple.__eq__(self, other)
        if type(other) is list:
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return False if isinstance(other, tuple) else NotImplemented

    __ne__ = _ne

    def __repr__(self) -> str:
        return "[" + ", ".join(repr(v) for v in self) + "]"


class FrozenSet(frozenset):
    """An immutable set: a `set` field inside a state (thaws back to a set)."""

    __slots__ = ()

    # Equal to a frozenset with the same items (as set == frozenset in Python, so a frozen state compares
    # with what a user writes, nested too) but hashed apart from it, on purpose: the hash caches (the
    # stable_hash cache keyed by (type, value), the batched engine's codebooks) check the type of the
    # outer value only, so {"a": {1}} and {"a": frozenset({1})}, which are different states (one thaws
    # to a set), must not meet as equal keys with equal hashes there. A frozenset-compatible hash would
    # give both one fingerprint (tests/test_values.py); equality stays Python's.
    def __hash__(self) -> int:
        return hash(("set", frozenset.__hash__(self)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (frozenset, set)) and frozenset.__eq__(self, other)

    __ne__ = _ne

    def __repr__(self) -> str:
        return "{" + ", ".join(sorted(repr(v) for v in self)) + "}" if self else "set()"


def sorted_items(d: dict) -> list:
    try:
        return sorted(d.items())
    except TypeError:
        return sorted(d.items(), key=lambda kv: repr(kv[0]))


class FrozenContentDict(dict):
    """A working dict whose keys and values are already frozen: freezing it is one copy.

    The actor layer keeps the network in one of these during a step, so a step that moves one
    message does not re-freeze every message in flight.
    """

    __slots__ = ()


class UnfreezableValue(TypeError):
    """A value of a type the state cannot hold (an open file, a lambda, a plain object)."""

    def __init__(self, value: Any, path: str = ""):
        self.value = value
        self.path = path
        super().__init__(f"a value of type {type(value).__name__} cannot be part of a state")


_SCALARS = (type(None), bool, int, float, str, bytes, Fraction)  # Fraction: exact times (explorer.timed)


def freeze(value: Any, _path: str = "") -> Any:
    """Returns an immutable, hashable equivalent of `value` (shares already-frozen parts)."""
    t = type(value)
    if t in _SCALARS or t is FrozenDict or t is FrozenList or t is FrozenSet:
        return value
    if t is FrozenContentDict:
        return FrozenDict(value)
    if t is dict:
        return FrozenDict({freeze(k, _path): freeze(v, f"{_path}[{k!r}]") for k, v in value.items()})
    if t is list:
        return FrozenList(freeze(v, f"{_path}[{i}]") for i, v in enumerate(value))
    if t is set:
        return FrozenSet(freeze(v, _path) for v in value)
    if t is tuple:
        return tuple(freeze(v, f"{_path}[{i}]") for i, v in enumerate(value))
    if t is frozenset:
        return frozenset(freeze(v, _path) for v in value)
    if isinstance(value, enum.Enum):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if t.__dataclass_params__.frozen:
            return value
        raise UnfreezableValue(value, _path)
    if isinstance(value, tuple):  # namedtuple
        return value
    raise UnfreezableValue(value, _path)


def thaw(value: Any) -> Any:
    """Returns a mutable copy of a frozen value: the form an action sees."""
    t = type(value)
    if t is FrozenDict:
        return {k: thaw(v) for k, v in value.items()}
    if t is FrozenList:
        return [thaw(v) for v in value]
    if t is FrozenSet:
        return {thaw(v) for v in value}
    if t is tuple and value:
        new = tuple(thaw(v) for v in value)
        return value if all(a is b for a, b in zip(new, value, strict=True)) else new
    return value


_CONTAINERS = (FrozenDict, FrozenList, FrozenSet)


# ---------------------------------------------------------------- stable hashing

def _digest(tag: bytes, data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(tag + data, digest_size=8).digest(), "little")


def mix64(x: int) -> int:
    """splitmix64's finaliser: spreads the bits of a 64-bit integer."""
    x &= MASK64
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & MASK64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & MASK64
    x ^= x >> 31
    return x


_hash_cache: dict[tuple[type, Any], int] = {}


def stable_hash(value: Any) -> int:
    """Returns a 64-bit hash of a frozen value that is the same in every process and run."""
    key = (type(value), value)
    try:
        return _hash_cache[key]
    except KeyError:
        pass
    except TypeError:
        raise UnfreezableValue(value) from None
    h = _stable_hash(value)
    if len(_hash_cache) < 2_000_000:
        _hash_cache[key] = h
    return h


def _stable_hash(value: Any) -> int:
    t = type(value)
    if value is None:
        return _digest(b"N", b"")
    if t is bool:
        return _digest(b"B", b"1" if value else b"0")
    if t is int:
        return _digest(b"I", str(value).encode())
    if t is str:
        return _digest(b"S", value.encode("utf-8", "surrogatepass"))
    if t is float:
        return _digest(b"F", struct.pack("<d", value))
    if t is bytes:
        return _digest(b"Y", value)
    if t is Fraction:
        return _digest(b"Q", f"{value.numerator}/{value.denominator}".encode())
    if t is FrozenDict:
        acc = 0
        for k, v in value.items():
            acc = (acc + mix64(stable_hash(k) * 31 + stable_hash(v))) & MASK64
        return mix64(acc ^ 0xD1C7)
    if t is FrozenSet or t is frozenset:
        acc = 0
        for v in value:
            acc = (acc + mix64(stable_hash(v))) & MASK64
        return mix64(acc ^ (0x5E7 if t is FrozenSet else 0xF5E7))
    if isinstance(value, tuple):
        tag = 0x715 if t is FrozenList else (0x7B1 if t is tuple else stable_hash(t.__qualname__))
        acc = tag
        for v in value:
            acc = mix64(acc * 0x100000001B3 + stable_hash(v))
        return acc
    if isinstance(value, enum.Enum):
        return _digest(b"E", f"{t.__module__}.{t.__qualname__}.{value.name}".encode())
    if dataclasses.is_dataclass(value):
        acc = _digest(b"D", t.__qualname__.encode())
        for f in dataclasses.fields(value):
            acc = mix64(acc * 0x100000001B3 + stable_hash(getattr(value, f.name)))
        return acc
    raise UnfreezableValue(value)


def show(value: Any) -> str:
    """Returns the short, readable form of a value used in traces and messages."""
    if isinstance(value, frozenset) and type(value) is not FrozenSet:
        return "frozenset()" if not value else "{" + ", ".join(sorted(show(v) for v in value)) + "}"
    if type(value) is tuple:
        return "(" + ", ".join(show(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)
