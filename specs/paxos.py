"""Single-decree Paxos (Lamport, "Paxos Made Simple"): proposers, acceptors and learners choose one value.

What is modelled: two proposers, each with its own value ("a" and "b") and its own ballots (odd
ballots are p1's, even ones p2's, so no two proposers share a ballot); n acceptors; two learners.
  Phase 1a  a proposer starts a ballot: sends Prepare(b) to every acceptor.
  Phase 1b  an acceptor that has promised nothing higher promises b and replies Promise(b, the
            highest ballot it accepted and that ballot's value).
  Phase 2a  with promises from a majority, the proposer sends Accept(b, v), where v is the value of
            the highest-ballot acceptance among those promises, or its own value if there is none.
  Phase 2b  an acceptor that has promised nothing higher than b accepts: Accepted(b, v).
  Learn     a learner that sees Accepted(b, v) from a majority learns v.
Properties: agreement (no two learners learn different values) and validity (a learned value is
one a proposer proposed).

What is abstracted away, and why: the network is the set of messages ever sent, as in Lamport's
Paxos.tla. A message is never removed, so any message can be received late (reordering), more than
once (duplication) or never (loss): every behaviour of a lossy, duplicating, reordering network is
in this space, with no fault budget to choose. A proposer's choice of which majority of promises to
use is free, which also covers promises arriving in any order. Ballots are bounded by
`max_ballot`; a proposer sends Accept at most once per ballot. Crashes of acceptors are covered by
their silence (a crashed acceptor is one whose steps never happen; acceptors keep their state on
stable storage, so a restart changes nothing).

Known-buggy variant (`--param variant=ignore_accepted`): in phase 2a the proposer ignores what the
promises report and proposes its own value. p1 gets "a" chosen at ballot 1; p2 then prepares ballot 2
through a majority that includes an acceptor of "a", proposes "b" anyway, and the learners disagree
(14 steps: per ballot a prepare, two promises, a proposal, two accepts and a learn; in the saved
shortest run they interleave, and a2 accepts "a" at ballot 1 before it promises ballot 2, so its
promise reports "a", which p2 ignores). The correct
version holds on all 5,089 states of the default configuration (n=3, max_ballot=2).

    explore specs/paxos.py
    explore specs/paxos.py --param variant=ignore_accepted
"""
from explorer import Spec, action, choose, invariant, param, reachable, require
from explorer.dsl.expect import holds, violates
from invariants.consensus import agreement, validity

PROPOSERS = {"p1": "a", "p2": "b"}  # each proposer's own value
LEARNERS = ("l1", "l2")


class Paxos(Spec):
    n = param(3, help="number of acceptors")
    max_ballot = param(2, help="ballots 1..max_ballot (odd ones p1's, even ones p2's)")
    variant = param("correct", choices=("correct", "ignore_accepted"), help="correct, or a known bug")

    checks = [
        holds(),
        violates("agreement", params={"variant": "ignore_accepted"}),
    ]

    def acceptors(self):
        return [f"a{i}" for i in range(1, self.n + 1)]

    def majority(self):
        return self.n // 2 + 1

    def owner(self, b):
        return "p1" if b % 2 == 1 else "p2"

    def init(self):
        self.promised = {a: 0 for a in self.acceptors()}  # maxBal: the highest ballot promised
        self.accepted = {a: (0, None) for a in self.acceptors()}  # (maxVBal, maxVal)
        self.learned = {lr: None for lr in LEARNERS}
        self.msgs = frozenset()  # every message ever sent: ("prepare", b), ("promise", a, b, vb, v), ...

    @action
    def prepare(self):
        b = choose(range(1, self.max_ballot + 1), "ballot")
        require(("prepare", b) not in self.msgs)
        self.msgs = self.msgs | {("prepare", b)}

    @action
    def promise(self):
        a = choose(self.acceptors(), "acceptor")
        b = choose(sorted(m[1] for m in self.msgs if m[0] == "prepare"), "ballot")
        require(b > self.promised[a])
        self.promised[a] = b
        vb, v = self.accepted[a]
        self.msgs = self.msgs | {("promise", a, b, vb, v)}

    @action
    def propose(self):
        b = choose(sorted({m[2] for m in self.msgs if m[0] == "promise"}), "ballot")
        require(not any(m[0] == "accept" and m[1] == b for m in self.msgs))
        promises = {m[1]: (m[3], m[4]) for m in self.msgs if m[0] == "promise" and m[2] == b}
        require(len(promises) >= self.majority())
        # Any majority of the promises may be the one the proposer heard from first.
        quorum = choose(_subsets(sorted(promises), self.majority()), "quorum")
        reported = [promises[a] for a in quorum if promises[a][1] is not None]
        if reported and self.variant == "correct":
            v = max(reported)[1]  # the value of the highest-ballot acceptance it heard of
        else:
            v = PROPOSERS[self.owner(b)]  # free to propose its own (the bug: even when not free)
        self.msgs = self.msgs | {("accept", b, v)}

    @action
    def accept(self):
        a = choose(self.acceptors(), "acceptor")
        b, v = choose(sorted((m[1], m[2]) for m in self.msgs if m[0] == "accept"), "proposal")
        require(b >= self.promised[a] and self.accepted[a] != (b, v))
        self.promised[a] = b
        self.accepted[a] = (b, v)
        self.msgs = self.msgs | {("accepted", a, b, v)}

    @action
    def learn(self):
        lr = choose(LEARNERS, "learner")
        require(self.learned[lr] is None)
        b, v = choose(sorted({(m[2], m[3]) for m in self.msgs if m[0] == "accepted"}), "proposal")
        voters = {m[1] for m in self.msgs if m[0] == "accepted" and m[2] == b and m[3] == v}
        require(len(voters) >= self.majority())
        self.learned[lr] = v

    @invariant
    def agreement(self):
        return agreement(self.learned)

    @invariant
    def validity(self):
        return validity(self.learned.values(), PROPOSERS.values())

    @reachable
    def something_is_learned(self):
        return all(v is not None for v in self.learned.values())


def _subsets(items, k):
    """Returns every k-element subset of items, as sorted tuples, in a fixed order."""
    from itertools import combinations

    return list(combinations(items, k))
