"""Three-phase commit with actors: a coordinator, n participants, and timeouts on both sides.

The textbook protocol. Phase 1: the coordinator sends CanCommit; each participant votes yes (it is
then *uncertain*: it may no longer abort on its own) or no. Phase 2: on a no vote, or a timeout
while waiting for votes, the coordinator aborts; when every vote is yes it enters pre-commit and
sends PreCommit; a participant that gets it is *precommitted* and acknowledges. Phase 3: when every
participant has acknowledged, the coordinator commits and sends DoCommit (here `Decision`, which
also carries an abort). The pre-commit phase is what lets a participant decide alone when the
coordinator fails:

| who | waiting for | on a timeout |
|---|---|---|
| coordinator | votes | abort (nobody can have pre-committed yet) |
| coordinator | acks | commit (everyone voted yes; a silent participant has crashed) |
| participant | CanCommit (has not voted) | abort |
| participant | PreCommit (uncertain) | abort (no one can have committed: that needs my ack, or me down) |
| participant | DoCommit (precommitted) | commit (everyone voted yes, and everyone up got PreCommit) |

Time: 3PC assumes a synchronous system: delays are bounded, and a timeout is longer than the bound.
The timeouts (other than "has not voted" and "waiting for votes", which are safe at any moment) are
guarded by `self.suspects(peer)`, the actor library's timeout-based failure detector: it reports a
peer that is down once everything it sent has arrived, or a peer cut off by a partition. That is
why a partition breaks 3PC: a timeout cannot tell a partitioned coordinator from a crashed one.

Atomicity (`invariants.atomicity` over the participants' states and the coordinator's decision):
- holds with crashes, with or without restarts (`--faults crash=2,restart=0`, `--faults crash=1`,
  and `crash=2,restart=1` below);
- fails once a partition is allowed (`--faults partition=1`, 7 steps): everyone votes yes, the
  coordinator pre-commits, and before PreCommit arrives the network splits coord | p1,p2. The
  coordinator times out on the acks and commits; p1, uncertain, times out on the coordinator and
  aborts. Each side took the other for crashed: the textbook's reason 3PC is not used.

Liveness (`everyone_decides`: every participant that is up has decided; in-flight messages, the
timers and the coordinator's timeouts are fair): unlike 2PC (specs/twopc.py blocks when the
coordinator crashes), 3PC does not block while crashed nodes stay down (`--faults crash=2,restart=0`):
whoever waits on a crashed node times out and decides. Recovery is another matter: a participant
back from a crash undecided may have missed PreCommit or the decision, so it must not time out on
its own (no protocol lets a site recover independently once two may fail: Skeen, 1981). Here it
asks the coordinator (`Ask`) and waits, so it blocks while the coordinator is down
(`--faults crash=2,restart=1`: exit 13, atomicity still holds), even when, as in the saved trace,
p2 knows the outcome. Asking the other participants too (cooperative termination) would unblock it
then; it would still block when every other site is down or in doubt.

Recovery rules: the coordinator logs its phase durably; back from a crash before pre-commit it
aborts (the votes are lost), in pre-commit it asks for the acks again, decided it repeats the
decision. A late vote, or an `Ask`, gets the decision back.

What is abstracted away: the data being committed; retransmission (no loss faults); time itself
(a timer fires at any moment while its guard holds). A broadcast is one step, so by default the
coordinator cannot crash halfway through sending PreCommit. `variant=one_by_one` sends it to one
participant per step, and a crash between two sends breaks atomicity under crashes alone
(`--faults crash=1,restart=0`, 9 steps): p1 is precommitted and p2 still uncertain when the
coordinator dies; p1 times out and commits, p2 times out and aborts. Real 3PC closes that gap with
Skeen's termination protocol (the participants elect a backup coordinator that collects their
states and finishes the pre-commit round itself); it is left out to keep the file short and the
space small, which is why the default takes a broadcast to be atomic.

    explore specs/threepc.py                                         # no faults: holds
    explore specs/threepc.py --faults crash=2,restart=0              # holds, and everyone decides
    explore specs/threepc.py --faults crash=1                        # one crash, restarts: holds
    explore specs/threepc.py --faults crash=2,restart=1              # atomicity holds; a recovering p blocks: exit 13
    explore specs/threepc.py --faults partition=1                    # the partition counterexample: exit 12
    explore specs/threepc.py --param variant=one_by_one --faults crash=1,restart=0   # a crash mid-broadcast: exit 12
    explore specs/twopc.py --param n=2 --faults crash=1,restart=0    # contrast: 2PC blocks, exit 13
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
from invariants import atomicity

DECIDED = ("committed", "aborted")


class CanCommit(Message):
    pass


class Vote(Message):
    yes: bool


class PreCommit(Message):
    pass


class Ack(Message):
    pass


class Decision(Message):
    commit: bool


class Ask(Message):
    """A participant back from a crash, undecided, asks the coordinator where things stand."""


class Coordinator(Node):
    phase = durable("waiting")  # waiting (for votes) -> precommit (waiting for acks) -> committed | aborted
    votes = frozenset()  # who voted yes
    acks = frozenset()  # who acknowledged PreCommit

    def on_start(self):
        self.broadcast(CanCommit(), to=self.world.participants())

    def on_restart(self):
        if self.phase == "waiting":  # the votes were lost with the crash; nobody can have pre-committed
            self.decide(False)
        elif self.phase == "precommit":  # the acks were lost with the crash: ask again
            self.broadcast(PreCommit(), to=self.world.participants())
        elif self.phase in DECIDED:
            self.broadcast(Decision(commit=self.phase == "committed"), to=self.world.participants())

    @on(Vote)
    def got_vote(self, msg, sender):
        if self.phase in DECIDED:  # a late vote (its sender restarted, say) gets the decision back
            self.send(sender, Decision(commit=self.phase == "committed"))
            return
        if self.phase != "waiting":
            return
        if not msg.yes:
            self.decide(False)
            return
        self.votes = self.votes | {sender}
        if self.votes == set(self.world.participants()):
            self.pre_commit()

    def pre_commit(self):
        self.phase = "precommit"
        self.broadcast(PreCommit(), to=self.world.participants())

    @on(Ask)
    def got_ask(self, msg, sender):  # a participant that restarted undecided
        if self.phase == "precommit":
            self.send(sender, PreCommit())
        elif self.phase in DECIDED:
            self.send(sender, Decision(commit=self.phase == "committed"))

    @on(Ack)
    def got_ack(self, msg, sender):
        if self.phase != "precommit":
            return
        self.acks = self.acks | {sender}
        if self.acks == set(self.world.participants()):
            self.decide(True)

    @timer(fair=True)
    def vote_timeout(self):
        require(self.phase == "waiting")  # safe at any moment: nobody has pre-committed
        self.decide(False)

    @timer(fair=True)
    def ack_timeout(self):
        require(self.phase == "precommit")
        silent = [p for p in self.world.participants() if p not in self.acks]
        require(all(self.suspects(p) for p in silent))  # the ones that did not answer look dead
        self.decide(True)

    def decide(self, commit):
        self.phase = "committed" if commit else "aborted"
        self.broadcast(Decision(commit=commit), to=self.world.participants())


class OneByOneCoordinator(Coordinator):
    """The coordinator of `variant=one_by_one`: it sends PreCommit to one participant per step."""

    unsent = ()  # participants still to be sent PreCommit (lost with a crash)

    def pre_commit(self):
        self.phase = "precommit"
        self.unsent = tuple(self.world.participants())

    @timer(fair=True)
    def send_pre_commit(self):
        require(self.unsent)
        self.send(self.unsent[0], PreCommit())
        self.unsent = self.unsent[1:]


class Participant(Node):
    state = durable("working")  # working -> uncertain (voted yes) -> precommitted -> committed; or aborted
    recovering = False  # back from a crash undecided: it may have missed PreCommit, so it must ask, not guess

    def on_restart(self):
        if self.state in ("uncertain", "precommitted"):  # what was sent to me while I was down is lost
            self.recovering = True
            self.send("coord", Ask())

    @on(CanCommit)
    def got_can_commit(self, msg, sender):
        if self.state != "working":
            return  # gave up already, or a restarted coordinator asking again
        yes = choose([True, False])
        self.state = "uncertain" if yes else "aborted"
        self.send(sender, Vote(yes=yes))

    @on(PreCommit)
    def got_pre_commit(self, msg, sender):
        if self.state == "uncertain":
            self.state = "precommitted"
        if self.state in ("precommitted", "committed"):
            self.send(sender, Ack())

    @on(Decision)
    def got_decision(self, msg, sender):
        self.state = "committed" if msg.commit else "aborted"

    @timer(fair=True)
    def give_up(self):
        require(self.state == "working")  # not voted yet: free to abort alone
        self.state = "aborted"

    @timer(fair=True)
    def coordinator_timeout(self):
        require(self.state in ("uncertain", "precommitted") and not self.recovering and self.suspects("coord"))
        self.state = "committed" if self.state == "precommitted" else "aborted"


class ThreePC(Protocol):
    n = param(2, help="number of participants")
    variant = param("correct", choices=("correct", "one_by_one"),
                    help="one_by_one: the coordinator may crash between two PreCommit sends")

    # Each runs in seconds. A `holds` check must also run every handler and timer (the gate's
    # vacuity rule), so the crash-stop runs (`crash=2,restart=0`, no `Ask`) are in the tests instead.
    # A violates("everyone_decides") check also proves atomicity: the safety search must finish
    # clean before liveness is checked.
    checks = [
        holds(faults="crash=1", name="crash_restart"),
        violates("everyone_decides", faults="crash=2,restart=1", name="recovering_participant_blocks"),
        violates("atomicity", faults="partition=1", name="partition"),
        violates("atomicity", params={"variant": "one_by_one"}, faults="crash=1,restart=0"),
    ]

    def participants(self):
        return [f"p{i}" for i in range(1, self.n + 1)]

    def nodes(self):
        coord = OneByOneCoordinator() if self.variant == "one_by_one" else Coordinator()
        return {"coord": coord, **{p: Participant(symmetric="p") for p in self.participants()}}

    @invariant
    def atomicity(self):
        outcomes = [p.state for p in self.nodes_of(Participant)] + [self.node("coord").phase]
        if atomicity(outcomes):
            return True
        who = ", ".join(f"{p.id}={p.state}" for p in self.nodes_of(Participant))
        return f"some committed and others aborted: coord={self.node('coord').phase}, {who}"

    @reachable
    def can_commit(self):
        return all(p.state == "committed" for p in self.nodes_of(Participant))

    @eventually
    def everyone_decides(self):
        return all(p.state in DECIDED for p in self.nodes_of(Participant) if not p.crashed)
