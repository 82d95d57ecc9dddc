"""The catalog's 3PC, bully and split-brain specs: the verdict of every declared check, the length
and the property of each counterexample, state counts worked out independently (by hand, or by a
naive BFS over a second implementation written here), 3PC's liveness against 2PC's blocking, and
the failure detector `Node.suspects` they are built on."""
from __future__ import annotations

from collections import Counter, deque
from pathlib import Path

import pytest

import explorer
from explorer import Message, Node, Protocol, action_invariant, on, reachable, require, timer
from explorer.gate import collect
from tests.conftest import SPECS, TWOPC

THREEPC, BULLY, SPLIT = SPECS / "threepc.py", SPECS / "bully.py", SPECS / "split_brain.py"


def violated(result):
    return [v.property for v in result.violations]


# ---------------------------------------------------------------------- the declared checks

CHECKS = [item for path in (THREEPC, BULLY, SPLIT) for item in collect(Path(path))]
SLOW = {"recovering_participant_blocks"}  # a liveness graph of ~10,000 states: seconds of CPU, more when loaded


@pytest.mark.parametrize("item", [pytest.param(c, marks=[pytest.mark.slow] if c.check.name in SLOW else [])
                                  for c in CHECKS], ids=[c.id for c in CHECKS])
def test_every_declared_check_gives_its_verdict(item):
    outcome = item.run()
    assert outcome.passed, outcome.report()


def test_the_checks_declare_what_the_catalog_table_promises():
    declared = {(Path(c.path).stem, c.check.verdict, c.check.property, c.check.faults) for c in CHECKS}
    assert ("threepc", "holds", None, "crash=1") in declared
    assert ("threepc", "violates", "atomicity", "partition=1") in declared
    assert ("threepc", "violates", "atomicity", "crash=1,restart=0") in declared  # variant=one_by_one
    assert ("bully", "violates", "one_leader", "partition=1") in declared
    assert ("bully", "violates", "one_leader", "crash=1") in declared
    assert ("split_brain", "holds", None, "partition=1") in declared
    assert ("split_brain", "violates", "one_primary", "partition=1") in declared


# ---------------------------------------------------------------------- counterexamples: length and property

@pytest.mark.parametrize("spec,params,faults,prop,length,reason", [
    (THREEPC, {}, "partition=1", "atomicity", 7, "coord=committed, p1=aborted"),
    (THREEPC, {"variant": "one_by_one"}, "crash=1,restart=0", "atomicity", 9, "p1=committed, p2=aborted"),
    (BULLY, {}, "partition=1", "one_leader", 2, "n1 and n3 both believe they lead"),
    (BULLY, {}, "crash=1", "one_leader", 5, "n2 and n3 both believe they lead"),
    (BULLY, {"variant": "short_timeouts"}, None, "one_leader", 1, "n1 and n3 both believe they lead"),
    (SPLIT, {"variant": "no_epoch"}, "partition=1", "one_primary", 7, "r1 wrote in epoch (1, 'r1') after r2"),
    (SPLIT, {"variant": "no_epoch"}, "crash=1", "one_primary", 6, "r1 wrote in epoch (1, 'r1') after r2"),
])
def test_each_known_bug_has_its_shortest_counterexample(spec, params, faults, prop, length, reason):
    result = explorer.check(spec, params=params, faults=faults)
    assert violated(result) == [prop]
    v = result.violations[0]
    assert v.kind == "invariant" and v.length == length and reason in v.reason, (v.length, v.reason)


def test_the_3pc_partition_trace_is_the_textbook_story():
    result = explorer.check(THREEPC, faults="partition=1")
    steps = [s.label for s in result.violations[0].trace.steps]
    assert steps[4] == "partition coord | p1,p2"
    assert steps[5:] == ["coord: timer ack_timeout", "p1: timer coordinator_timeout"]


def test_bully_restart_counterexample_needs_the_restart():
    steps = [s.label for s in explorer.check(BULLY, faults="crash=1").violations[0].trace.steps]
    assert steps[-1] == "restart n3" and "crash n3" in steps


# ---------------------------------------------------------------------- 3PC: safety and liveness under crashes

def test_3pc_neither_breaks_atomicity_nor_blocks_under_crash_stop():
    result = explorer.check(THREEPC, faults="crash=2,restart=0")
    assert result.complete and violated(result) == [], violated(result)
    assert "everyone_decides" not in result.unchecked


def test_2pc_blocks_where_3pc_does_not():
    # the same fault budget: the coordinator may crash for good
    assert violated(explorer.check(TWOPC, params={"n": 2}, faults="crash=1,restart=0")) == ["everyone_decides"]
    assert violated(explorer.check(THREEPC, params={"n": 2}, faults="crash=1,restart=0")) == []


