"""A BASE store: asynchronous replication, last-writer-wins, and client sessions.

What is modelled: n replicas of one key. A replica accepts a write on its own, stamps it with a
timestamp (Lamport counter, replica id), answers at once, and replicates it to the others in the
background; a replica keeps whichever version has the larger timestamp (last writer wins), so
replicas that have seen the same writes hold the same value whatever the delivery order.
Client sessions run a script of operations (`--param script=wr,rr`: session s1 writes then
reads, s2 reads twice), one at a time, each sent to one replica:

- `variant=sticky` (default): a session always talks to the same replica (its "home");
- `variant=any_replica`: each operation may go to any replica (a load balancer without affinity).

Properties, over the history the client harness records (invariants.history):
- `convergence`: once nothing is in flight and no operation is pending, replicas agree. Holds
  fails once a replication message may be lost (`--faults loss=1`),
  as nothing here re-sends it: that is what anti-entropy and read repair are for. (Duplicated
  replies are not modelled: the harness matches a reply to its session, not to one operation.)
- `read_your_writes`, `monotonic_reads`: hold with sticky sessions; fail with `any_replica`:

    explore specs/eventual.py --param variant=any_replica --param script=wr
    explore specs/eventual.py --param variant=any_replica --param script=w,rr

What is abstracted away: keys (one register), wall-clock time (Lamport counters order writes, so
clock skew is not modelled), failover of a session's home replica, and anti-entropy.
"""
from explorer import Message, Node, Protocol, choose, invariant, on, param, reachable, timer
from explorer.dsl.expect import holds, violates
from invariants.history import Op, convergence, monotonic_reads, read_your_writes

NO_TS = (0, "")  # the timestamp of the initial value


class Put(Message):
    session: str
    value: str


class PutOk(Message):
    session: str
    ts: tuple


class Get(Message):
    session: str


class GetOk(Message):
    session: str
    value: object
    ts: tuple


class Replicate(Message):
    value: str
    ts: tuple


class Replica(Node):
    value = None
    ts = NO_TS
    counter = 0  # Lamport counter: larger than every timestamp seen

    def apply(self, value, ts):
        self.counter = max(self.counter, ts[0])
        if ts > self.ts:  # last writer wins
            self.value, self.ts = value, ts

    @on(Put)
    def got_put(self, msg, sender):
        ts = (self.counter + 1, self.id)
        self.apply(msg.value, ts)
        self.send(sender, PutOk(session=msg.session, ts=ts))
        self.broadcast(Replicate(value=msg.value, ts=ts), to=[r for r in self.world.replicas() if r != self.id])

    @on(Replicate)
    def got_replicate(self, msg, sender):
        self.apply(msg.value, msg.ts)

    @on(Get)
    def got_get(self, msg, sender):
        self.send(sender, GetOk(session=msg.session, value=self.value, ts=self.ts))


class Clients(Node):
    """The test harness: runs every session's script and records invoke/return on one clock."""

    clock = 0
    history = ()  # Op records; a write's result is its timestamp, a read's is (timestamp, value)

    @timer
    def invoke(self):
        ready = [s for s in self.world.sessions() if self.next_op(s) is not None]
        session = choose(ready, "session")
        kind = self.next_op(session)
        replica = choose(self.world.replicas_for(session), "replica")
        self.clock += 1
        if kind == "w":
            value = f"{session}.{self.done(session) + 1}"
            self.history += (Op(session, "write", value, self.clock, None, None),)
            self.send(replica, Put(session=session, value=value))
        else:
            self.history += (Op(session, "read", None, self.clock, None, None),)
            self.send(replica, Get(session=session))

    def done(self, session):
        return sum(1 for op in self.history if op.client == session)

    def next_op(self, session):
        """Returns the session's next operation ('w' or 'r'), or None when busy or finished."""
        if any(op.client == session and op.ret is None for op in self.history):
            return None
        script = self.world.script[self.world.sessions().index(session)]
        k = self.done(session)
        return script[k] if k < len(script) else None

    def complete(self, session, result):
        self.clock += 1
        self.history = tuple(op._replace(ret=self.clock, result=result)
                             if op.client == session and op.ret is None else op for op in self.history)

    @on(PutOk)
    def got_put_ok(self, msg, sender):
        self.complete(msg.session, msg.ts)

    @on(GetOk)
    def got_get_ok(self, msg, sender):
        self.complete(msg.session, (msg.ts, msg.value))


def version(result):
    """The timestamp of an operation's result: writes return it, reads return (timestamp, value)."""
    return result[0] if isinstance(result[0], tuple) else result


class Eventual(Protocol):
    n = param(2, help="number of replicas")
    variant = param("sticky", choices=("sticky", "any_replica"), help="which replica a session's operations go to")
    script = param(("wr", "rr"), help="one string per session: its operations in order, w = write, r = read")

    checks = [
        holds(),
        holds(params={"script": ("w", "wr")}, name="concurrent_writes_converge"),
        violates("convergence", params={"script": ("w",)}, faults="loss=1", name="lost_replication"),
        violates("read_your_writes", params={"variant": "any_replica", "script": ("wr",)}),
        violates("monotonic_reads", params={"variant": "any_replica", "script": ("w", "rr")}),
    ]

    def replicas(self):
        return [f"r{i}" for i in range(1, self.n + 1)]

    def sessions(self):
        return [f"s{i}" for i in range(1, len(self.script) + 1)]

    def replicas_for(self, session):
        if self.variant == "sticky":  # session s_i's home is replica r_i (wrapping around)
            return [self.replicas()[self.sessions().index(session) % self.n]]
        return self.replicas()

    def nodes(self):
        return {"c": Clients(), **{r: Replica() for r in self.replicas()}}

    @invariant
    def convergence(self):
        history = self.node("c").history
        quiescent = not self.in_flight() and all(op.ret is not None for op in history)
        return convergence({r.id: (r.value, r.ts) for r in self.nodes_of(Replica)}, quiescent)

    @invariant
    def read_your_writes(self):
        return read_your_writes(self.node("c").history, version=version)

    @invariant
    def monotonic_reads(self):
        return monotonic_reads(self.node("c").history, version=version)

    @reachable
    def everyone_done(self):  # guards against a vacuous pass: every script runs to its end
        history = self.node("c").history
        return len(history) == sum(map(len, self.script)) and all(op.ret is not None for op in history)
