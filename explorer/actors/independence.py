"""Which steps of an actor spec commute: what `--por` (explorer/engine/por.py) needs from the actor layer.

A node's steps (deliveries to it, its timers, its restart) read and write only its own fields, remove
messages addressed to it, and add messages to the network (a multiset: adding commutes with removing
other copies). Two nodes' steps therefore commute. What can break that, and how it is handled:

- A node outside the chosen set N sends to a node of N before N moves: the new delivery would be a
  step of N enabled from outside, which the reduced graph would order wrongly. `closure` adds such
  nodes to N. It over-approximates who may send what with a static scan of the handlers' code (the
  Message classes each handler, timer and on_restart names, following the node's own methods and the
  protocol's helpers), from the messages in flight and the nodes that can still move, to a fixpoint.
  Every step the search computes is then checked against that scan (`check`): a send it did not
  predict stops the run with a usage error rather than give a wrong answer.
- Fault budgets are shared by all nodes: one node's crash may use the last unit another node's crash
  needed. Such steps still commute when both can happen (the budget is just decremented twice), so a
  node's losses (of messages to it), duplicates, crash and restart are its steps like any other; but
  since another node can disable them, a reduced set must also hold a step nothing outside can
  disable (a delivery, a timer, a drop, an unbudgeted restart: `is_key`), Valmari's key transition.
- Partitions change who can receive for every node: while a partition budget is left or a partition
  is up, the state is fully expanded.
- Fields the actor layer does not know (a user @action on the Protocol, timed-timer clocks, ...),
  and `Node.suspects` with crash faults (it reads another node's crash): never reduced.
"""
from __future__ import annotations

import builtins
import dis
import sys
import types
from typing import Any

from ..errors import UsageError
from .node import Message, Node

_ANY = None  # "may send any message type"
_KNOWN = {"network", "crashed", "partition", "faults_left"}
_NODE_KINDS = {"deliver", "drop", "timer", "restart", "dup", "loss", "crash"}


