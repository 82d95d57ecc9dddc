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

Bugs from the chapter's simplified code, as parameters:
- `quorum=seed`: votes needed = floor(peers/2) + 1 with peers excluding the candidate itself, while
  the candidate still counts its own vote. Equal to a majority for odd n; for n = 4 it is 2 of 4, so
  two candidates win the same term (election safety fails, 6 steps).
- `append_check=False`: a follower skips the prevLogIndex/prevLogTerm check and writes the new entry
  after whatever it holds; log matching fails (7 steps).
- `vote_rule=seed`: grant a vote only if the candidate's last log term >= ours AND its last index >=
  ours (the paper: last term greater, or equal and index >=). Every vote this rule grants, the
  correct rule grants too, so its behaviours are a subset of correct Raft's: it cannot break safety,
  and the checks confirm that every safety property holds. What it costs is progress: a candidate
  whose log is more up to date (last term 2, one entry) is refused by a voter holding a longer, stale
  log (last term 1, two entries), which needs max_term >= 3 to happen (with max_term=3, max_log=2
  the seed rule reaches 50,067 states where the correct one reaches 50,295). Whether it
  can block elections for good is what `leader_electable` asks; it held in every configuration we
  searched (n=3 up to max_term=4, max_log=3: 863,121 states; n=4, max_term=3, max_log=2: complete),
  because the voters that refuse are the holders of stale, uncommitted entries, and some server
  still collects a majority. So the seed rule delays elections, it does not make Raft unsafe.

    explore specs/raft.py
    explore specs/raft.py --param n=4 --param quorum=seed
    explore specs/raft.py --param append_check=false
"""
from explorer import Spec, action, choose, invariant, param, require
from explorer.dsl.expect import holds, violates
from invariants.consensus import leader_completeness, log_matching, single_leader_per_term, state_machine_safety


class Raft(Spec):
    n = param(3, help="number of servers (3 to 5)")
    max_term = param(2, help="highest term a server may reach")
    max_log = param(2, help="longest log a leader may build")
    quorum = param("correct", choices=("correct", "seed"), help="votes needed to win: majority, or the seed's bug")
    append_check = param(True, help="False: followers skip the prevLogIndex/prevLogTerm check")
    vote_rule = param("correct", choices=("correct", "seed"), help="when a log is up to date enough for a vote")

    checks = [
        holds(),
        violates("election_safety", params={"n": 4, "quorum": "seed"}),
        violates("log_matching", params={"append_check": False}),
        holds(params={"vote_rule": "seed"}, name="vote_rule=seed"),
    ]

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

    def log_ok(self, candidate, voter):
        """Says whether voter finds the candidate's log up to date enough for its vote."""
        ct, ci = self.last(candidate)
        vt, vi = self.last(voter)
        if self.vote_rule == "seed":
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
    @action
    def timeout(self):
        s = choose(self.servers(), "s")
        require(self.role[s] != "leader" and self.term[s] < self.max_term)
        self.term[s] += 1
        self.role[s] = "candidate"
        self.voted_for[s] = s
        self.votes[s] = frozenset({s})

    @action
    def request_vote(self):
        c = choose(self.servers(), "candidate")
        require(self.role[c] == "candidate")
        v = choose([s for s in self.servers() if s != c and s not in self.votes[c]], "voter")
        require(self.term[v] <= self.term[c])  # a voter with a higher term is `update_term`'s business
        self.adopt_term(v, self.term[c])
        if self.voted_for[v] in (None, c) and self.log_ok(c, v):
            self.voted_for[v] = c
            self.votes[c] = self.votes[c] | {v}

    @action
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

