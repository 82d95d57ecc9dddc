"""`Protocol`: a set of nodes and a network, compiled onto a plain `Spec`.

The engine never sees actors. A Protocol's state is a flat set of fields: `node.field` for every
node's fields, `network` (the in-flight messages), `crashed`, `partition` and `faults_left`.
Its actions are the closed vocabulary of DESIGN section 4: deliver, timer, and the faults loss,
dup, crash, restart, partition and heal; each step records what happened in `info`, which is what
trace renderers draw.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from ..dsl import choice as _choice
from ..dsl.choice import Disabled, choose, choose_present, require
from ..dsl.decorators import Mark, _attach
from ..dsl.model import SpecModel
from ..dsl.spec import Spec
from ..dsl.values import FrozenContentDict, freeze, show, stable_hash, thaw
from ..errors import ActionError, SpecError, UsageError
from .faults import FAMILIES, format_faults, parse_faults, partitions
from .node import Message, Node


def _act(fn):
    return _attach(fn, Mark("action"))


class NodeView:
    """A read-only view of one node's fields in a state (what properties see)."""

    __slots__ = ("id", "_spec", "_cls")

    def __init__(self, spec: Protocol, node_id: str, cls: type[Node]):
        self.id = node_id
        self._spec = spec
        self._cls = cls

    @property
    def crashed(self) -> bool:
        """True while the node is down (read lazily, so properties that ignore it do not read it)."""
        return self.id in self._spec.crashed

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return getattr(self._spec, f"{self.id}.{name}")
        except AttributeError:
            pass
        attr = getattr(self._cls, name, None)
        if attr is not None and callable(attr):
            return attr.__get__(self)
        raise AttributeError(f"node {self.id} ({self._cls.__name__}) has no field {name!r}")

    def __repr__(self) -> str:
        return f"<{self._cls.__name__} {self.id}>"


