"""Raft: leader election and log replication (Ongaro and Ousterhout, sections 5.2 to 5.4), as a plain Spec.

What is modelled: n servers, each with a current term, a role (follower, candidate, leader), the
candidate it voted for in its term, the votes it has been granted, and a log (a tuple of entry terms:
an entry is identified by its index and the term of the leader that created it). A follower times
out and stands for election in a new term; a candidate asks for votes; a leader appends client
entries, sends AppendEntries with any prevLogIndex it likes, and commits an entry of its own term
once a majority holds it. Any message carrying a higher term makes its receiver adopt that term and
step down. A ghost set `committed` records every (index, entry term, term of the commit) ever committed.

What is abstracted away, and why (in the style of the TLA+ Raft spec, made smaller):
- An RPC and its reply form one atomic step between two servers (`request_vote(c, v)`,
  `append_entries(l, f, prev)`), and a leader counts as acknowledged whatever followers hold now.
  Loss is a step that never happens; reordering is any interleaving of steps. What this drops is a
  stale message from an old term arriving late; a leader choosing any prevLogIndex covers the
  stale AppendEntries of its own term.
- Terms are bounded by `max_term` and logs by `max_log`, so the space is finite. Entries carry no
  client command: the term is all the safety properties look at.
- Followers' commit indexes and the state machines are not modelled: `committed` stands for what
  has been applied, so state machine safety is "no index committed with two different entries".

Properties: election safety (one leader per term), log matching, leader completeness, state machine
safety; `leader_electable` is progress stated as safety: when there is no leader, some server can
still collect a majority of votes under the vote rule (otherwise no leader can ever be elected,
since only a leader changes logs).

Liveness (`leader_elected`, a `@leads_to`): once the last term's election is uncontested (every
server in term max_term, so nobody can start another; no leader; one candidate; no vote cast for
anyone else) and the paper's rule would give the candidate a majority, a leader is elected. Fairness
is declared per action: `timeout`, `request_vote` and `become_leader` are weakly fair (a refused
vote request by a voter already in the candidate's term is not a step, so fairness is not met by
asking the same refusing voter forever). What action fairness cannot give is the plain "a leader is
eventually elected" (`@eventually`): the servers may all time out into the same term and each vote
for itself, and nothing in weak or strong fairness forbids that happening in every term (with bounded
terms, in the last one: n=3, max_term=1, three timeouts and no step is left; the lasso is in
tests/test_catalog_protocols.py). Raft escapes split votes with randomised election timeouts, a
probabilistic argument, not a fairness one; so the property checked is the step that randomisation
buys: an election nobody contests ends with a leader.

Bugs from the chapter's simplified code, as parameters:
- `quorum=seed`: votes needed = floor(peers/2) + 1 with peers excluding the candidate itself, while
  the candidate still counts its own vote. Equal to a majority for odd n; for n = 4 it is 2 of 4, so
  two candidates win the same term (election safety fails, 6 steps).
- `append_check=False`: a follower skips the prevLogIndex/prevLogTerm check and writes the new entry
  after whatever it holds; log matching fails (10 steps: a leader of term 1 writes [1], a leader of
  term 2 writes [2, 2] and sends its second entry with prevLogIndex 1 to the first, which ends with
  [1, 2]).
- `vote_rule=seed`: grant a vote only if the candidate's last log term >= ours AND its last index >=
  ours (the paper: last term greater, or equal and index >=). It breaks progress, not safety.
  Safety: every vote this rule grants, the paper's rule grants too, and a refused request leaves the
  voter where `update_term` would, so every state the seed reaches correct Raft reaches: every safety
  property holds (with max_term=3, max_log=2 the seed reaches 50,067 states of correct Raft's
  50,295, and all invariants hold in both). Progress: under the seed, a voter holding a longer, stale
  log (last term 1, two entries) refuses a candidate whose log is more up to date but shorter (last
  term 2, one entry), which needs max_term >= 3 (with max_term=2 both rules reach the same 7,965
  states). The declared check `vote_rule=seed` (max_term=3) finds
  an uncontested last election the paper's rule wins and the seed's loses for good, in 14 steps: s1
  holds [1, 1], s2 holds [2, 2], s3 holds [2] and stands in term 3; s1 would vote for it under the
  paper's rule, the seed refuses, and no leader is ever elected (`leader_elected` violated; the
  correct rule holds in the same configuration, 50,295 states). The seed does not make elections
  impossible: `leader_electable` holds (checked up to max_term=3, max_log=2): a server with the most
  up-to-date log, here s2, would still win a majority in a later term, which the bound leaves out.
  With unbounded terms it delays elections rather than stopping them.

Timed mode (`--param timing=true`, class TimedRaft): election timeouts and heartbeats in real time,
with zones (explorer.timed). Every server that is not a leader has an election timer that fires
between `timeout_min` and `timeout_max` after it was last reset: at the start, when it fires, when
the server grants a vote, and when a heartbeat of its term's leader arrives. A new leader sends
heartbeats at once and then every `period`; each arrives within `max_delay` (never lost). Property
`leader_not_disrupted`: a server that has heard a heartbeat of its term's leader never times out
while that leader is up. It holds iff period + max_delay < timeout_min: a heartbeat may arrive at
once (delay 0) and the next one `period + max_delay` later, and the timer may fire `timeout_min`
after the first. At period 9, max_delay 1, timeout_min 10 (7 steps): s1 is elected at t = 10.2, its
heartbeat reaches s2 at once, the next one leaves at 19.2 and is still in flight when s2 times out
at 20.2. `explore boundary --method sweep` finds the rule (6 runs, 24 s CPU):

    explore boundary specs/raft.py --method sweep --param timing=true --param max_term=1 \
        --range period=7..9 --range max_delay=0..1
    # every invariant holds iff 10 > period + max_delay

The timed mode is about elections: logs stay empty (no client_request, append_entries or commit) and
a term travels only with vote requests and heartbeats (no update_term). The declared checks use
max_term=1 (one election, then steady heartbeats): 2,096 (state, zone) pairs, 5 s CPU; max_term=2
has more than 16,717 (not finished in 100 s), since each server's timer runs against the others' in
every order.

    explore specs/raft.py
    explore specs/raft.py --param n=4 --param quorum=seed
    explore specs/raft.py --param append_check=false
    explore specs/raft.py --param vote_rule=seed --param max_term=3    # liveness: 45 s
    explore specs/raft.py --param timing=true --param max_term=1 --param period=9   # timed: exit 12

Measured on the 2-core machine at load average 2 (`/usr/bin/time explore ...`): the defaults, 7,965
states with the liveness check, 6 s; the seed's liveness check, 50,067 states, 45 s. The liveness
graph is built by the interpreted engine, so it costs several times the safety search, and minutes
when the machine is busy.
"""
from explorer import Spec, action, choose, invariant, leads_to, param, require
from explorer.dsl.expect import holds, violates
from explorer.errors import UsageError
from explorer.timed import TimedSpec
from invariants.consensus import leader_completeness, log_matching, single_leader_per_term, state_machine_safety


