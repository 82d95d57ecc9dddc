"""Lamport clocks and vector clocks on processes that exchange messages.

What is modelled: n processes; each may take up to `max_events` local or send events (a send goes
to any other process), and receives every message sent to it, in any order. Each event is stamped
with a Lamport clock (tick, or max(own, message) + 1 on a receive) and a vector clock (own entry
+1, pointwise max on a receive), and recorded as ghost state (invariants.clocks.Event).

Properties (invariants.clocks):
- `clock_condition`: a -> b implies L(a) < L(b). Holds.
- `vector_clocks_exact`: a -> b iff V(a) < V(b). Holds: vector clocks characterise happens-before.
- `lamport_converse` (checked with `--param variant=lamport_converse`): L(a) < L(b) implies
  a -> b. Fails: two processes' local events are concurrent, yet get ordered timestamps (3 steps).

    explore specs/clocks.py
    explore specs/clocks.py --param variant=lamport_converse

What is abstracted away: message contents, loss (a lost message just has no receive event), time.
"""
from explorer import Message, Node, Protocol, choose, invariant, on, param, require, timer
from explorer.dsl.expect import holds, violates
from invariants.clocks import Event, clock_condition, lamport_converse, vector_clocks_exact


class Msg(Message):
    id: tuple
    lamport: int
    vector: tuple


class Process(Node):
    lamport = 0
    vector = ()
    events = ()  # Event records, in order

    def stamp(self, kind, msg_id, other_lamport=0, other_vector=None):
        me = self.world.procs().index(self.id)
        vec = list(self.vector or (0,) * self.world.n)
        if other_vector is not None:
            vec = [max(a, b) for a, b in zip(vec, other_vector, strict=True)]
        vec[me] += 1
        self.vector = tuple(vec)
        self.lamport = max(self.lamport, other_lamport) + 1
        self.events += (Event(self.id, len(self.events) + 1, kind, msg_id, self.lamport, self.vector),)

    @timer
    def act(self):
        require(sum(e.kind != "receive" for e in self.events) < self.world.max_events)
        to = choose([None] + [p for p in self.world.procs() if p != self.id], "send_to")
        if to is None:
            self.stamp("local", None)
        else:
            msg_id = (self.id, len(self.events) + 1)
            self.stamp("send", msg_id)
            self.send(to, Msg(id=msg_id, lamport=self.lamport, vector=self.vector))

    @on(Msg)
    def got(self, msg, sender):
        self.stamp("receive", msg.id, msg.lamport, msg.vector)


class Clocks(Protocol):
    n = param(2, help="number of processes")
    max_events = param(2, help="local and send events per process")
    variant = param("correct", choices=("correct", "lamport_converse"),
                    help="lamport_converse: also claim L(a) < L(b) implies a -> b")

    checks = [
        holds(),
        violates("lamport_converse", params={"variant": "lamport_converse"}),
    ]

    def procs(self):
        return [f"p{i}" for i in range(1, self.n + 1)]

    def nodes(self):
        return {p: Process() for p in self.procs()}

    def all_events(self):
        return [e for p in self.nodes_of(Process) for e in p.events]

    @invariant
    def clock_condition(self):
        return clock_condition(self.all_events())

    @invariant
    def vector_clocks_exact(self):
        return vector_clocks_exact(self.all_events())

    @invariant
    def lamport_converse(self):
        return self.variant != "lamport_converse" or lamport_converse(self.all_events())
