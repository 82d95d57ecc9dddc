"""CAP: one register on 3 replicas, run consistent (CP) or available (AP), under a partition.

What is modelled: client sessions (`--param script=w,r`: s1 writes, s2 reads) each send their
requests to one replica (s1 to r1, s2 to r2: pinned, to keep the state space small), which
coordinates it:

- `mode=cp`: the replica runs ABD (Attiya, Bar-Noy, Dolev): it asks a majority (itself included)
  for their newest (timestamp, value), then stores the result on a majority (a write with a larger
  timestamp, a read writes back what it read) and only then answers. Every two majorities meet,
  so the history is linearizable; a replica cut off from the majority cannot answer.
- `mode=ap`: the replica answers at once from its own copy (a write is stamped and replicated in
  the background, last writer wins), so it always answers, and a read may miss a completed write.

Properties, over the history the client harness records on one logical clock (as Jepsen does):
- `linearizable` (invariant): invariants.history.linearizable, a real Wing & Gong search;
- `available` (liveness, `@always_eventually`): every request a replica received is eventually
  answered. This is Gilbert and Lynch's availability, and it is liveness, so it is checked as
  liveness: under fairness, every message that can be delivered is delivered, but nothing forces
  a partition to heal (faults are never fair), so a behaviour may stay partitioned for ever.
  A request that never reaches a replica (the client is cut off from it) does not count: the
  replica never received it. (A safety proxy such as "no request was refused" needs a refusal
  timeout, which in an untimed model may fire without any partition and would blame CP for
  nothing; liveness checking says exactly what CAP says.)

Verdicts (`--faults partition=1`, any split of the 4 nodes, healed or not):

    explore specs/cap.py --faults partition=1                    # CP: linearizable; available fails
    explore specs/cap.py --param mode=ap --faults partition=1    # AP: linearizability fails

and `--param mode=ap --param script=w,w` shows AP stays available (a write-only history is
always linearizable, so the check is about availability alone). With no partition, CP is both.

What is abstracted away: time (a partition lasts as long as the behaviour wants), crashes (a
crashed replica is not asked to be available), several keys, and retries by the client.
"""
from explorer import Message, Node, Protocol, always_eventually, choose, invariant, on, param, reachable, timer
from explorer.dsl.expect import holds, violates
from invariants.history import Op, linearizable

NO_TS = (0, "")  # the timestamp of the initial value (None)


class Request(Message):
    op: int  # the invoke time: identifies the operation
    kind: str  # "write" | "read"
    value: object


class Response(Message):
    op: int
    value: object


class Query(Message):  # ABD phase 1: what is your newest (timestamp, value)?
    op: int


class QueryReply(Message):
    op: int
    ts: tuple
    value: object


class Store(Message):  # ABD phase 2, and AP's background replication
    op: int
    ts: tuple
    value: object


class StoreAck(Message):
    op: int


