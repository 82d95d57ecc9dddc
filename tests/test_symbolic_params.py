"""Symbolic parameters: Z3 finds the quorum boundary (a read sees the latest completed write iff R + W > N),
and a concrete sweep of small instances with the explicit engine agrees with it point by point.
"""
from __future__ import annotations

import explorer
from explorer import Spec, action, choose, invariant, param, require
from explorer.symbolic.boundary import find_boundary, symbolic_param


class Quorum(Spec):
    """One write of version 1 to N replicas, then one read; nothing in it says R + W > N."""

    n = param(3, help="replicas")
    r = symbolic_param(2, bounds=(1, 4), help="read quorum")
    w = symbolic_param(2, bounds=(1, 4), help="write quorum")

    def init(self):
        self.version = {i: 0 for i in range(self.n)}
        self.acks = 0
        self.write_done = False
        self.reading = False
        self.replied = {i: False for i in range(self.n)}
        self.replies = 0
        self.seen = 0
        self.read_done = False

    @action
    def replicate(self):
        i = choose(range(self.n), "replica")
        require(self.version[i] == 0)
        self.version[i] = 1
        self.acks += 1

    @action
    def finish_write(self):
        require(not self.write_done and self.acks >= self.w)
        self.write_done = True

    @action
    def start_read(self):
        require(self.write_done and not self.reading)
        self.reading = True

    @action
    def reply(self):
        i = choose(range(self.n), "replica")
        require(self.reading and not self.read_done and not self.replied[i])
        self.replied[i] = True
        self.replies += 1
        self.seen = max(self.seen, self.version[i])

    @action
    def finish_read(self):
        require(self.reading and not self.read_done and self.replies >= self.r)
        self.read_done = True

    @invariant
    def read_sees_latest_write(self):
        return not self.read_done or self.seen == 1


def test_z3_finds_the_quorum_boundary_as_a_formula_over_r_w_and_n():
    b = find_boundary(Quorum, over={"n": [2, 3, 4]}, depth=7)  # a counterexample has at most n + 3 steps
    assert b.formula == "r + w > n"
    assert b.unsafe_witness is not None and b.unsafe_witness["r"] + b.unsafe_witness["w"] <= b.unsafe_witness["n"]
    assert b.safe_witness["r"] + b.safe_witness["w"] > b.safe_witness["n"]
    trace = b.unsafe_trace  # the unsafe witness comes with a concrete trace: the read missed the write
    assert trace.violated == "read_sees_latest_write" and trace.final["seen"] == 0


def test_the_boundary_agrees_with_a_concrete_sweep_by_the_explicit_engine():
    b = find_boundary(Quorum, params={"n": 3}, depth=6)
    assert b.formula == "r + w > 3"
    for r in range(1, 5):
        for w in range(1, 5):
            explicit = explorer.check(Quorum, params={"n": 3, "r": r, "w": w})
            assert explicit.complete or explicit.violations  # a search stops at its first violation
            assert (explicit.result == "ok") == b.holds_at({"r": r, "w": w}) == (r + w > 3), (r, w)
