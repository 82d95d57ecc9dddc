"""State counts of the catalog's message-passing specs (clocks, eventual, cap) in tiny configurations,
pinned against a second, naive implementation of each protocol written here: nodes as tuples, the
network as a multiset of (sender, receiver, message) tuples, a plain BFS. It shares no code with the
spec, the actor runtime or the engine, so a change in either that alters the reachable states shows
up as a disagreement. The tiniest configurations are also counted by hand."""
from __future__ import annotations

from collections import deque

import pytest

import explorer
from tests.conftest import SPECS

CLOCKS, EVENTUAL, CAP = SPECS / "clocks.py", SPECS / "eventual.py", SPECS / "cap.py"


def count(init, succ) -> int:
    seen, frontier = {init}, deque([init])
    while frontier:
        for t in succ(frontier.popleft()):
            if t not in seen:
                seen.add(t)
                frontier.append(t)
    return len(seen)


def add(net: tuple, *msgs) -> tuple:
    """The network (a sorted tuple, a multiset) with messages added."""
    return tuple(sorted(net + msgs, key=repr))


def removed(net: tuple, i: int) -> tuple:
    return net[:i] + net[i + 1:]


def deliveries(net: tuple):
    """Yields (index, message) once per distinct in-flight message (copies are one choice)."""
    seen = set()
    for i, m in enumerate(net):
        if m not in seen:
            seen.add(m)
            yield i, m


def engine_count(spec, params, faults=None) -> int:
    result = explorer.check(spec, params=params, faults=faults, max_violations=10**6)
    assert result.complete
    return result.distinct_states


# ---------------------------------------------------------------------- Lamport and vector clocks


def clocks_count(n=2, max_events=2) -> int:
    """A process is its events: (kind, message id, Lamport clock, vector clock); its clocks are its
    last event's. A message is (sender, receiver, id, Lamport, vector)."""
    procs = range(n)

    def stamp(events, me, kind, mid, other_l=0, other_v=None):
        lam = events[-1][2] if events else 0
        vec = list(events[-1][3] if events else (0,) * n)
        if other_v is not None:
            vec = [max(a, b) for a, b in zip(vec, other_v, strict=True)]
        vec[me] += 1
        return events + ((kind, mid, max(lam, other_l) + 1, tuple(vec)),)

    def succ(state):
        evs, net = state
        for p in procs:
            if sum(e[0] != "receive" for e in evs[p]) < max_events:
                for to in [None, *(q for q in procs if q != p)]:
                    mid = None if to is None else (p, len(evs[p]) + 1)
                    new = stamp(evs[p], p, "local" if to is None else "send", mid)
                    e2 = evs[:p] + (new,) + evs[p + 1:]
                    yield e2, (net if to is None else add(net, (p, to, mid, new[-1][2], new[-1][3])))
        for i, (_src, dst, mid, lam, vec) in deliveries(net):
            new = stamp(evs[dst], dst, "receive", mid, lam, vec)
            yield evs[:dst] + (new,) + evs[dst + 1:], removed(net, i)

    return count((tuple(() for _ in procs), ()), succ)


def test_clocks_one_process_by_hand():
    # one process, no one to send to: two local events, one after the other
    assert engine_count(CLOCKS, {"n": 1, "max_events": 2}) == 3 == clocks_count(1, 2)


def test_clocks_two_processes_one_event_each_by_hand():
    # each process does nothing, a local event or a send. Neither sends: 0 or local each, 4 states.
    # One sends (2 ways): the other did nothing (message in flight, or received: 2) or a local event
    # (in flight, received before it, received after it: 3), so 2 x 5 = 10. Both send: each message
    # is in flight, received before the receiver's own send or after it (3 x 3), except both
    # received before: each send would follow the other's receipt, a cycle: 8. 4 + 10 + 8 = 22.
    assert engine_count(CLOCKS, {"n": 2, "max_events": 1}) == 22 == clocks_count(2, 1)


@pytest.mark.parametrize("n,max_events", [(2, 2), (3, 1)])
def test_clocks_counts_match_a_naive_reimplementation(n, max_events):
    assert engine_count(CLOCKS, {"n": n, "max_events": max_events}) == clocks_count(n, max_events)


# ---------------------------------------------------------------------- BASE store (eventual)


