"""Actors: `Node`, `Message`, handlers (`@on`), timers (`@timer`) and `durable` fields.

A node's fields are its class attributes (their values are the defaults); `durable(default)` marks a
field that survives a crash. Handlers and timers are ordinary methods that may `require` and
`choose`; they record sends in an outbox instead of performing them, so a handler stays a pure
function of the node's state and the message (Stateright's `Out`).
"""
from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from ..dsl.decorators import MARK, Mark, _attach
from ..dsl.spec import where_of
from ..errors import ActionError, SpecError


class Message:
    """Base class of messages: a subclass with annotated fields becomes a frozen dataclass."""

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        dataclasses.dataclass(frozen=True)(cls)
        field_hash = cls.__hash__

        def __hash__(self, _h=field_hash):  # messages are hashed often: in every network key
            d = self.__dict__
            h = d.get("_hash")
            if h is None:
                h = _h(self)
                object.__setattr__(self, "_hash", h)
            return h

        cls.__hash__ = __hash__

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}  # hash(str) differs per process

    def __setstate__(self, state: dict) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)


@dataclass(frozen=True)
class durable:  # noqa: N801 - reads as a declaration: `decision = durable(None)`
    """Declares a node field that survives a crash (plain fields reset to their default)."""

    default: Any = None


def on(*message_types: type, fair: bool | str = True) -> Callable:
    """Marks a handler of messages of the given types: `handler(self, msg, sender)`.

    Each in-flight message it handles is weakly fair by default (`fair=True`): eventually delivered
    while deliverable. `fair="strong"` or `fair=False` change that for liveness (docs/liveness.md).
    """
    for t in message_types:
        if not (isinstance(t, type) and issubclass(t, Message)):
            name = getattr(t, "__name__", repr(t))
            raise SpecError(f"@on({name}): {name} is not a Message subclass; handlers take Message subclasses",
                            hint=f"declare it as class {name}(explorer.Message), with annotated fields")
    if not message_types:
        raise SpecError("@on() needs at least one Message subclass")
    return lambda fn: _attach(fn, Mark("on", fair=fair, extra=message_types))


def timer(fn: Callable | None = None, *, fair: bool | str = False, after: Any = None):
    """Marks a timer: it may fire at any moment while its `require` guards hold (untimed semantics).

    `after=(lo, hi)` (or a number, or a function of the node returning either) makes it a timed
    timer (explorer.timed): `self.set_timer(name)` arms it, and it fires once, between lo and hi
    after it was armed, never later (timers are urgent). When its `require`s are false at that
    moment, it fires and does nothing. A crash disarms the node's timers.
    """
    if fn is None:
        return lambda f: _attach(f, Mark("timer", fair=fair, extra=after))
    return _attach(fn, Mark("timer", fair=fair, extra=after))


@dataclass(frozen=True)
class FieldDef:
    """One node field: its name, default value and whether it survives a crash."""

    name: str
    default: Any
    durable: bool


