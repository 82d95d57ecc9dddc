"""Dict fields as an action sees them during a symbolic run: each key's leaf is read only when used.

Reading a dict field used to concretise every opaque leaf of it at once, so an action that touched
`self.votes[c]` forked over the values of `votes[1]`, `votes[2]` and `votes[3]` together (Raft:
more than 5,000 paths for `timeout`). A `LazyDict` holds, per key, a thunk that wraps (and for an
opaque leaf concretises) that key's leaf on first use; keys never read stay symbolic and count as
unchanged when the action's writes are collected.

A *sparse* dict field (its key set changes from state to state, over a bounded universe of keys:
an actor spec's network, key -> copies in flight) has one leaf per universe key whose domain holds
`ABSENT`. Whether a key is present is decided (forked on) only when that key is looked up; asking
for the whole key set (iteration, len, ==) reads every key. `guarded(keys)` lets a `choose()` pick
any universe key with the condition that it is present, without reading the others (see
`SymRun.pick`): that is how the actor `deliver` action runs without forking on every message.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class _Absent:
    """The value of a sparse dict's leaf when its key is not in the dict."""

    _inst: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self) -> str:
        return "<absent>"

    def __reduce__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


class GuardedKeys(list):
    """Universe keys of a sparse dict, for `choose()`: picking one assumes it is present (`present(k)`)."""

    def __init__(self, keys: Iterable[Any], present: Callable[[Any], Any]):
        super().__init__(keys)
        self.present = present


class LazyDict(dict):
    """A dict whose values are read from leaves on first use; `sparse`: keys may be absent."""

    def __init__(self, thunks: dict[Any, Callable[[], Any]], sparse: bool,
                 present: Callable[[Any], Any] | None = None):
        super().__init__()
        self._pending = dict(thunks)
        self._order = list(thunks)  # the field's key order: iteration must not depend on what was read
        self._sparse = sparse
        self._present = present  # key -> SBool "this key is in the dict" (sparse dicts)

    # -- resolving
    def _resolve(self, k: Any) -> None:
        pending = self._pending
        if not pending:
            return
        try:
            thunk = pending.pop(k, None)
        except TypeError:  # unhashable: not a key of this dict
            return
        if thunk is not None:
            v = thunk()
            if v is not ABSENT:
                dict.__setitem__(self, k, v)

    def _resolve_all(self) -> None:
        for k in list(self._pending):
            self._resolve(k)

    def pending_keys(self) -> set:
        """Keys whose leaf was never read: their value is unchanged."""
        return set(self._pending)

    @property
    def universe(self) -> list | None:
        """Every key a sparse dict may hold (None for a dict with a fixed key set)."""
        if not self._sparse:
            return None
        return list(dict.keys(self)) + [k for k in self._pending if not dict.__contains__(self, k)]

    def guarded(self, keys: Iterable[Any]) -> GuardedKeys:
        def present(k: Any) -> Any:
            if k in self._pending and self._present is not None:
                return self._present(k)
            return dict.__contains__(self, k)

        return GuardedKeys(keys, present)

    # -- single-key access: reads one leaf
    def __getitem__(self, k: Any) -> Any:
        self._resolve(k)
        return dict.__getitem__(self, k)

    def get(self, k: Any, default: Any = None) -> Any:
        self._resolve(k)
        return dict.get(self, k, default)

    def __contains__(self, k: Any) -> bool:
        if not self._sparse:
            return k in self._pending or dict.__contains__(self, k)
        try:
            pending = k in self._pending
        except TypeError:
            return False
        if pending and self._present is not None:  # fork on presence only; the value stays unread
            if self._present(k):
                return True
            self._pending.pop(k)
            return False
        self._resolve(k)
        return dict.__contains__(self, k)

    def __setitem__(self, k: Any, v: Any) -> None:
        was_there = k in self  # a sparse key's presence is decided (its value stays unread)
        self._pending.pop(k, None)
        dict.__setitem__(self, k, v)
        if not was_there:  # a dict puts a new key last
            if k in self._order:
                self._order.remove(k)
            self._order.append(k)

    def __delitem__(self, k: Any) -> None:
        self._resolve(k)
        dict.__delitem__(self, k)

    def pop(self, k: Any, *default: Any) -> Any:
        self._resolve(k)
        return dict.pop(self, k, *default)

    def setdefault(self, k: Any, default: Any = None) -> Any:
        self._resolve(k)
        if not dict.__contains__(self, k):
            self[k] = default
        return dict.__getitem__(self, k)

    # -- whole-dict access: reads every leaf
    def _keys_fixed(self) -> bool:
        return not self._sparse or not self._pending

    def _ordered(self) -> list:
        have = [k for k in self._order if k in self._pending or dict.__contains__(self, k)]
        known = set(self._order)
        return have + [k for k in dict.keys(self) if k not in known]

    def __iter__(self):
        if not self._keys_fixed():
            self._resolve_all()
        return iter(self._ordered())

    def keys(self):
        return list(self.__iter__())

    def __len__(self) -> int:
        if not self._keys_fixed():
            self._resolve_all()
        return dict.__len__(self) + len(self._pending)

    def __bool__(self) -> bool:
        return len(self) > 0

    def values(self):
        return [v for _, v in self.items()]

    def items(self):
        self._resolve_all()
        return [(k, dict.__getitem__(self, k)) for k in self._ordered()]

    def copy(self) -> dict:
        return dict(self.items())

    def update(self, *a: Any, **kw: Any) -> None:
        for k, v in dict(*a, **kw).items():
            self[k] = v

    def __eq__(self, o: Any) -> Any:  # type: ignore[override]
        self._resolve_all()
        if isinstance(o, LazyDict):
            o._resolve_all()
        return dict.__eq__(self, o)

    def __ne__(self, o: Any) -> Any:  # type: ignore[override]
        r = self.__eq__(o)
        return r if r is NotImplemented else not r

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.copy())

    def __reduce__(self):  # pragma: no cover - states are frozen from the leaves, never pickled
        return (dict, (self.copy(),))