def eventual_count(n=2, script=("wr", "rr"), variant="sticky") -> int:
    """Nodes: the client harness (clock, history of (session, kind, value, invoke, ret, result)) and
    replicas (value, timestamp, Lamport counter). Sessions are 0.., replicas 0.. (id 'r{i+1}')."""
    reps = range(n)
    rid = [f"r{i + 1}" for i in reps]
    sessions = range(len(script))
    no_ts = (0, "")

    def homes(s):
        return [s % n] if variant == "sticky" else list(reps)

    def apply(rep, value, ts):
        val, ts0, counter = rep
        counter = max(counter, ts[0])
        return (value, ts, counter) if ts > ts0 else (val, ts0, counter)

    def complete(client, s, result):
        clock, hist = client
        clock += 1
        return clock, tuple(op[:4] + (clock, result) if op[0] == f"s{s + 1}" and op[4] is None else op for op in hist)

    def next_op(hist, s):
        mine = [op for op in hist if op[0] == f"s{s + 1}"]
        if any(op[4] is None for op in mine):
            return None
        return script[s][len(mine)] if len(mine) < len(script[s]) else None

    def succ(state):
        client, reps_, net = state
        clock, hist = client
        for s in sessions:
            kind = next_op(hist, s)
            if kind is None:
                continue
            for r in homes(s):
                c = clock + 1
                if kind == "w":
                    value = f"s{s + 1}.{sum(op[0] == f's{s + 1}' for op in hist) + 1}"
                    op, msg = (f"s{s + 1}", "write", value, c, None, None), ("c", r, "put", s, value)
                else:
                    op, msg = (f"s{s + 1}", "read", None, c, None, None), ("c", r, "get", s)
                yield (c, hist + (op,)), reps_, add(net, msg)
        for i, m in deliveries(net):
            rest = removed(net, i)
            dst, kind = m[1], m[2]
            if kind == "put":
                val, ts0, counter = reps_[dst]
                ts = (counter + 1, rid[dst])
                r2 = reps_[:dst] + (apply(reps_[dst], m[4], ts),) + reps_[dst + 1:]
                out = [(dst, "c", "put_ok", m[3], ts)] + [(dst, o, "replicate", m[4], ts) for o in reps if o != dst]
                yield client, r2, add(rest, *out)
            elif kind == "replicate":
                yield client, reps_[:dst] + (apply(reps_[dst], m[3], m[4]),) + reps_[dst + 1:], rest
            elif kind == "get":
                val, ts0, _ = reps_[dst]
                yield client, reps_, add(rest, (dst, "c", "get_ok", m[3], val, ts0))
            elif kind == "put_ok":
                yield complete(client, m[3], m[4]), reps_, rest
            elif kind == "get_ok":
                yield complete(client, m[3], (m[5], m[4])), reps_, rest

    return count(((0, ()), tuple((None, no_ts, 0) for _ in reps), ()), succ)


def test_eventual_one_write_on_one_replica_is_four_states_in_a_line():
    # invoke, Put delivered, PutOk delivered (no one to replicate to)
    assert engine_count(EVENTUAL, {"n": 1, "script": ("w",)}) == 4 == eventual_count(1, ("w",))


def test_eventual_one_write_on_two_replicas_by_hand():
    # invoke, Put at r1; then PutOk to the client and Replicate to r2 in either order: a diamond
    # after a line of 3 states: 3 + 3 = 6
    assert engine_count(EVENTUAL, {"n": 2, "script": ("w",)}) == 6 == eventual_count(2, ("w",))


@pytest.mark.parametrize("params", [
    {"n": 2, "script": ("wr",)},
    {"n": 2, "script": ("w", "r")},
    {"n": 2, "script": ("w", "wr")},
    {"n": 2, "script": ("wr",), "variant": "any_replica"},
    {"n": 2, "script": ("w", "r"), "variant": "any_replica"},
    {"n": 3, "script": ("w", "r")},
])
def test_eventual_counts_match_a_naive_reimplementation(params):
    assert engine_count(EVENTUAL, params) == eventual_count(**params)


def test_eventual_default_count_matches_a_naive_reimplementation():
    assert engine_count(EVENTUAL, {}) == eventual_count() == 1_433


# ---------------------------------------------------------------------- CAP (CP = ABD, AP = local)