class Raft(Spec):
    n = param(3, help="number of servers (3 to 5)")
    max_term = param(2, help="highest term a server may reach")
    max_log = param(2, help="longest log a leader may build")
    quorum = param("correct", choices=("correct", "seed"), help="votes needed to win: majority, or the seed's bug")
    append_check = param(True, help="False: followers skip the prevLogIndex/prevLogTerm check")
    vote_rule = param("correct", choices=("correct", "seed"), help="when a log is up to date enough for a vote")
    timing = param(False, help="model real time: election timeouts, heartbeats every period, bounded delays")
    timeout_min = param(10.0, help="timed mode: an election timeout lasts at least this long")
    timeout_max = param(20.0, help="timed mode: ... and at most this long")
    period = param(4.0, help="timed mode: a leader sends heartbeats this often")
    max_delay = param(1.0, help="timed mode: a heartbeat arrives within this long")

    checks = [
        holds(),
        violates("election_safety", params={"n": 4, "quorum": "seed"}),
        violates("log_matching", params={"append_check": False}),
        violates("leader_elected", params={"vote_rule": "seed", "max_term": 3}, name="vote_rule=seed"),
        holds(params={"timing": True, "max_term": 1}, name="timed"),
        violates("leader_not_disrupted", params={"timing": True, "max_term": 1, "period": 9.0},
                 name="timed-heartbeat_at_the_bound"),
    ]

    @classmethod
    def build_model(cls, params=None, faults=None):
        """timing=true builds TimedRaft (the same spec with timers: the zone is one more state field)."""
        timing = (params or {}).get("timing", False)
        if cls is Raft and (cls.timing.parse(timing) if isinstance(timing, str) else timing):
            return TimedRaft.build_model(params, faults)
        return super().build_model(params, faults)

    def servers(self):
        return range(1, self.n + 1)

    def majority(self):
        return self.n // 2 + 1

    def votes_needed(self):
        if self.quorum == "seed":
            return (self.n - 1) // 2 + 1  # floor(peers / 2) + 1, peers excluding self: the bug
        return self.majority()

    def init(self):
        self.term = {s: 0 for s in self.servers()}
        self.role = {s: "follower" for s in self.servers()}
        self.voted_for = {s: None for s in self.servers()}
        self.votes = {s: frozenset() for s in self.servers()}  # votes granted to s in its current term
        self.log = {s: () for s in self.servers()}
        self.committed = frozenset()  # ghost: (index, entry term, term it was committed in) of every commit

    # ------------------------------------------------------------------ helpers
    def last(self, s):
        """Returns (last log term, last log index) of server s."""
        log = self.log[s]
        return (log[-1] if log else 0), len(log)

    def log_ok(self, candidate, voter, rule=None):
        """Says whether voter finds the candidate's log up to date enough for its vote (under `rule`,
        by default the spec's `vote_rule`)."""
        ct, ci = self.last(candidate)
        vt, vi = self.last(voter)
        if (rule or self.vote_rule) == "seed":
            return ct >= vt and ci >= vi  # the bug: both must be >=
        return ct > vt or (ct == vt and ci >= vi)  # section 5.4.1

    def adopt_term(self, s, term):
        """A message with a higher term: s moves to it and becomes a follower with no vote cast."""
        if term > self.term[s]:
            self.term[s] = term
            self.role[s] = "follower"
            self.voted_for[s] = None
            self.votes[s] = frozenset()

    # ------------------------------------------------------------------ the actions
    @action(fair=True)  # a server that is not a leader and hears nothing eventually times out
    def timeout(self):
        s = choose(self.servers(), "s")
        require(self.role[s] != "leader" and self.term[s] < self.max_term)
        self.term[s] += 1
        self.role[s] = "candidate"
        self.voted_for[s] = s
        self.votes[s] = frozenset({s})

    @action(fair=True)  # a candidate keeps asking until it has every vote it can get
    def request_vote(self):
        c = choose(self.servers(), "candidate")
        require(self.role[c] == "candidate")
        v = choose([s for s in self.servers() if s != c and s not in self.votes[c]], "voter")
        require(self.term[v] <= self.term[c])  # a voter with a higher term is `update_term`'s business
        grants = self.voted_for[v] in (None, c) or self.term[v] < self.term[c]
        grants = grants and self.log_ok(c, v)
        # A refusal by a voter already in the candidate's term changes nothing: it is not a step, so that
        # fairness cannot be met by asking the same refusing voter forever (the states are the same).
        require(grants or self.term[v] < self.term[c])
        self.adopt_term(v, self.term[c])
        if grants:
            self.voted_for[v] = c
            self.votes[c] = self.votes[c] | {v}

    @action(fair=True)
    def become_leader(self):
        c = choose(self.servers(), "s")
        require(self.role[c] == "candidate" and len(self.votes[c]) >= self.votes_needed())
        self.role[c] = "leader"

    @action
    def client_request(self):
        leader = choose(self.servers(), "leader")
        require(self.role[leader] == "leader" and len(self.log[leader]) < self.max_log)
        self.log[leader] = self.log[leader] + (self.term[leader],)

    @action
    def append_entries(self):
        leader = choose(self.servers(), "leader")
        require(self.role[leader] == "leader")
        f = choose([s for s in self.servers() if s != leader], "follower")
        require(self.term[f] <= self.term[leader])
        prev = choose(range(len(self.log[leader]) + 1), "prev")  # prevLogIndex: entries after it are sent
        self.adopt_term(f, self.term[leader])
        self.role[f] = "follower"  # a candidate of the same term steps down too
        mine, theirs = self.log[leader], self.log[f]
        require(prev <= len(theirs))  # the follower has no entry at prevLogIndex: it rejects
        if self.append_check and prev > 0 and theirs[prev - 1] != mine[prev - 1]:
            return  # prevLogTerm differs: rejected (the term update above stands)
        if prev < len(mine):
            entry = mine[prev]
            if prev >= len(theirs) or theirs[prev] != entry:  # a conflict: drop it and all that follow
                self.log[f] = theirs[:prev] + (entry,)

    @action
    def commit(self):
        leader = choose(self.servers(), "leader")
        require(self.role[leader] == "leader")
        log = self.log[leader]
        i = choose(range(1, len(log) + 1), "index")
        term = self.term[leader]
        require(log[i - 1] == term and (i, term, term) not in self.committed)  # only an entry of its own term
        holders = [s for s in self.servers() if self.log[s][:i] == log[:i]]
        require(len(holders) >= self.majority())
        self.committed = self.committed | {(j, log[j - 1], term) for j in range(1, i + 1)}

    @action
    def update_term(self):
        s = choose(self.servers(), "s")
        other = choose([o for o in self.servers() if self.term[o] > self.term[s]], "hears_from")
        self.adopt_term(s, self.term[other])

    # ------------------------------------------------------------------ properties
    @invariant
    def election_safety(self):
        return single_leader_per_term((s, self.term[s]) for s in self.servers() if self.role[s] == "leader")

    @invariant
    def log_matching(self):
        return log_matching(self.log)

    @invariant
    def leader_completeness(self):
        leaders = {s: (self.term[s], self.log[s]) for s in self.servers() if self.role[s] == "leader"}
        return leader_completeness(self.committed, leaders)

    @invariant
    def state_machine_safety(self):
        return state_machine_safety((index, t) for index, t, _ in self.committed)

    @invariant
    def leader_electable(self):
        if any(r == "leader" for r in self.role.values()):
            return True
        for c in self.servers():
            if sum(1 for v in self.servers() if v == c or self.log_ok(c, v)) >= self.majority():
                return True
        logs = ", ".join(f"{s}={list(self.log[s])}" for s in self.servers())
        return f"no leader, and no server's log would win a majority of votes: {logs}"

    def uncontested_last_election(self):
        """Says whether the last term's election is under way with nothing left to stop it but the vote
        rule: every server is in term max_term (no one can start another election), there is no leader,
        one candidate, no vote cast for anyone else, and the paper's rule gives it a majority."""
        if any(t != self.max_term for t in self.term.values()) or "leader" in self.role.values():
            return False
        candidates = [s for s in self.servers() if self.role[s] == "candidate"]
        if len(candidates) != 1:
            return False
        c = candidates[0]
        if any(self.voted_for[v] not in (None, c) for v in self.servers() if v != c):
            return False
        return sum(1 for v in self.servers() if v == c or self.log_ok(c, v, "correct")) >= self.majority()

    @leads_to(uncontested_last_election)
    def leader_elected(self):
        return any(r == "leader" for r in self.role.values())