class Node:
    """Base class of an actor. Subclass it; fields are class attributes, behaviour is handlers."""

    _fields: ClassVar[tuple[FieldDef, ...]] = ()
    _handlers: ClassVar[dict[type, Callable]] = {}
    _timers: ClassVar[dict[str, tuple[Callable, Any]]] = {}
    _timer_after: ClassVar[dict[str, Any]] = {}  # timed timers: name -> after (explorer.timed)
    _uses_clock: ClassVar[bool] = False  # its code calls clock_mark: the protocol keeps a zone

    def __init__(self, *, symmetric: str | None = None, **options: Any):
        self.symmetric = symmetric
        self.options = options

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        fields: dict[str, FieldDef] = {}
        handlers: dict[type, Callable] = {}
        timers: dict[str, tuple[Callable, Any]] = {}
        after: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            if klass in (object, Node):
                continue
            local: dict[type, Callable] = {}
            for name, value in vars(klass).items():
                if name.startswith("_"):
                    continue
                mark = getattr(value, MARK, None)
                if mark is not None:
                    if mark.kind == "on":
                        for t in mark.extra:
                            if t in local:
                                raise SpecError(f"{klass.__name__} has two handlers for {t.__name__}: "
                                                f"{local[t].__name__} and {name}", where=where_of(value))
                            local[t] = handlers[t] = value
                    elif mark.kind == "timer":
                        timers[name] = (value, mark.fair)
                        if mark.extra is not None:
                            after[name] = mark.extra
                        else:
                            after.pop(name, None)
                    else:
                        raise SpecError(f"@{mark.kind} on {cls.__name__}.{name}: a node takes @on and @timer;"
                                        f" put @{mark.kind} on the Protocol class", where=where_of(value))
                    continue
                if isinstance(value, durable):
                    fields[name] = FieldDef(name, value.default, True)
                elif callable(value) or isinstance(value, (property, staticmethod, classmethod, type)):
                    fields.pop(name, None)
                else:
                    fields[name] = FieldDef(name, value, False)
        cls._fields = tuple(fields.values())
        cls._handlers = handlers
        cls._timers = timers
        cls._timer_after = after
        cls._uses_clock = _uses_clock(cls)

    # ------------------------------------------------------------------ what handlers call
    def send(self, to: str, message: Message) -> None:
        """Records the need to send `message` to node `to` (delivered later, maybe never)."""
        # ActionError: the CLI then names the spec line of the send and shows the steps that led there.
        if not isinstance(message, Message):
            raise ActionError(f"{self.id}.send({to!r}, {message!r}): the message must be a Message instance",
                              where=_caller_where(), hint="class Ping(explorer.Message): ...; send(to, Ping())")
        if to not in self.__dict__["_ids"]:
            raise ActionError(f"{self.id}.send({to!r}, ...): there is no node {to!r}", where=_caller_where(),
                              hint="nodes: " + ", ".join(self.__dict__["_ids"]))
        self.__dict__["_out"].append((self.id, to, message))

    def broadcast(self, message: Message, to: Any = None) -> None:
        """Records a send of `message` to each node of `to` (default: every other node)."""
        targets = [n for n in self.__dict__["_ids"] if n != self.id] if to is None else list(to)
        for t in targets:
            self.send(t, message)

    def suspects(self, peer: str) -> bool:
        """Says whether a timeout-based failure detector at this node now reports `peer` as failed.

        It models the synchronous system 3PC and the bully algorithm assume (delays bounded, timeouts
        longer than the bound): True when `peer` is down and nothing it sent to this node is still in
        flight (by the time a timeout fires, every message sent before the crash has arrived), or when
        `peer` is cut off from this node by the current partition (its messages are delayed without
        bound: a timeout cannot tell that from a crash, which is what the partition fault exposes).
        A timer guarded by `require(self.suspects(p))` is "time out when p stops answering"; a timer
        without such a guard may fire at any moment, like a detector that suspects wrongly.
        """
        proto = self.__dict__["_proto"]
        part = proto.partition if "partition" in proto._faults else None
        if part:
            from .protocol import _same_block

            if not _same_block(part, self.id, peer):
                return True
        if peer not in proto.crashed:
            return False
        me = self.id
        for key in proto._net():  # fifo: (sender, receiver); otherwise (sender, receiver, message)
            if key[0] == peer and key[1] == me:
                return False
        return True

    def set_timer(self, name: str) -> None:
        """Arms this node's timed timer `name` (declared `@timer(after=...)`); re-arming restarts it."""
        self._timer_op("start", name)

    def cancel_timer(self, name: str) -> None:
        """Disarms this node's timed timer `name` (no effect when it is not armed)."""
        self._timer_op("cancel", name)

    # ------------------------------------------------------------------ the local clock (explorer.timed.clock)
    def clock_drift(self) -> Any:
        """This node's clock runs at a rate within this bound of real time (0.01 = 1%); override it."""
        return 0

    def clock_mark(self, name: str) -> str:
        """Marks "now" as `name` on this node's clock (re-marking restarts it); returns the name.

        A mark is volatile: a crash drops it. Read it with `elapsed_since(name) < c`.
        """
        from ..timed.clock import MARK_PREFIX

        proto = self._clock_proto("clock_mark", name)
        key = f"{self.id}.{MARK_PREFIX}{name}"
        proto.timers = proto.timers.start(key, 0, None)
        proto.__dict__.setdefault("_timing", []).append(("start", key, "0", None))
        return name

    def forget_mark(self, name: str) -> None:
        """Drops mark `name` (no effect when there is none)."""
        from ..timed.clock import MARK_PREFIX

        proto = self._clock_proto("forget_mark", name)
        key = f"{self.id}.{MARK_PREFIX}{name}"
        if proto.timers.armed(key):
            proto.timers = proto.timers.cancel(key)
            proto.__dict__.setdefault("_timing", []).append(("cancel", key))

    def elapsed_since(self, name: str, drift: Any = None):
        """The time since mark `name` on this node's clock: compare it (`< ttl`); both answers are explored."""
        from ..timed.clock import MARK_PREFIX, Elapsed

        proto = self._clock_proto("elapsed_since", name)
        key = f"{self.id}.{MARK_PREFIX}{name}"
        if not proto.timers.armed(key):
            raise ActionError(f"{self.id}.elapsed_since({name!r}): no mark {name!r} is set", where=_caller_where(),
                              hint=f"call self.clock_mark({name!r}) first (a crash drops marks)")
        return Elapsed(key, f"{self.id} {name}", self.clock_drift() if drift is None else drift,
                       lambda k, op, c: _clock_bound(proto, k, op, c))

    def _clock_proto(self, what: str, name: str) -> Any:
        proto = self.__dict__["_proto"]
        if "timers" not in proto.__dict__:
            raise ActionError(f"{self.id}.{what}({name!r}): this protocol has no zone for clocks",
                              where=_caller_where(), hint="call clock_mark from a method of the node class itself")
        return proto

    def _timer_op(self, kind: str, name: str) -> None:
        if name not in type(self)._timer_after:
            timed = ", ".join(type(self)._timer_after) or "none"
            raise ActionError(f"{self.id}.{'set' if kind == 'start' else kind}_timer({name!r}): {type(self).__name__} has no timed timer {name!r} "
                              f"(timed timers: {timed})", where=_caller_where(),
                              hint=f"declare it: @timer(after=(lo, hi)) def {name}(self): ...")
        self.__dict__["_timer_ops"].append((kind, name))

    def on_start(self) -> None:
        """Runs once when the system starts (part of the initial state)."""

    def on_restart(self) -> None:
        """Runs when the node comes back after a crash, with its durable fields only."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.__dict__.get('id', '?')}>"


def _clock_bound(proto: Any, key: str, op: str, c: Any) -> None:
    """Applies a clock read's branch to the protocol's zone and records it for the trace's times."""
    from ..timed.clock import apply_bound
    from ..timed.spec import _show

    proto.timers = apply_bound(proto.timers, key, op, c)
    proto.__dict__.setdefault("_timing", []).append((op, key, _show(c)))


def _uses_clock(cls: type) -> bool:
    """Says whether a node class's own code calls clock_mark (then its protocol keeps a zone)."""
    for klass in cls.__mro__:
        if klass in (object, Node):
            continue
        for value in vars(klass).values():
            code = getattr(value, "__code__", None)
            if code is not None and "clock_mark" in code.co_names:
                return True
    return False


def _caller_where() -> str | None:
    """Returns "file:line" of the innermost caller outside explorer itself: the spec line that called us."""
    package = __file__.rsplit("/actors/", 1)[0]
    frame = inspect.currentframe()
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(package):
            return f"{name}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def handler_where(fn: Callable) -> str | None:
    try:
        return f"{inspect.getsourcefile(fn)}:{fn.__code__.co_firstlineno}"
    except (OSError, TypeError, AttributeError):
        return None