def cap_count(n=3, mode="cp", script=("w", "r")) -> int:
    """Replicas: (value, timestamp, coordinating as a sorted tuple of (op, (kind, value, phase, ts,
    best, answers))); the client harness: (clock, history of (session, kind, value, invoke, ret,
    result)). Session s talks to replica s % n. Replica ids are 'r1'.. (they break timestamp ties)."""
    reps = range(n)
    rid = [f"r{i + 1}" for i in reps]
    majority = n // 2 + 1

    def keep(value, ts0, ts, v):
        return (v, ts) if ts > ts0 else (value, ts0)

    def next_op(hist, s):
        mine = [op for op in hist if op[0] == s]
        if mine and mine[-1][4] is None:
            return None
        return {"w": "write", "r": "read"}[script[s][len(mine)]] if len(mine) < len(script[s]) else None

    def setrep(reps_, r, rep):
        return reps_[:r] + (rep,) + reps_[r + 1:]

    def setco(co, op, entry):
        d = dict(co)
        if entry is None:
            del d[op]
        else:
            d[op] = entry
        return tuple(sorted(d.items()))

    def succ(state):
        (clock, hist), reps_, net = state
        for s in range(len(script)):
            kind = next_op(hist, s)
            if kind is not None:
                c = clock + 1
                value = c if kind == "write" else None
                yield ((c, hist + ((s, kind, value, c, None, None),)), reps_,
                       add(net, ("c", s % n, "request", c, kind, value)))
        for i, m in deliveries(net):
            rest = removed(net, i)
            src, dst, kind = m[:3]
            if dst == "c":  # a response
                c = clock + 1
                h = tuple(op[:4] + (c, m[4]) if op[3] == m[3] else op for op in hist)
                yield (c, h), reps_, rest
                continue
            value, ts0, co = reps_[dst]
            peers = [p for p in reps if p != dst]
            if kind == "request":
                op, okind, ovalue = m[3:]
                if mode == "ap":
                    out = []
                    if okind == "write":
                        ts = (ts0[0] + 1, rid[dst])
                        value, ts0 = keep(value, ts0, ts, ovalue)
                        out = [(dst, p, "store", 0, ts, ovalue) for p in peers]
                    out.append((dst, "c", "response", op, value if okind == "read" else None))
                    yield (clock, hist), setrep(reps_, dst, (value, ts0, co)), add(rest, *out)
                elif okind == "write":
                    ts = (ts0[0] + 1, rid[dst])
                    value, ts0 = keep(value, ts0, ts, ovalue)
                    co = setco(co, op, ("write", ovalue, "store", ts, ovalue, 1))
                    yield (clock, hist), setrep(reps_, dst, (value, ts0, co)), \
                        add(rest, *[(dst, p, "store", op, ts, ovalue) for p in peers])
                else:
                    co = setco(co, op, (okind, ovalue, "query", ts0, value, 1))
                    yield (clock, hist), setrep(reps_, dst, (value, ts0, co)), \
                        add(rest, *[(dst, p, "query", op) for p in peers])
            elif kind == "query":
                yield (clock, hist), reps_, add(rest, (dst, src, "query_reply", m[3], ts0, value))
            elif kind == "query_reply":
                op, rts, rvalue = m[3:]
                entry = dict(co).get(op)
                if entry is None or entry[2] != "query":
                    yield (clock, hist), reps_, rest
                    continue
                okind, ovalue, _, ts, best, answers = entry
                if rts > ts:
                    ts, best = rts, rvalue
                answers += 1
                if answers < majority:
                    yield (clock, hist), setrep(reps_, dst, (value, ts0, setco(co, op, (okind, ovalue, "query", ts, best, answers)))), rest
                    continue
                if okind == "write":
                    ts, best = (ts[0] + 1, rid[dst]), ovalue
                value, ts0 = keep(value, ts0, ts, best)
                co = setco(co, op, (okind, ovalue, "store", ts, best, 1))
                yield (clock, hist), setrep(reps_, dst, (value, ts0, co)), \
                    add(rest, *[(dst, p, "store", op, ts, best) for p in peers])
            elif kind == "store":
                op, sts, svalue = m[3:]
                value, ts0 = keep(value, ts0, sts, svalue)
                out = [(dst, src, "store_ack", op)] if op else []
                yield (clock, hist), setrep(reps_, dst, (value, ts0, co)), add(rest, *out)
            elif kind == "store_ack":
                op = m[3]
                entry = dict(co).get(op)
                if entry is None or entry[2] != "store":
                    yield (clock, hist), reps_, rest
                    continue
                okind, ovalue, phase, ts, best, answers = entry
                if answers + 1 < majority:
                    yield (clock, hist), setrep(reps_, dst, (value, ts0, setco(co, op, (okind, ovalue, phase, ts, best, answers + 1)))), rest
                    continue
                co = setco(co, op, None)
                yield (clock, hist), setrep(reps_, dst, (value, ts0, co)), \
                    add(rest, (dst, "c", "response", op, best if okind == "read" else None))

    return count(((0, ()), tuple((None, (0, ""), ()) for _ in reps), ()), succ)


def test_cap_cp_write_on_one_replica_never_answers():
    # invoke, Request delivered: the replica stores locally and waits for acks from a majority of
    # peers, of which it has none: the write never completes (3 states; see the report on n=1)
    assert engine_count(CAP, {"n": 1, "script": ("w",)}) == 3 == cap_count(1, "cp", ("w",))


def test_cap_ap_write_on_one_replica_by_hand():
    # invoke, Request delivered (stored, answered at once), Response delivered: 4 states
    assert engine_count(CAP, {"n": 1, "mode": "ap", "script": ("w",)}) == 4 == cap_count(1, "ap", ("w",))


@pytest.mark.parametrize("params", [
    {"n": 3, "script": ("w",)},
    {"n": 3, "script": ("r",)},
    {"n": 2, "script": ("w", "r")},
    {"n": 3, "mode": "ap", "script": ("w", "r")},
    {"n": 3, "mode": "ap", "script": ("w", "w")},
])
def test_cap_counts_match_a_naive_reimplementation(params):
    assert engine_count(CAP, params) == cap_count(**params)


@pytest.mark.slow  # half a minute on a loaded 2-core machine (the naive one takes a second)
def test_cap_default_count_matches_a_naive_reimplementation():
    assert engine_count(CAP, {}) == cap_count() == 7_379