def test_a_participant_back_from_a_crash_blocks_while_the_coordinator_is_down():
    # the two crashes: p_i (it comes back undecided and asks), then the coordinator (for good)
    result = explorer.check(THREEPC, faults="crash=2,restart=1")
    assert violated(result) == ["everyone_decides"]  # atomicity held: the safety search came first
    v = result.violations[0]
    assert v.kind == "liveness" and v.length == 8
    labels = [s.label for s in v.trace.steps]
    assert "crash coord" in labels and any(lab.startswith("restart p") for lab in labels)


@pytest.mark.slow
def test_3pc_with_three_participants_holds_under_two_crash_stops():
    result = explorer.check(THREEPC, params={"n": 3}, faults="crash=2,restart=0")
    assert result.complete and violated(result) == []


# ---------------------------------------------------------------------- state counts, worked out independently

def naive_3pc_states(n: int) -> int:
    """Counts the reachable states of 3PC with no faults by a plain BFS over a second, naive model.

    A state is (coordinator phase, votes, acks, participant states, network as a multiset). With no
    faults nothing is ever suspected, so the participants' coordinator timeouts and the coordinator's
    ack timeout never fire; what is left are deliveries, the vote timeout and `give_up`.
    """
    ps = [f"p{i}" for i in range(1, n + 1)]

    def freeze(net: Counter) -> frozenset:
        return frozenset((k, c) for k, c in net.items() if c)

    def send(net: Counter, *msgs) -> Counter:
        net = Counter(net)
        for m in msgs:
            net[m] += 1
        return net

    def decide(st, commit):
        phase, votes, acks, parts, net = st
        msgs = [("coord", p, ("Decision", commit)) for p in ps]
        return ("committed" if commit else "aborted", votes, acks, parts, send(net, *msgs))

    def succ(state):
        phase, votes, acks, parts, fnet = state
        net = Counter(dict(fnet))
        out = []
        for (src, dst, m) in list(net):
            rest = Counter(net)
            rest[(src, dst, m)] -= 1
            if dst == "coord":
                if phase in ("committed", "aborted"):
                    if m[0] == "Vote":
                        out.append((phase, votes, acks, parts, send(rest, ("coord", src, ("Decision", phase == "committed")))))
                    else:
                        out.append((phase, votes, acks, parts, rest))
                elif m[0] == "Vote" and phase == "waiting":
                    if not m[1]:
                        out.append(decide((phase, votes, acks, parts, rest), False))
                    elif votes | {src} == set(ps):
                        pre = [("coord", p, ("PreCommit",)) for p in ps]
                        out.append(("precommit", votes | {src}, acks, parts, send(rest, *pre)))
                    else:
                        out.append((phase, votes | {src}, acks, parts, rest))
                elif m[0] == "Ack" and phase == "precommit":
                    if acks | {src} == set(ps):
                        out.append(decide((phase, votes, acks | {src}, parts, rest), True))
                    else:
                        out.append((phase, votes, acks | {src}, parts, rest))
                else:
                    out.append((phase, votes, acks, parts, rest))
                continue
            i = ps.index(dst)
            mine = parts[i]

            def put(s, _i=i):
                return parts[:_i] + (s,) + parts[_i + 1:]
            if m[0] == "CanCommit":
                if mine == "working":
                    out.append((phase, votes, acks, put("uncertain"), send(rest, (dst, "coord", ("Vote", True)))))
                    out.append((phase, votes, acks, put("aborted"), send(rest, (dst, "coord", ("Vote", False)))))
                else:
                    out.append((phase, votes, acks, parts, rest))
            elif m[0] == "PreCommit":
                now = "precommitted" if mine == "uncertain" else mine
                extra = [(dst, "coord", ("Ack",))] if now in ("precommitted", "committed") else []
                out.append((phase, votes, acks, put(now), send(rest, *extra)))
            elif m[0] == "Decision":
                out.append((phase, votes, acks, put("committed" if m[1] else "aborted"), rest))
        if phase == "waiting":
            out.append(decide((phase, votes, acks, parts, net), False))
        for i, s in enumerate(parts):
            if s == "working":
                out.append((phase, votes, acks, parts[:i] + ("aborted",) + parts[i + 1:], net))
        return [(ph, v, a, p, freeze(nt)) for ph, v, a, p, nt in out]

    start = ("waiting", frozenset(), frozenset(), ("working",) * n,
             freeze(Counter({("coord", p, ("CanCommit",)): 1 for p in ps})))
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in succ(queue.popleft()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return len(seen)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_3pc_state_count_without_faults_matches_a_naive_bfs(n):
    result = explorer.check(THREEPC, params={"n": n})
    assert result.complete and violated(result) == []
    assert result.distinct_states == naive_3pc_states(n) == {1: 20, 2: 212, 3: 2438}[n]


def test_bully_with_two_processes_has_five_states_by_hand():
    # n2 wins at start (Coordinator to n1); n1 is electing (Election to n2). States:
    # S0 {Election, Coordinator} in flight; S1 n2 answered the Election with a second Coordinator;
    # S2 n1 followed n2, Election still in flight; S3 one Coordinator left (from S1 or S2); S4 nothing left.
    result = explorer.check(BULLY, params={"n": 2})
    assert (result.distinct_states, result.transitions) == (5, 5)


def test_split_brain_without_faults_is_one_write_in_three_states():
    # r1 writes (Write in flight), the storage accepts it: a line of 3 states
    result = explorer.check(SPLIT)
    assert (result.distinct_states, result.transitions) == (3, 2)
    assert violated(result) == []


# ---------------------------------------------------------------------- the failure detector

class Ping(Message):
    pass


class Sender(Node):
    def on_start(self):
        self.send("b", Ping())


class Watcher(Node):
    suspected = False
    pinged = False

    @on(Ping)
    def got_ping(self, msg, sender):
        self.pinged = True

    @timer
    def timeout(self):
        require(not self.suspected and self.suspects("a"))
        self.suspected = True


class Watch(Protocol):
    def nodes(self):
        return {"a": Sender(), "b": Watcher()}

    @action_invariant
    def suspects_only_the_unreachable(self, before, label):
        """At the step where b starts suspecting a: a is cut off, or down with nothing in flight to b."""
        if before.node("b").suspected or not self.node("b").suspected:
            return True
        cut = "partition" in self._faults and before.partition is not None
        down_and_silent = "a" in before.crashed and not any(s == "a" for s, _, _ in before.in_flight())
        return cut or down_and_silent or f"{label}: b suspects a, which is up and reachable"

    @reachable
    def suspected(self):
        return self.node("b").suspected


def test_nobody_is_suspected_without_faults():
    result = explorer.check(Watch)
    assert [(v.property, v.kind) for v in result.violations] == [("suspected", "unreachable")]


def test_a_crashed_peer_is_suspected_once_its_messages_have_arrived():
    result = explorer.check(Watch, faults="crash=1,restart=0")
    assert violated(result) == []


def test_a_partitioned_peer_is_suspected_even_with_a_message_in_flight():
    assert violated(explorer.check(Watch, faults="partition=1")) == []
    # the witness: suspected while the Ping is still in flight, held up by the partition
    from tests.conftest import state_graph

    g = state_graph(Watch, faults="partition=1")
    assert any(s["b.suspected"] and s["network"] for s in g.states)


def test_suspects_agrees_between_the_engines():
    for backend in ("interp", "batch"):
        r = explorer.check(BULLY, faults="crash=1,restart=0", backend=backend)
        assert (r.distinct_states, violated(r)) == (1596, [])


def test_the_watch_property_catches_a_detector_that_ignores_messages_in_flight(monkeypatch):
    # a mutant detector: down is enough, even with a message from the peer still on its way
    monkeypatch.setattr(Node, "suspects", lambda self, peer: peer in self.__dict__["_proto"].crashed)
    result = explorer.check(Watch, faults="crash=1,restart=0")
    assert violated(result) == ["suspects_only_the_unreachable"]
    assert [s.label for s in result.violations[0].trace.steps] == ["crash a", "b: timer timeout"]


# ---------------------------------------------------------------------- the docstrings' commands

def _docstring_commands():
    """Yields (command args, expected exit) for every `explore specs/...` line of the three docstrings."""
    import ast
    import re
    import shlex

    out = []
    for path in (THREEPC, BULLY, SPLIT):
        doc = ast.get_docstring(ast.parse(path.read_text()))
        for line in doc.splitlines():
            line = line.strip()
            if not line.startswith("explore specs/"):
                continue
            command, _, comment = line.partition("#")
            m = re.search(r"exit (\d+)", comment)
            args = shlex.split(command)[1:]
            slow = "restart=1" in command  # a liveness graph of ~10,000 states
            out.append(pytest.param(args, int(m.group(1)) if m else 0, id=" ".join(args),
                                    marks=[pytest.mark.slow] if slow else []))
    return out


@pytest.mark.parametrize("args,code", _docstring_commands())
def test_every_command_in_a_docstring_gives_the_exit_code_it_documents(args, code):
    from tests.conftest import explore

    run = explore(*args)
    assert run.code == code, run
