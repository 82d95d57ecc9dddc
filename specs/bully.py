"""The bully algorithm (Garcia-Molina): leader election among n processes with crashes and timeouts.

Processes n1 .. nN; a higher number wins. At start, and whenever a process times out on its
leader, it holds an election: it sends Election to every higher process. A process that gets
Election from a lower one answers (Answer: "I am alive, I take over") and holds its own election;
a leader that gets one tells the sender it leads. A candidate that hears no Answer before its
timeout has no live superior: it becomes the leader and sends Coordinator to everyone. A candidate
that got an Answer waits for the Coordinator message, and starts over if it does not come.

Time: the algorithm assumes a synchronous system (delays bounded, timeouts longer than the bound).
Its timeouts are guarded by `self.suspects(p)`, the actor library's timeout-based failure
detector: a process looks dead when it is down and everything it sent has arrived, or when a
partition cuts it off.

Property `one_leader`: at most one live process believes it is the leader. (The stricter reading,
every live process believes in the same leader, fails in every run while Coordinator messages are
in flight, so it is a `@reachable` goal instead: `everyone_follows_one_leader`.) Where it fails:

- crashes only, no restart (`--faults crash=2,restart=0`): holds. So does reordering alone: the
  network delivers in-flight messages in any order in every run, faults or not.
- a partition (`--faults partition=1`, 2 steps): n3 has won; the network splits n1 from n2,n3
  before n1 hears of it; n1's Elections cannot cross, it times out and wins its side.
- a restart (`--faults crash=1`, 5 steps): n3 wins and crashes, n2 times out and wins, n3 comes
  back and bullies its way in while n2 still leads.
- a delay longer than the timeout (`--param variant=short_timeouts`, 1 step): n1 times out before
  any Answer can arrive and declares itself while n3 leads.

Each is the same mistake: a live leader taken for dead (a partition, a delay), or a dead leader that
comes back and is not told it was replaced. Two leaders at once is what bully cannot prevent
without more machinery: epochs and fencing, as in specs/split_brain.py and Raft's terms.

What is abstracted away: the work a leader does; time (a timer fires at any moment while its guard
holds, and `variant=short_timeouts` drops the failure-detector guards, i.e. a timeout that may
expire before an answer arrives); retransmission (no loss). A process that restarts has forgotten
its leader and holds an election, as the algorithm says.

    explore specs/bully.py                                   # no faults: holds
    explore specs/bully.py --faults crash=2,restart=0        # holds
    explore specs/bully.py --faults partition=1              # two leaders: exit 12
    explore specs/bully.py --faults crash=1                  # two leaders after a restart: exit 12
    explore specs/bully.py --param variant=short_timeouts    # two leaders after a slow Answer: exit 12
"""
from explorer import Message, Node, Protocol, invariant, on, param, reachable, require, timer
from explorer.dsl.expect import holds, violates


class Election(Message):
    pass


class Answer(Message):
    pass


class Coordinator(Message):
    """The sender announces that it is the leader."""


def rank(pid):
    return int(pid[1:])


class Process(Node):
    leader = None  # who this process believes leads (itself, once it won)
    electing = False  # holding an election
    answered = False  # a higher process answered: wait for its Coordinator message

    def on_start(self):
        self.start_election()

    def on_restart(self):
        self.start_election()

    def higher(self):
        return [p for p in self.world.pids() if rank(p) > rank(self.id)]

    def start_election(self):
        self.electing, self.answered = True, False
        if not self.higher():  # nobody to ask: the highest process wins at once
            self.win()
        else:
            self.broadcast(Election(), to=self.higher())

    def win(self):
        self.leader, self.electing, self.answered = self.id, False, False
        self.broadcast(Coordinator())

    def timed_out_on(self, peers):
        """Says whether a timeout waiting on `peers` may fire now: only when they all look dead."""
        return self.world.variant == "short_timeouts" or all(self.suspects(p) for p in peers)

    @on(Election)
    def got_election(self, msg, sender):
        if self.leader == self.id:
            self.send(sender, Coordinator())  # already leading: say so
            return
        self.send(sender, Answer())
        if not self.electing:
            self.start_election()

    @on(Answer)
    def got_answer(self, msg, sender):
        if self.electing:
            self.answered = True

    @on(Coordinator)
    def got_coordinator(self, msg, sender):
        self.leader, self.electing, self.answered = sender, False, False

    @timer
    def leader_timeout(self):
        require(not self.electing and self.leader not in (None, self.id) and self.timed_out_on([self.leader]))
        self.start_election()

    @timer
    def election_timeout(self):
        require(self.electing and not self.answered and self.timed_out_on(self.higher()))
        self.win()  # no Answer: nobody higher is alive

    @timer
    def coordinator_timeout(self):
        require(self.electing and self.answered and self.timed_out_on(self.higher()))
        self.start_election()  # an Answer but no Coordinator: the one that answered died; start over


class Bully(Protocol):
    n = param(3, help="number of processes")
    variant = param("correct", choices=("correct", "short_timeouts"),
                    help="short_timeouts: a timeout may expire before the answer arrives")

    checks = [
        holds(faults="crash=2,restart=0", name="crash_stop"),
        violates("one_leader", faults="partition=1", name="partition"),
        violates("one_leader", faults="crash=1", name="restart"),
        violates("one_leader", params={"variant": "short_timeouts"}),
    ]

    def pids(self):
        return [f"n{i}" for i in range(1, self.n + 1)]

    def nodes(self):
        return {p: Process() for p in self.pids()}

    @invariant
    def one_leader(self):
        leaders = [p.id for p in self.nodes_of() if not p.crashed and p.leader == p.id]
        return len(leaders) <= 1 or f"{' and '.join(leaders)} both believe they lead"

    @reachable
    def everyone_follows_one_leader(self):
        beliefs = {p.leader for p in self.nodes_of() if not p.crashed}
        return len(beliefs) == 1 and None not in beliefs