class Protocol(Spec):
    """Base class of an actor spec: define `nodes()` and properties; the network is built in."""

    abstract = True
    #: True: each (sender, receiver) channel delivers in order. False (default): any order.
    fifo: ClassVar[bool] = False
    #: Which partitions the `partition` fault may create: any, isolate_one or majority.
    partition_family: ClassVar[str] = "any"
    #: bounded message delays (explorer.timed): (lo, hi), a number, or a method returning one; None: unbounded
    delay: ClassVar[Any] = None

    def __init_subclass__(cls, **kw: Any) -> None:
        cls.abstract = cls.__dict__.get("abstract", False)
        super().__init_subclass__(**kw)
        if cls.partition_family not in FAMILIES:
            raise SpecError(f"{cls.__name__}.partition_family = {cls.partition_family!r}: "
                            f"choose one of {', '.join(FAMILIES)}")

    # ------------------------------------------------------------------ what a user defines
    def nodes(self) -> dict[str, Node]:
        """Returns the nodes of the system: {node id: Node instance}."""
        raise SpecError(f"{type(self).__name__} does not define nodes()",
                        hint='def nodes(self): return {"a": Server(), "b": Server()}')

    # ------------------------------------------------------------------ helpers for properties
    def node(self, node_id: str) -> NodeView:
        """Returns a read-only view of one node."""
        return NodeView(self, node_id, self._blueprint[node_id])

    def nodes_of(self, cls: type[Node] | None = None) -> list[NodeView]:
        """Returns views of every node (of class `cls`), in the order nodes() gave them."""
        return [self.node(n) for n, c in self._blueprint.items() if cls is None or issubclass(c, cls)]

    def ids(self, cls: type[Node] | None = None) -> list[str]:
        """Returns the ids of every node (of class `cls`)."""
        return [n for n, c in self._blueprint.items() if cls is None or issubclass(c, cls)]

    def in_flight(self) -> list[tuple[str, str, Message]]:
        """Returns the in-flight messages as (sender, receiver, message), one entry per copy."""
        out = []
        if self.fifo:
            for (s, d), q in sorted(self.network.items()):
                out.extend((s, d, m) for m in q)
        else:
            for (s, d, m), c in self.network.items():
                out.extend([(s, d, m)] * c)
        return out

    @classmethod
    def build_model(cls, params: dict[str, Any] | None = None, faults: Any = None) -> ProtocolModel:
        return ProtocolModel(cls, params, faults)

    # ------------------------------------------------------------------ compiled state
    def init(self) -> None:
        bp = self._blueprint
        ids = tuple(bp)
        d = self.__dict__
        for n, c in bp.items():
            for f in c._fields:
                d[f"{n}.{f.name}"] = thaw(freeze(f.default))
        if self._timed:  # timed timers (explorer.timed): their zone is one more field
            from ..timed.zone import Zone

            d["timers"] = Zone()
        d["network"] = {}
        d["crashed"] = frozenset()
        if "partition" in self._faults:
            d["partition"] = None
        spent = {k: v for k, v in self._faults.items() if not (k == "restart" and "crash" not in self._faults)}
        if spent:
            d["faults_left"] = spent
        for n in ids:
            self._run_node(n, "on_start", ())

    # ------------------------------------------------------------------ running node code
    def _run_node(self, node_id: str, method: str | Any, args: tuple, *, fn=None) -> list:
        """Runs a node method on a node object built from the state; writes fields and sends back."""
        cls = self._blueprint[node_id]
        d = self.__dict__
        obj = object.__new__(cls)
        od = obj.__dict__
        for f in cls._fields:
            od[f.name] = getattr(self, f"{node_id}.{f.name}")
        od["id"] = node_id
        od["world"] = self._world
        od["_ids"] = self._ids
        od["_out"] = out = []
        od["_proto"] = self  # what Node.suspects reads: this state's crashed nodes and partition
        od["_timer_ops"] = timer_ops = []  # Node.set_timer / cancel_timer
        (fn or getattr(cls, method))(obj, *args)
        for f in cls._fields:
            d[f"{node_id}.{f.name}"] = od[f.name]
        if timer_ops:
            self._apply_timer_ops(node_id, obj, timer_ops)
        if not out:
            return out
        net = self._net()
        for src, dst, m in out:
            key = (src, dst)
            if self.fifo:
                net[key] = tuple(net.get(key, ())) + (m,)
            else:
                k = (src, dst, m)
                net[k] = net.get(k, 0) + 1
                if self._delayed:
                    self._start_msg_clock(k)
        return out

    # ------------------------------------------------------------------ bounded message delays
    # Each copy of a message in flight has a clock `msg src→dst Msg(...) #k`, k = 0..j-1 for the j copies
    # sent under the bound; a copy whose bound a partition removed has none (it may arrive any time).

    def _msg_prefix(self, key: tuple) -> str:
        return f"msg {key[0]}→{key[1]} {show(key[2])} #"

    def _timed_copies(self, key: tuple) -> int:
        prefix = self._msg_prefix(key)
        return sum(1 for n in self.timers.names if n.startswith(prefix))

    def _start_msg_clock(self, key: tuple) -> None:
        from ..timed.spec import _bounds, _show

        d = type(self).delay
        lo, hi = _bounds("message delay", d(self) if callable(d) else d)
        name = self._msg_prefix(key) + str(self._timed_copies(key))
        self.timers = self.timers.start(name, lo, hi)
        self.__dict__.setdefault("_timing", []).append(("start", name, _show(lo), _show(hi)))

    def _take_msg_clock(self, key: tuple, arrives: bool) -> None:
        """One copy of `key` leaves the network: it arrives (within its bound) or is lost (no constraint)."""
        j = self._timed_copies(key)
        if j == 0:
            return
        untimed = self._net()[key] - j
        options = list(range(j)) + ([None] if untimed > 0 else [])
        k = choose(options, "copy") if len(options) > 1 else options[0]
        if k is None:
            return
        prefix, z = self._msg_prefix(key), self.timers
        log = self.__dict__.setdefault("_timing", [])
        if arrives:
            z = z.fire(prefix + str(k))
            require(z is not None)
            log.append(("fire", prefix + str(k)))
        else:
            z = z.cancel(prefix + str(k))
            log.append(("cancel", prefix + str(k)))
        for i in range(k + 1, j):  # keep the copies numbered 0..j-2
            z = z.rename(prefix + str(i), prefix + str(i - 1))
            log.append(("rename", prefix + str(i), prefix + str(i - 1)))
        self.timers = z

    def _net(self) -> dict:
        """The network for this step: a cheap working copy (its messages are already frozen)."""
        d = self.__dict__
        w = d.get("network")
        if w is not None:
            return w
        ctx = d["_ctx"]
        if ctx.read is not None:  # a batched engine records the read through the normal path
            return self.network
        w = FrozenContentDict(d["_state"][ctx.field_index["network"]])
        d["network"] = w
        return w

    def _deliverable(self) -> list[tuple[str, str, Message]]:
        net = self._net()
        if self.fifo:
            keys = [(s, d, q[0]) for (s, d), q in net.items() if q]
        else:
            keys = [k for k, c in net.items() if c > 0]
        if "partition" in self._faults and self.partition:
            part = self.partition
            keys = [k for k in keys if _same_block(part, k[0], k[1])]
        return sorted(keys, key=_msg_key)

    def _choose_message(self, *, deliverable: bool) -> tuple[str, str, Message]:
        """Chooses an in-flight message: a deliverable one (its channel not cut), or any one (loss).

        The options are `_deliverable()` (or every message), in `_msg_key` order; they are described
        to `choose_present` as the present keys of `network`, so the batched engine reads only the
        chosen message's leaf (a partition, when one may exist, is read first: it filters the keys).
        """
        part = self.partition if deliverable and "partition" in self._faults else None
        allowed = (lambda k: _same_block(part, k[0], k[1])) if part else None
        if self.fifo:
            if not deliverable:  # any message of any queue: not one key per option
                net = self._net()
                return choose(sorted({(s, d, m) for (s, d), q in net.items() for m in q}, key=_msg_key))
            # one queue per (sender, receiver): ordering by the channel is _msg_key's order of the heads
            return choose_present("network", self._deliverable, order=_channel_key, allowed=allowed,
                                  option=_queue_head)
        if deliverable:
            return choose_present("network", self._deliverable, order=_msg_key, allowed=allowed)
        return choose_present("network", lambda: sorted(self._net(), key=_msg_key), order=_msg_key)

    def _remove(self, key: tuple[str, str, Message]) -> None:
        net = self._net()
        s, d, m = key
        if self.fifo:
            q = list(net[(s, d)])
            q.remove(m)
            if q:
                net[(s, d)] = tuple(q)
            else:
                del net[(s, d)]
        else:
            if net[key] <= 1:
                del net[key]
            else:
                net[key] -= 1

    def _budget(self, kind: str) -> None:
        """Disables the step unless a fault of `kind` is left. Called before the step's choice, so a
        spent budget costs one run instead of one per option (and the batched engine one read per state)."""
        left = self.faults_left
        if kind == "restart" and left.get("restart") is None:
            return
        require(left.get(kind, 0) > 0)

    def _spend(self, kind: str) -> None:
        """Spends one fault of `kind`; the step called `_budget` first, so one is left."""
        left = self.faults_left
        if kind == "restart" and left.get("restart") is None:
            return
        left[kind] -= 1

    def _step(self, label: str, **info: Any) -> None:
        d = self.__dict__
        d["_step_label"] = label
        if d.get("_timing"):  # what the step did to timed timers, for the trace's concrete times
            info["timing"] = d["_timing"]
        d["_step_info"] = info

    def _apply_timer_ops(self, node_id: str, obj: Node, ops: list) -> None:
        """Applies a node's set_timer / cancel_timer calls to the zone (explorer.timed), in order."""
        from ..timed.spec import _bounds, _show

        z = self.timers
        log = self.__dict__.setdefault("_timing", [])
        for kind, name in ops:
            key = f"{node_id}.{name}"
            if kind == "start":
                after = type(obj)._timer_after[name]
                lo, hi = _bounds(key, after(obj) if callable(after) else after)
                z = z.start(key, lo, hi)
                log.append(("start", key, _show(lo), _show(hi)))
            elif z.armed(key):
                z = z.cancel(key)
                log.append(("cancel", key))
        self.timers = z

    def _handle(self, key: tuple[str, str, Message], *, keep: bool, kind: str) -> None:
        src, dst, msg = key
        cls = self._blueprint[dst]
        handler = _handler_for(cls, type(msg))
        if handler is None:  # an ActionError, so the CLI shows the steps that led to the delivery
            from ..dsl.model import _class_where

            raise ActionError(
                f"node {dst} ({cls.__name__}) received {type(msg).__name__} from {src}, "
                f"but {cls.__name__} has no @on({type(msg).__name__}) handler",
                where=_class_where(cls),
                hint=f"add a handler to {cls.__name__} (it may do nothing), or do not send it {type(msg).__name__}",
            )
        if not keep:
            if self._delayed:
                self._take_msg_clock(key, arrives=True)
            self._remove(key)
        oracle_mark = _oracle_len()
        try:
            out = self._run_node(dst, None, (msg, src), fn=handler)
        except Disabled:
            if keep or not self._delayed:
                raise
            out = []  # under a delay bound a message arrives by its deadline; if the handler's guards are false, it is ignored
        chosen = _oracle_labels_since(oracle_mark)
        extra = f" [{chosen}]" if chosen else ""
        verb = "duplicate" if kind == "dup" else ""
        self._step(f"{verb + ' ' if verb else ''}{src}→{dst} {show(msg)}{extra}", kind=kind, node=dst, src=src,
                   dst=dst, msg=show(msg), msg_type=type(msg).__name__, handler=handler.__name__,
                   sends=[(s, d, show(m)) for s, d, m in out], chose=chosen or None)

    # ------------------------------------------------------------------ the actions
    @_act
    def deliver(self) -> None:
        key = self._choose_message(deliverable=True)
        if key[1] in self.crashed:
            if self._delayed:
                self._take_msg_clock(key, arrives=True)
            self._remove(key)
            self._step(f"{key[0]}→{key[1]} {show(key[2])} lost ({key[1]} is down)", kind="drop", node=key[1],
                       src=key[0], dst=key[1], msg=show(key[2]), msg_type=type(key[2]).__name__, sends=[])
            return
        self._handle(key, keep=False, kind="deliver")

    @_act
    def fire_timer(self) -> None:
        options = [(n, t) for n, c in self._blueprint.items() if n not in self.crashed for t in c._timers
                   if t not in c._timer_after or self.timers.armed(f"{n}.{t}")]
        node_id, name = choose(options)
        cls = self._blueprint[node_id]
        fn = cls._timers[name][0]
        timed = name in cls._timer_after
        if timed:  # it goes off between lo and hi after it was armed (explorer.timed)
            z = self.timers.fire(f"{node_id}.{name}")
            require(z is not None)
            self.timers = z
            self.__dict__.setdefault("_timing", []).append(("fire", f"{node_id}.{name}"))
        mark = _oracle_len()
        try:
            out = self._run_node(node_id, None, (), fn=fn)
        except Disabled:
            if not timed:
                raise
            out = []  # a timed timer whose guards are false when it goes off fires and does nothing
        chosen = _oracle_labels_since(mark)
        self._step(f"{node_id}: timer {name}" + (f" [{chosen}]" if chosen else ""), kind="timer", node=node_id,
                   timer=name, sends=[(s, d, show(m)) for s, d, m in out], chose=chosen or None)

    @_act
    def lose(self) -> None:
        require(self._faults.get("loss", 0) > 0)
        self._budget("loss")
        key = self._choose_message(deliverable=False)
        self._spend("loss")
        if self._delayed:
            self._take_msg_clock(key, arrives=False)
        self._remove(key)
        self._step(f"lose {key[0]}→{key[1]} {show(key[2])}", kind="loss", node=key[1], src=key[0], dst=key[1],
                   msg=show(key[2]), msg_type=type(key[2]).__name__)

    @_act
    def duplicate(self) -> None:
        require(self._faults.get("dup", 0) > 0)
        self._budget("dup")
        key = self._choose_message(deliverable=True)
        require(key[1] not in self.crashed)
        self._spend("dup")
        self._handle(key, keep=True, kind="dup")

    @_act
    def crash(self) -> None:
        require(self._faults.get("crash", 0) > 0)
        self._budget("crash")
        node_id = choose([n for n in self._ids if n not in self.crashed])
        self._spend("crash")
        cls = self._blueprint[node_id]
        lost = {}
        for f in cls._fields:
            if not f.durable:
                key = f"{node_id}.{f.name}"
                old = getattr(self, key)
                default = thaw(freeze(f.default))
                if freeze(old) != freeze(default):
                    lost[f.name] = show(freeze(old))
                self.__dict__[key] = default
        self.crashed = self.crashed | {node_id}
        if self._timed:  # a crash disarms the node's timers
            z = self.timers
            for key in [k for k in z.names if k.startswith(node_id + ".")]:
                z = z.cancel(key)
                self.__dict__.setdefault("_timing", []).append(("cancel", key))
            self.timers = z
        self._step(f"crash {node_id}", kind="crash", node=node_id, lost=lost)

    @_act
    def restart(self) -> None:
        require(self._faults.get("crash", 0) > 0)
        self._budget("restart")
        node_id = choose(sorted(self.crashed))
        self._spend("restart")
        self.crashed = self.crashed - {node_id}
        mark = _oracle_len()
        out = self._run_node(node_id, "on_restart", ())
        chosen = _oracle_labels_since(mark)
        self._step(f"restart {node_id}" + (f" [{chosen}]" if chosen else ""), kind="restart", node=node_id,
                   sends=[(s, d, show(m)) for s, d, m in out])

    @_act
    def partition_network(self) -> None:
        require(self._faults.get("partition", 0) > 0)
        require(self.partition is None)
        self._budget("partition")
        blocks = choose(self._partitions)
        self._spend("partition")
        self.partition = blocks
        if self._delayed:  # the messages the partition cuts lose their delay bound
            z = self.timers
            for name in z.names:
                if name.startswith("msg "):
                    src, dst = name[4:].split(" ", 1)[0].split("→")
                    if not _same_block(blocks, src, dst):
                        z = z.cancel(name)
                        self.__dict__.setdefault("_timing", []).append(("cancel", name))
            self.timers = z
        shown = " | ".join(",".join(sorted(b)) for b in sorted(blocks, key=sorted))
        self._step(f"partition {shown}", kind="partition", blocks=[sorted(b) for b in sorted(blocks, key=sorted)])

    @_act
    def heal(self) -> None:
        require(self._faults.get("partition", 0) > 0)
        require(self.partition is not None)
        self.partition = None
        self._step("heal", kind="heal")