class TimedRaft(Raft, TimedSpec):
    """Raft with `timing=true`: election timeouts and heartbeats as timers (explorer.timed).

    Every server that is not a leader has an election timer, `after=(timeout_min, timeout_max)`,
    armed at the start, re-armed when it fires, when the server grants a vote and when a heartbeat of
    its term's leader arrives (section 5.2). A new leader cancels its own, sends a heartbeat to every
    other server at once and then every `period` (a timer with no jitter); a heartbeat is in flight
    for at most `max_delay` (one in flight per follower, so max_delay < period) and is never lost.
    An election timer that fires is urgent: the server times out, starts an election when its term
    is below `max_term`, and re-arms the timer either way.

    Not a spec of its own (`abstract`): `Raft.build_model` picks it, and it keeps the name Raft so
    traces, `--save` folders and `explore replay` see one spec.
    """

    abstract = True

    def init(self):
        if self.max_delay >= self.period:
            raise UsageError(f"raft timing: max_delay {self.max_delay} >= period {self.period}",
                            hint="the model keeps one heartbeat in flight per follower: give max_delay < period")
        super().init()
        self.heard = {s: None for s in self.servers()}  # ghost: the term of the leader s last heard a heartbeat of
        self.disrupted = None  # ghost: (server, term) of a timeout while it heard its term's leader, who is up
        for s in self.servers():
            self.arm_election(s)

    def arm_election(self, s):
        self.set_timer(f"election {s}", after=(self.timeout_min, self.timeout_max))

    def adopt_term(self, s, term):
        was_leader = self.role[s] == "leader"
        super().adopt_term(s, term)
        if was_leader and self.role[s] != "leader":  # a deposed leader stops beating and waits again
            self.cancel_timer(f"beat {s}")
            self.arm_election(s)

    @action(fair=True)
    def timeout(self):
        s = choose(self.servers(), "s")
        self.fire(f"election {s}")
        leaders = [ld for ld in self.servers() if self.role[ld] == "leader" and self.term[ld] == self.term[s]]
        if leaders and self.heard[s] == self.term[s] and self.disrupted is None:
            self.disrupted = (s, self.term[s])
        if self.term[s] < self.max_term:
            self.term[s] += 1
            self.role[s] = "candidate"
            self.voted_for[s] = s
            self.votes[s] = frozenset({s})
        self.arm_election(s)

    @action(fair=True)
    def request_vote(self):
        votes_before = dict(self.votes)
        Raft.request_vote(self)
        for c in self.servers():
            for v in self.votes[c] - votes_before[c]:
                self.arm_election(v)  # granting a vote restarts the voter's election timeout

    @action(fair=True)
    def become_leader(self):
        Raft.become_leader(self)
        leader = next(s for s in self.servers() if self.role[s] == "leader" and s not in self.beating())
        self.cancel_timer(f"election {leader}")
        self.send_heartbeats(leader)

    def beating(self):
        return {s for s in self.servers() if self.timer_armed(f"beat {s}")}

    def send_heartbeats(self, leader):
        for f in self.servers():
            if f != leader:
                self.set_timer(f"heartbeat {leader}->{f}", after=(0, self.max_delay))
        self.set_timer(f"beat {leader}", after=self.period)

    @action
    def beat(self):
        leader = choose(self.servers(), "leader")
        self.fire(f"beat {leader}")
        self.send_heartbeats(leader)

    @action
    def heartbeat(self):
        leader = choose(self.servers(), "leader")
        f = choose([s for s in self.servers() if s != leader], "follower")
        self.fire(f"heartbeat {leader}->{f}")
        if self.role[leader] != "leader" or self.term[f] > self.term[leader]:
            return  # a stale heartbeat: the follower ignores it
        self.adopt_term(f, self.term[leader])
        self.role[f] = "follower"
        self.heard[f] = self.term[leader]
        self.arm_election(f)

    # Not actions in timed mode (a plain attribute hides an inherited action): the timed checks are about
    # elections, so logs stay empty, and a term travels only with vote requests and heartbeats, the two
    # messages modelled with their timing.
    client_request = append_entries = commit = update_term = None

    @invariant
    def leader_not_disrupted(self):
        if self.disrupted is None:
            return True
        s, term = self.disrupted
        return (f"server {s} timed out in term {term} although it had heard a heartbeat of its term's leader, "
                f"who is still up")


TimedRaft.__name__ = TimedRaft.__qualname__ = "Raft"