class ActorIndependence:
    """The independence relation of one ProtocolModel's steps, by node."""

    def __init__(self, model: Any):
        base = model._base
        self.model = model
        self.blueprint: dict[str, type] = base["_blueprint"]
        self.ids: tuple[str, ...] = base["_ids"]
        self.fifo = bool(getattr(model.spec_cls, "fifo", False))
        fields = tuple(model.fields)
        self.index = {f: i for i, f in enumerate(fields)}
        node_fields = {f"{n}.{f.name}" for n, c in self.blueprint.items() for f in c._fields}
        builtin_actions = {"deliver", "fire_timer", "lose", "duplicate", "crash", "restart", "partition_network",
                           "heal"}
        user_actions = [a.name for a in model.actions if a.name not in builtin_actions]
        self.unknown = sorted(set(fields) - node_fields - _KNOWN) + user_actions
        # Node.suspects(peer) reads the peer's crash and what it has in flight: with crashes, one node's
        # crash or restart can enable another's timer, so those steps are no longer independent
        if "crash" in base["_faults"] and _mentions_suspects(model.spec_cls, set(self.blueprint.values())):
            self.unknown.append("Node.suspects under crash faults")
        self.net_i = self.index.get("network")
        self.left_i = self.index.get("faults_left")
        self.part_i = self.index.get("partition")
        self.crashed_i = self.index.get("crashed")
        proto = model.spec_cls
        # static sends: per class, per handled message type / timers / restart
        self.handles: dict[type, dict[type, Any]] = {}
        self.sends_of_handler: dict[tuple[type, Any], frozenset | None] = {}
        self.timer_sends: dict[type, frozenset | None] = {}
        for cls in sorted(set(self.blueprint.values()), key=lambda c: c.__qualname__):
            self.handles[cls] = dict(cls._handlers)
            # a handler that uses the message it got as a value (not only msg.field) may keep or forward
            # it: then any code of the class may send that type later
            kept = frozenset(t for t, h in cls._handlers.items() if _uses_message(h))
            runs: dict[Any, Any] = {h: h for h in cls._handlers.values()}
            runs.update({name: fn for name, (fn, _fair) in cls._timers.items()})
            runs["on_restart"] = cls.on_restart
            acc: set | None = set()
            for key, fn in runs.items():
                s = _sent_types(fn, (cls, proto))
                s = None if s is None else s | kept
                self.sends_of_handler[(cls, key)] = s
                if not (isinstance(key, str) or key is None):
                    continue
                acc = None if s is None or acc is None else acc | s
            self.timer_sends[cls] = None if acc is None else frozenset(acc)
        self._dest_cache: dict[type, frozenset[str]] = {}

    # ------------------------------------------------------------------ the engine's interface
    def groups(self, state: tuple, succs: list) -> dict[str, list[int]] | None:
        """Successor indices by the node they belong to; None when the state must be fully expanded."""
        if self.unknown:
            return None
        for nxt, step in succs:  # in every state: the scan is trusted in states reduced later
            if step.info:
                self.check(state, nxt, step)
        if self.left_i is not None and state[self.left_i].get("partition"):
            return None  # a partition may come: it changes what every node can receive
        if self.part_i is not None and state[self.part_i] is not None:
            return None  # a partition is up: `heal` changes what every node can receive
        out: dict[str, list[int]] = {}
        for i, (_nxt, step) in enumerate(succs):
            info = step.info
            node = info.get("node") if info else None
            if node is None or info.get("kind") not in _NODE_KINDS:
                return None
            out.setdefault(node, []).append(i)
        return out

    def is_key(self, state: tuple, step: Any) -> bool:
        """True for a step no other node's steps can disable (the stubborn set's key transition).

        Loss, duplication and crash steps spend a budget every node shares: another node's fault can
        disable them, so they may be in a reduced set (they commute) but never be its only reason.
        A restart spends one only when `restart=K` is given.
        """
        kind = step.info.get("kind")
        if kind in ("deliver", "drop", "timer"):
            return True
        return kind == "restart" and not (self.left_i is not None and "restart" in state[self.left_i])

    def closure(self, state: tuple, start: str, enabled: set[str]) -> set[str]:
        """The nodes that must move with `start`: those that may send to the set before it moves."""
        return self.close_over(start, enabled, self._inflight_types(state))

    def close_over(self, start: str, enabled: set[str], inflight: dict[str, set[type]]) -> set[str]:
        """`closure` given the message types in flight per destination (the batched --por reads them off
        the network's leaf codes, engine/batch_por.py)."""
        members = {start}
        while True:
            joined = self._senders_into(members, enabled, inflight)
            if not joined:
                return members
            members |= joined

    # ------------------------------------------------------------------ helpers
    def _senders_into(self, members: set[str], enabled: set[str], inflight: dict[str, set[type]]) -> set[str]:
        """Nodes outside `members` that may send to a member while the members stand still."""
        arriving: dict[str, set] = {}
        active = [q for q in sorted(enabled) if q not in members]
        joined: set[str] = set()
        while active:
            q = active.pop()
            cls = self.blueprint[q]
            sends = self._may_send(cls, inflight.get(q, set()) | arriving.get(q, set()))
            dests = self.ids if sends is None else sorted({d for t in sends for d in self._dests(t)})
            for d in dests:
                if d == q:
                    continue
                if d in members:
                    joined.add(q)
                    continue
                types_to_d = set(self._handled_types(self.blueprint[d])) if sends is None else set(sends)
                got = arriving.setdefault(d, set())
                if not types_to_d <= got:
                    got |= types_to_d
                    active.append(d)  # it may now move, or send more: (re)consider it
        return joined

    def _may_send(self, cls: type, msg_types: set) -> frozenset | None:
        """What a node may send once it moves: its timers, its restart, handlers of these messages."""
        out = self.timer_sends[cls]
        if out is None:
            return None
        acc = set(out)
        hs = self.handles[cls]
        for t in msg_types:
            h = _handler(hs, t)
            if h is None:
                continue
            s = self.sends_of_handler[(cls, h)]
            if s is None:
                return None
            acc |= s
        return frozenset(acc)

    def _handled_types(self, cls: type) -> list[type]:
        return list(self.handles[cls])

    def _dests(self, t: type) -> frozenset[str]:
        d = self._dest_cache.get(t)
        if d is None:
            d = frozenset(n for n, c in self.blueprint.items() if _handler(self.handles[c], t) is not None)
            self._dest_cache[t] = d
        return d

    def _inflight_types(self, state: tuple) -> dict[str, set[type]]:
        out: dict[str, set[type]] = {}
        if self.net_i is None:
            return out
        net = state[self.net_i]
        last = self.__dict__.get("_inflight_last")
        if last is not None and last[0] is net:  # every candidate node of one state asks
            return last[1]
        self._inflight_last = (net, out)
        for key, v in state[self.net_i].items():
            if self.fifo:
                out.setdefault(key[1], set()).update(type(m) for m in v)
            else:
                out.setdefault(key[1], set()).add(type(key[2]))
        return out

    def check(self, state: tuple, nxt: tuple, step: Any) -> None:
        """Stops the run when a step sends a message type the static scan did not predict."""
        sends = step.info.get("sends")
        if not sends or self.net_i is None:
            return
        before, after = state[self.net_i], nxt[self.net_i]
        if before is after:
            return
        sent: set[type] = set()
        for key, v in after.items():
            old = before.get(key)
            if self.fifo:
                n_old = len(old) if old else 0
                sent.update(type(m) for m in v[n_old:])
            elif v > (old or 0):
                sent.add(type(key[2]))
        info = step.info
        node = info["node"]
        cls = self.blueprint[node]
        kind = info.get("kind")
        if kind == "timer":
            pred = self.sends_of_handler.get((cls, info.get("timer")))
        elif kind == "restart":
            pred = self.sends_of_handler.get((cls, "on_restart"))
        else:
            h = next((h for t, h in self.handles[cls].items() if t.__name__ == info.get("msg_type")), None)
            pred = self.sends_of_handler.get((cls, h)) if h is not None else None
        if pred is None:
            return
        missed = [t.__name__ for t in sent if not any(issubclass(t, p) for p in pred)]
        if missed:
            raise UsageError(f"--por: step {step.label} sent {', '.join(sorted(missed))}, which the scan of "
                             f"{cls.__name__}'s code did not predict, so the reduction could be unsound",
                             hint="run without --por (or construct messages in the handler that sends them)")


