"""Quorum replication of one register: n replicas, writes wait for w acks, reads for r replies.

What is modelled: a client writes version 1 of the register, then reads it back. A write is sent
to every replica and completes once w of them acknowledged it; a read asks every replica and
completes once r of them replied, returning the highest version among the replies. The messages
to the other replicas stay in flight and may arrive at any later moment (reordering is free).
Cassandra's consistency levels are presets: `--param preset=one` (r = w = 1), `quorum`
(r = w = n // 2 + 1) and `all` (r = w = n); without a preset, `r` and `w` are used.

The property, `read_sees_latest_write`: a read returns the latest write completed before the
read started (or something newer). It holds exactly when r + w > n: every read quorum then
meets every write quorum in at least one replica. With r + w <= n there is a stale read:

    explore specs/quorum.py --param n=3 --param r=1 --param w=1     # the write reaches r1, the read asks r2

What is abstracted away: values (a version number stands for the value written), several
writers (one client assigns versions, so no timestamp conflicts), read repair and hinted
handoff (which do not change the verdict: the stale read happens before any repair), and time.
The client is the test harness: it records each operation's invoke and return on its own
logical clock, as Jepsen does, and `invariants.history.no_stale_reads` judges that history.
"""
from explorer import Message, Node, Protocol, invariant, on, param, reachable, require, timer
from explorer.dsl.expect import holds, violates
from explorer.errors import SpecError
from invariants.history import Op, no_stale_reads


class Write(Message):
    version: int


class Ack(Message):
    version: int


class Read(Message):
    pass


class Value(Message):
    version: int


class Replica(Node):
    version = 0  # the newest version this replica holds

    @on(Write)
    def got_write(self, msg, sender):
        self.version = max(self.version, msg.version)
        self.send(sender, Ack(version=msg.version))

    @on(Read)
    def got_read(self, msg, sender):
        self.send(sender, Value(version=self.version))


class Client(Node):
    """Writes version 1, then reads; records both operations as a history."""

    clock = 0  # a logical clock for invoke/return events
    acks = 0  # write acks received so far
    replies = ()  # versions read so far
    history = ()  # Op records, completed operations carry their return time

    @timer
    def start_write(self):
        require(self.history == ())
        self.clock += 1
        self.history = (Op("c", "write", 1, self.clock, None, 1),)
        self.broadcast(Write(version=1), to=self.world.replicas())

    @on(Ack)
    def got_ack(self, msg, sender):
        self.acks += 1
        if self.acks == self.world.write_quorum():  # the write completes with its w-th ack
            self.clock += 1
            self.history = (self.history[0]._replace(ret=self.clock),)

    @timer
    def start_read(self):
        require(len(self.history) == 1 and self.history[0].ret is not None)  # after the write completed
        self.clock += 1
        self.history += (Op("c", "read", None, self.clock, None, None),)
        self.broadcast(Read(), to=self.world.replicas())

    @on(Value)
    def got_value(self, msg, sender):
        self.replies += (msg.version,)
        if len(self.replies) == self.world.read_quorum():  # the read completes with its r-th reply
            self.clock += 1
            self.history = (self.history[0], self.history[1]._replace(ret=self.clock, result=max(self.replies)))


class Quorum(Protocol):
    n = param(3, help="number of replicas", symbolic=True, bounds=(2, 3))  # `explore boundary` sweeps it
    r = param(2, help="read quorum: replies a read waits for", symbolic=True, bounds=(1, 3))
    w = param(2, help="write quorum: acks a write waits for", symbolic=True, bounds=(1, 3))
    preset = param("", choices=("", "one", "quorum", "all"), help="Cassandra consistency level for both r and w")

    checks = [
        holds(),  # n=3, r=w=2: QUORUM
        holds(params={"preset": "all"}),
        holds(params={"r": 1, "w": 3}),
        violates("read_sees_latest_write", params={"preset": "one"}, name="one_reads_stale"),
        violates("read_sees_latest_write", params={"r": 1, "w": 2}, name="r_plus_w_equals_n"),
    ]

    def replicas(self):
        return [f"r{i}" for i in range(1, self.n + 1)]

    def read_quorum(self):
        return {"one": 1, "quorum": self.n // 2 + 1, "all": self.n}.get(self.preset, self.r)

    def write_quorum(self):
        return {"one": 1, "quorum": self.n // 2 + 1, "all": self.n}.get(self.preset, self.w)

    def nodes(self):
        for name, v in (("n", self.n), ("r", self.read_quorum()), ("w", self.write_quorum())):
            if not 1 <= v <= self.n:
                raise SpecError(f"quorum.py: {name}={v} must be between 1 and n={self.n}",
                                hint="e.g. --param n=3 --param r=2 --param w=2")
        # replicas are interchangeable: --symmetry, and `explore boundary` keeps one state per orbit
        return {"c": Client(), **{rid: Replica(symmetric="r") for rid in self.replicas()}}

    @invariant
    def read_sees_latest_write(self):
        return no_stale_reads(self.node("c").history)

    @reachable
    def read_completes(self):  # guards against a vacuous pass: some read does return
        h = self.node("c").history
        return len(h) == 2 and h[1].ret is not None