class Replica(Node):
    value = None
    ts = NO_TS
    # operations this replica coordinates: op -> (client, kind, value, phase, best ts, best value, answers)
    coordinating = {}

    def keep(self, ts, value):
        if ts > self.ts:  # the larger timestamp wins
            self.ts, self.value = ts, value

    def peers(self):
        return [r for r in self.world.replicas() if r != self.id]

    @on(Request)
    def got_request(self, msg, sender):
        if self.world.mode == "ap":  # answer from the local copy; replicate a write in the background
            if msg.kind == "write":
                ts = (self.ts[0] + 1, self.id)
                self.keep(ts, msg.value)
                self.broadcast(Store(op=0, ts=ts, value=msg.value), to=self.peers())
            self.send(sender, Response(op=msg.op, value=self.value if msg.kind == "read" else None))
            return
        if msg.kind == "write":  # one writer (s1): its replica's timestamp is already the largest
            ts = (self.ts[0] + 1, self.id)
            self.keep(ts, msg.value)
            self.coordinating[msg.op] = (sender, "write", msg.value, "store", ts, msg.value, 1)
            self.broadcast(Store(op=msg.op, ts=ts, value=msg.value), to=self.peers())
            return
        # CP read: phase 1, our own copy counts as the first answer of a majority
        self.coordinating[msg.op] = (sender, msg.kind, msg.value, "query", self.ts, self.value, 1)
        self.broadcast(Query(op=msg.op), to=self.peers())

    @on(Query)
    def got_query(self, msg, sender):
        self.send(sender, QueryReply(op=msg.op, ts=self.ts, value=self.value))

    @on(QueryReply)
    def got_query_reply(self, msg, sender):
        op = self.coordinating.get(msg.op)
        if op is None or op[3] != "query":
            return  # a late answer: the majority was already reached
        client, kind, value, _, ts, best, answers = op
        if msg.ts > ts:
            ts, best = msg.ts, msg.value
        answers += 1
        if answers < self.world.majority():
            self.coordinating[msg.op] = (client, kind, value, "query", ts, best, answers)
            return
        if kind == "write":  # phase 2: store with a timestamp above every one the majority holds
            ts, best = (ts[0] + 1, self.id), value
        self.keep(ts, best)  # a read writes back what it read: no later read may see older
        self.coordinating[msg.op] = (client, kind, value, "store", ts, best, 1)
        self.broadcast(Store(op=msg.op, ts=ts, value=best), to=self.peers())

    @on(Store)
    def got_store(self, msg, sender):
        self.keep(msg.ts, msg.value)
        if msg.op:  # AP replication (op 0) needs no ack
            self.send(sender, StoreAck(op=msg.op))

    @on(StoreAck)
    def got_store_ack(self, msg, sender):
        op = self.coordinating.get(msg.op)
        if op is None or op[3] != "store":
            return
        client, kind, value, phase, ts, best, answers = op
        if answers + 1 < self.world.majority():
            self.coordinating[msg.op] = (client, kind, value, phase, ts, best, answers + 1)
            return
        del self.coordinating[msg.op]
        self.send(client, Response(op=msg.op, value=best if kind == "read" else None))


class Clients(Node):
    """The test harness: runs every session's script and records invoke/return on one clock."""

    clock = 0
    history = ()

    @timer
    def invoke(self):
        sessions = self.world.sessions()
        ready = [s for s in sessions if self.next_op(s) is not None]
        session = choose(ready, "session")
        replica = self.world.replicas()[sessions.index(session) % self.world.n]  # s1 -> r1, s2 -> r2, ...
        kind = self.next_op(session)
        self.clock += 1
        value = self.clock if kind == "write" else None  # unique values: the invoke time
        self.history += (Op(session, kind, value, self.clock, None, None),)
        self.send(replica, Request(op=self.clock, kind=kind, value=value))

    def next_op(self, session):
        mine = [op for op in self.history if op.client == session]
        if mine and mine[-1].ret is None:
            return None
        script = self.world.script[self.world.sessions().index(session)]
        return {"w": "write", "r": "read"}[script[len(mine)]] if len(mine) < len(script) else None

    @on(Response)
    def got_response(self, msg, sender):
        self.clock += 1
        self.history = tuple(op._replace(ret=self.clock, result=msg.value) if op.invoke == msg.op else op
                             for op in self.history)


class Cap(Protocol):
    n = param(3, help="number of replicas")
    mode = param("cp", choices=("cp", "ap"), help="cp: majority reads and writes (ABD); ap: answer locally")
    script = param(("w", "r"), help="one string per session: its operations in order, w = write, r = read")

    checks = [
        holds(),  # CP without a partition: linearizable and available
        violates("available", params={"script": ("w",)}, faults="partition=1", name="cp_minority_blocks"),  # and linearizable: safety ran first
        violates("linearizable", params={"mode": "ap"}, faults="partition=1", name="ap_reads_stale"),
        # AP stays available (mode=ap script=w,w: a write-only history is always linearizable) is checked
        # in tests/test_catalog_consistency.py: the gate would call the CP-only handlers vacuous there.
    ]

    def replicas(self):
        return [f"r{i}" for i in range(1, self.n + 1)]

    def sessions(self):
        return [f"s{i}" for i in range(1, len(self.script) + 1)]

    def majority(self):
        return self.n // 2 + 1

    def nodes(self):
        return {"c": Clients(), **{r: Replica() for r in self.replicas()}}

    @invariant
    def linearizable(self):
        return linearizable(self.node("c").history)

    @always_eventually
    def available(self):
        return all(not r.coordinating for r in self.nodes_of(Replica))

    @reachable
    def everyone_done(self):  # guards against a vacuous pass: every script runs to its end
        history = self.node("c").history
        return len(history) == sum(map(len, self.script)) and all(op.ret is not None for op in history)
