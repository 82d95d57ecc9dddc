"""Two-phase commit with actors: a coordinator and n participants over an unreliable network.

The coordinator sends Prepare; each participant votes yes (and is then prepared: it may no longer
abort on its own) or no. The coordinator commits when every vote is yes, aborts on a no vote or on
a timeout, logs its decision durably, and tells everyone. A participant that has not voted may
give up on its own (abort). Atomicity must hold under loss, duplication, partitions and crashes.

What is abstracted away: the data being committed, retransmission timers (loss is bounded by a
budget instead), and time (timers may fire at any moment while their guard holds).

Liveness (`everyone_decides`, under the default fairness: in-flight messages are eventually
delivered, and the coordinator's `vote_timeout` is declared fair): with no faults everyone decides.
2PC blocks when the coordinator crashes before telling everyone (`--faults crash=1,restart=0`): a
participant that voted yes can neither commit nor abort on its own. A lost Decision blocks too,
since nothing is retransmitted.

Known-buggy variant (`--param variant=no_durable_log`): the coordinator keeps its decision in
memory only; after a crash and restart it has forgotten that it committed, times out and aborts,
and atomicity breaks (`--faults crash=1`).

    explore specs/twopc.py --depth 12
    explore specs/twopc.py --param variant=no_durable_log --faults crash=1
    explore specs/twopc.py --param n=2 --faults crash=1,restart=0     # 2PC blocks: exit 13
"""
from explorer import (
    Message,
    Node,
    Protocol,
    choose,
    durable,
    eventually,
    invariant,
    on,
    param,
    reachable,
    require,
    timer,
)
from explorer.dsl.expect import holds, violates


class Prepare(Message):
    pass


class Vote(Message):
    yes: bool


class Decision(Message):
    commit: bool


class Coordinator(Node):
    decision = durable(None)  # the decision log: survives a crash
    votes = frozenset()  # who voted yes; lost on a crash

    def on_start(self):
        self.broadcast(Prepare(), to=self.world.participants())

    def on_restart(self):
        if self.decision is not None:  # recovery: re-send the logged decision
            self.broadcast(Decision(commit=self.decision), to=self.world.participants())

    @on(Vote)
    def got_vote(self, msg, sender):
        require(self.decision is None)  # a late vote after the decision changes nothing
        if not msg.yes:
            self.decide(False)
        else:
            self.votes = self.votes | {sender}
            if self.votes == set(self.world.participants()):
                self.decide(True)

    @timer(fair=True)  # a coordinator that is up and undecided eventually times out (needed for progress)
    def vote_timeout(self):
        require(self.decision is None)
        self.decide(False)

    def decide(self, commit):
        self.decision = commit
        self.broadcast(Decision(commit=commit), to=self.world.participants())


class ForgetfulCoordinator(Coordinator):
    """The buggy coordinator: its decision is kept in memory only."""

    decision = None


class Participant(Node):
    state = durable("working")

    @on(Prepare)
    def got_prepare(self, msg, sender):
        if self.state == "prepared":  # a coordinator that restarted asks again: repeat the yes vote
            self.send(sender, Vote(yes=True))
            return
        require(self.state == "working")
        yes = choose([True, False])
        self.state = "prepared" if yes else "aborted"
        self.send(sender, Vote(yes=yes))

    @on(Decision)
    def got_decision(self, msg, sender):
        self.state = "committed" if msg.commit else "aborted"

    @timer
    def give_up(self):
        require(self.state == "working")  # not voted yet: free to abort alone
        self.state = "aborted"


class TwoPC(Protocol):
    n = param(3, help="number of participants")
    variant = param("correct", choices=("correct", "no_durable_log"), help="correct, or a known bug")

    # What `explore check specs/` (the CI gate) requires; each finishes in seconds.
    # A `violates("everyone_decides", ...)` check also proves every safety property: the safety search
    # must finish without a violation before liveness is checked.
    checks = [
        holds(depth=12),
        violates("everyone_decides", params={"n": 2}, faults="crash=1,restart=0", name="coordinator_crash_blocks"),
        violates("everyone_decides", params={"n": 2}, faults="crash=1", name="coordinator_may_stay_down"),
        violates("everyone_decides", params={"n": 2}, faults="loss=1,dup=1", name="lost_decision_blocks"),
        violates("atomicity", params={"variant": "no_durable_log"}, faults="crash=1"),
        # atomicity under each kind of fault (everyone_decides fails under crash, loss and partition:
        # 2PC blocks, as the checks above show, so only the safety property is required here)
        holds(properties=["atomicity"], params={"n": 2}, faults="loss=1,dup=1", name="atomic_under_loss_dup"),
        holds(properties=["atomicity"], params={"n": 2}, faults="partition=1,crash=1",
              name="atomic_under_partition_crash"),
        holds(properties=["atomicity"], params={"n": 2}, faults="crash=2", name="atomic_under_two_crashes"),
    ]

    def participants(self):
        return [f"p{i}" for i in range(1, self.n + 1)]

    def nodes(self):
        coord = ForgetfulCoordinator() if self.variant == "no_durable_log" else Coordinator()
        return {"coord": coord, **{p: Participant(symmetric="p") for p in self.participants()}}

    @invariant
    def atomicity(self):
        states = {p.state for p in self.nodes_of(Participant)}
        if {"committed", "aborted"} <= states:
            who = ", ".join(f"{p.id}={p.state}" for p in self.nodes_of(Participant))
            return f"some participants committed and others aborted: {who}"
        return True

    @reachable
    def can_commit(self):
        return all(p.state == "committed" for p in self.nodes_of(Participant))

    @eventually  # liveness: fails when the coordinator crashes for good (2PC blocks)
    def everyone_decides(self):
        return all(p.state in ("committed", "aborted") for p in self.nodes_of(Participant))
