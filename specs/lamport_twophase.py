"""Lamport's TwoPhase (TLA+ Examples, TwoPhase.tla): one transaction manager (TM), n resource managers.

Exactly the semantics of ../shared/peers/spin/twophase.pml, so state counts compare with Spin and TLC:
6^n + 4^n + 2^n distinct states. Messages form a set that only grows (no loss, no order): a message
once sent can be received any number of times, which is why there is no network here.

    explore specs/lamport_twophase.py --param n=5
"""
from explorer import Spec, action, choose, invariant, param, require
from explorer.dsl.expect import holds


class TwoPhase(Spec):
    n = param(3, symmetric=True, help="number of resource managers (interchangeable: --symmetry)")

    checks = [holds(params={"n": 3})]  # what `explore check specs/` requires

    def rms(self):
        return range(self.n)

    def init(self):
        self.rm_state = {r: "working" for r in self.rms()}
        self.tm_state = "init"
        self.tm_prepared = {r: False for r in self.rms()}  # TLA+: tmPrepared as a function RM -> BOOLEAN
        self.msg_prepared = {r: False for r in self.rms()}  # [type |-> "Prepared", rm |-> r] \in msgs
        self.msg_commit = False
        self.msg_abort = False

    @action
    def tm_commit(self):
        require(self.tm_state == "init" and all(self.tm_prepared.values()))
        self.tm_state = "committed"
        self.msg_commit = True

    @action
    def tm_abort(self):
        require(self.tm_state == "init")
        self.tm_state = "aborted"
        self.msg_abort = True

    @action
    def tm_rcv_prepared(self):
        r = choose(self.rms(), "rm")
        require(self.tm_state == "init" and self.msg_prepared[r])
        self.tm_prepared[r] = True

    @action
    def rm_prepare(self):
        r = choose(self.rms(), "rm")
        require(self.rm_state[r] == "working")
        self.rm_state[r] = "prepared"
        self.msg_prepared[r] = True

    @action
    def rm_choose_to_abort(self):
        r = choose(self.rms(), "rm")
        require(self.rm_state[r] == "working")
        self.rm_state[r] = "aborted"

    @action
    def rm_rcv_commit(self):
        r = choose(self.rms(), "rm")
        require(self.msg_commit)
        self.rm_state[r] = "committed"

    @action
    def rm_rcv_abort(self):
        r = choose(self.rms(), "rm")
        require(self.msg_abort)
        self.rm_state[r] = "aborted"

    @invariant
    def consistent(self):
        states = set(self.rm_state.values())
        return not ("committed" in states and "aborted" in states)