# ---------------------------------------------------------------------- helpers

def _same_block(part: Iterable[frozenset], a: str, b: str) -> bool:
    for block in part:
        if a in block:
            return b in block
    return True


def _msg_key(k: tuple) -> tuple:
    """Orders in-flight messages the same way in every run (sender, receiver, type, stable hash)."""
    return (k[0], k[1], type(k[2]).__name__, stable_hash(k[2]))


def _channel_key(k: tuple) -> tuple:
    return (k[0], k[1])


def _queue_head(k: tuple, q: tuple) -> tuple:
    return (k[0], k[1], q[0])


def _handler_for(cls: type[Node], mtype: type):
    for t in mtype.__mro__:
        h = cls._handlers.get(t)
        if h is not None:
            return h
    return None


def _oracle_len() -> int:
    o = _choice._current[0]
    return len(o.labels) if o is not None else 0


def _oracle_labels_since(mark: int) -> str:
    o = _choice._current[0]
    if o is None:
        return ""
    return ", ".join(f"{n}={show(v)}" if n else show(v) for n, v in o.labels[mark:])


class ProtocolModel(SpecModel):
    """The model of a Protocol: a SpecModel whose instances know the nodes and the fault budget."""

    def __init__(self, cls: type[Protocol], params: dict[str, Any] | None, faults: Any):
        self.faults_budget = parse_faults(faults)
        self.faults_text = format_faults(self.faults_budget)
        self._cls_for_nodes = cls
        super().__init__(cls, params)

    def _run_init(self):
        cls = self._cls_for_nodes
        probe = object.__new__(cls)
        probe.__dict__["_params"] = self.params
        try:
            nodes = probe.nodes()
        except SpecError:
            raise
        except UsageError as e:  # a parameter out of range, said by the spec: a usage error (exit 2)
            from ..dsl.model import user_frame

            e.where = e.where or user_frame(e, self._files)
            raise
        except Exception as e:  # noqa: BLE001
            from ..dsl.model import _class_where, user_frame

            raise SpecError(f"{cls.__name__}.nodes() raised {type(e).__name__}: {e}",
                            where=user_frame(e, self._files) or _class_where(cls)) from e
        if not isinstance(nodes, dict) or not nodes:
            raise SpecError(f"{cls.__name__}.nodes() must return a non-empty dict {{id: Node()}}")
        for n, node in nodes.items():
            if not isinstance(n, str) or not isinstance(node, Node):
                raise SpecError(f"{cls.__name__}.nodes(): {n!r} -> {node!r}: ids are strings, values Node instances",
                                hint="write Participant(), not Participant")
            if "." in n:
                raise SpecError(f"{cls.__name__}.nodes(): node id {n!r} may not contain '.'")
        blueprint = {n: type(node) for n, node in nodes.items()}
        ids = tuple(nodes)
        fam = cls.partition_family
        if "partition" in self.faults_budget and len(ids) < 2:
            raise UsageError("--faults partition needs at least two nodes")
        world = object.__new__(cls)  # what node code sees as self.world: parameters and helpers, no state
        self._base.update({
            "_world": world,
            "_blueprint": blueprint,
            "_node_options": nodes,
            "_ids": ids,
            "_faults": dict(self.faults_budget),
            "_partitions": partitions(ids, fam) if "partition" in self.faults_budget else [],
            "_timed": any(c._timer_after or c._uses_clock for c in blueprint.values()) or cls.delay is not None,
            "_delayed": cls.delay is not None,
        })
        if cls.delay is not None and cls.fifo:
            from ..dsl.model import _class_where

            raise SpecError(f"{cls.__name__}: a delay bound on a fifo network is not supported",
                            where=_class_where(cls), hint="drop fifo = True, or the delay")
        self.interpreted_only = self._base["_timed"]  # time passes after each step: see _run
        kinds = set(self.faults_budget)
        keep = {"deliver", "fire_timer"}
        if "loss" in kinds:
            keep.add("lose")
        if "dup" in kinds:
            keep.add("duplicate")
        if "crash" in kinds:
            keep |= {"crash", "restart"}
        if "partition" in kinds:
            keep |= {"partition_network", "heal"}
        world.__dict__.update({k: v for k, v in self._base.items() if k != "_world"})
        self.actions = tuple(a for a in self.actions if a.name in keep or a.fn.__module__ != __name__)
        self._action_by_name = {a.name: a for a in self.actions}
        out = super()._run_init()
        if self.interpreted_only:
            from ..timed.spec import settle_initial

            out = settle_initial(self.fields, out)
        return out

    def _run(self, a, state, prefix, exact=False):
        nxt, step, oracle = super()._run(a, state, prefix, exact)
        if nxt is not None and self.interpreted_only:  # timed: time passes after the step (explorer.timed)
            from ..timed.spec import settle_next

            nxt = settle_next(self.fields, state, nxt)
        return nxt, step, oracle