def for_model(model: Any) -> ActorIndependence:
    """The independence object `--por` uses, or a UsageError for a model that is not an actor spec."""
    from .protocol import ProtocolModel

    if not isinstance(model, ProtocolModel):
        raise UsageError(f"--por: {model.name} is a plain spec; partial-order reduction applies to actor specs "
                         "(Protocol), whose steps belong to nodes", hint="run without --por")
    return ActorIndependence(model)


# ---------------------------------------------------------------------- the static scan


def _mentions_suspects(proto: type, classes: set[type]) -> bool:
    """True when any code of the node classes, the protocol or their modules names `suspects`."""
    owners = [k for c in classes for k in c.__mro__ if k.__module__ != Node.__module__ and k is not object]
    owners += [k for k in proto.__mro__ if not _ours(k.__module__) and k is not object]
    funcs = [v for k in owners for v in vars(k).values()]
    for k in owners:
        mod = sys.modules.get(k.__module__)
        if mod is not None:
            funcs.extend(vars(mod).values())
    for f in funcs:
        f = getattr(f, "__func__", f)
        if not isinstance(f, types.FunctionType):
            continue
        stack = [f.__code__]
        while stack:
            code = stack.pop()
            if "suspects" in code.co_names:
                return True
            stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return False


def _handler(handles: dict[type, Any], t: type) -> Any:
    for k in t.__mro__:
        h = handles.get(k)
        if h is not None:
            return h
    return None


def _uses_message(fn: Any) -> bool:
    """True when a handler uses its message argument other than to read one of its fields."""
    fn = getattr(fn, "__func__", fn)
    code = fn.__code__
    if code.co_argcount < 2:
        return False
    name = code.co_varnames[1]
    if name in code.co_cellvars:
        return True  # captured by a closure: assume the worst
    ins = list(dis.get_instructions(code))
    for a, b in zip(ins, ins[1:], strict=False):
        if a.opname == "LOAD_FAST" and a.argval == name and b.opname not in ("LOAD_ATTR", "LOAD_METHOD"):
            return True
    return bool(ins) and ins[-1].opname == "LOAD_FAST" and ins[-1].argval == name


def _sent_types(fn: Any, owners: tuple[type, ...], seen: set | None = None) -> frozenset | None:
    """The Message classes `fn` may construct (following methods and helpers); None when unknown."""
    seen = set() if seen is None else seen
    fn = getattr(fn, "__func__", fn)
    if not isinstance(fn, types.FunctionType) or fn in seen:
        return frozenset()
    seen.add(fn)
    out: set[type] = set()
    glb = fn.__globals__
    for cell in fn.__closure__ or ():
        try:
            r = _classify(cell.cell_contents, owners, seen)
        except ValueError:
            continue
        if r is None:
            return None
        out |= r
    stack = [fn.__code__]
    while stack:
        code = stack.pop()
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
        for ins in dis.get_instructions(code):
            op = ins.opname
            if op in ("LOAD_GLOBAL", "LOAD_NAME"):
                name = ins.argval
                obj = glb.get(name, builtins.__dict__.get(name))
                r = _classify(obj, owners, seen)
            elif op in ("LOAD_ATTR", "LOAD_METHOD"):
                r = frozenset()
                for owner in owners:
                    attr = getattr(owner, ins.argval, None)
                    if isinstance(attr, (types.FunctionType, staticmethod, classmethod)):
                        if _ours(getattr(attr, "__module__", "") or ""):
                            continue
                        sub = _sent_types(attr, owners, seen)
                        if sub is None:
                            return None
                        r = r | sub
            else:
                continue
            if r is None:
                return None
            out |= r
    return frozenset(out)


def _classify(obj: Any, owners: tuple[type, ...], seen: set) -> frozenset | None:
    if isinstance(obj, type):
        return frozenset({obj}) if issubclass(obj, Message) else frozenset()
    if isinstance(obj, types.FunctionType):
        if _ours(obj.__module__ or ""):
            return frozenset()
        return _sent_types(obj, owners, seen)
    if isinstance(obj, types.ModuleType):
        name = obj.__name__.split(".")[0]
        return frozenset() if name in sys.stdlib_module_names or _ours(obj.__name__) or name == "numpy" else None
    return frozenset()


def _ours(module: str) -> bool:
    """explorer's own code (spec files load as `explorer_spec_...` modules: those are the user's)."""
    return module == "explorer" or module.startswith("explorer.")
