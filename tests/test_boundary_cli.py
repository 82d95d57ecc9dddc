"""`explore boundary SPEC.py`: the formula Z3 finds over a spec's symbolic parameters, from the command line.

The figures are independent of the finder: a read quorum of r and a write quorum of w out of n
intersect iff r + w > n, and the unsafe witness's trace must replay as a real violation.
"""
from __future__ import annotations

import json

from .conftest import SPECS, explore

SMALL = '''
from explorer import Spec, action, invariant, param, require


class Budget(Spec):
    """Spends `cost` per step, `limit` steps; the balance of 4 must never go below zero."""

    limit = param(3, symbolic=True, bounds=(0, 4))
    cost = param(1, symbolic=True, bounds=(1, 3))

    def init(self):
        self.spent = 0
        self.balance = 4

    @action
    def spend(self):
        require(self.spent < self.limit)
        self.spent += 1
        self.balance -= self.cost

    @invariant
    def solvent(self):
        return self.balance >= 0
'''
LINEAR = SMALL.replace("self.balance -= self.cost", "self.balance -= 1").replace("self.balance >= 0", "self.spent <= self.cost")


def test_the_quorum_boundary_from_the_command_line_with_json_and_a_replayable_witness(tmp_path):
    run = explore("boundary", SPECS / "quorum.py", "--json", "--out", tmp_path)
    assert run.code == 0, run
    data = json.loads(run.out)
    assert data["result"] == "boundary" and data["formula"] == "r + w > n" and data["verified"] is True
    assert data["swept"] == {"n": [2, 3]} and data["unknowns"] == {"r": [1, 3], "w": [1, 3]}
    u, s = data["unsafe_witness"], data["safe_witness"]
    assert u["r"] + u["w"] <= u["n"] and s["r"] + s["w"] > s["n"]
    assert data["unsafe_property"] == "read_sees_latest_write" and data["unsafe_trace_length"] >= 4
    replay = explore("replay", data["files"]["json"])
    assert replay.code == 12 and "still violates read_sees_latest_write" in replay.out, replay


def test_the_text_output_states_the_formula_and_both_witnesses(write_spec):
    run = explore("boundary", write_spec(LINEAR))  # safe iff limit <= cost
    assert run.code == 0, run
    assert "solvent holds iff cost + 1 > limit" in run.out and "checked by Z3" in run.out, run
    assert "safe witness:   cost=1 limit=0" in run.out and "unsafe witness: cost=1 limit=2" in run.out
    assert "Violated: solvent" in run.out  # the counterexample trace of the unsafe witness


def test_a_boundary_no_small_linear_formula_describes_lists_its_unsafe_points(write_spec):
    data = json.loads(explore("boundary", write_spec(SMALL), "--json").out)  # safe iff cost * limit <= 4
    assert data["result"] == "no_formula" and data["formula"] is None and "no linear inequality" in data["notes"][0]
    cost_limit = [(c, lim) for c in range(1, 4) for lim in range(0, 5)]
    assert data["unsafe_points"] == sum(c * lim > 4 for c, lim in cost_limit) == 5
    u = data["unsafe_witness"]
    assert u["cost"] * u["limit"] > 4


def test_range_narrows_the_box_and_over_sweeps_a_parameter(write_spec):
    spec = write_spec(SMALL)
    data = json.loads(explore("boundary", spec, "--range", "cost=2..2", "--over", "limit=0,1,2,3", "--json").out)
    assert data["unknowns"] == {"cost": [2, 2]} and data["swept"] == {"limit": [0, 1, 2, 3]}
    assert data["formula"] == "3 > limit" and data["unsafe_points"] == 1 and data["safe_points"] == 3  # 2 * 3 > 4


def test_bad_boundary_flags_are_usage_errors_and_a_spec_without_symbolic_params_says_so(write_spec):
    spec = write_spec(SMALL)
    for args in (["--range", "cost=3..1"], ["--range", "cost"], ["--over", "limit=a,b"], ["--method", "bmc"]):
        run = explore("boundary", spec, *args)
        assert run.code == 2 and "Traceback" not in run.err, run
    plain = write_spec(SMALL.replace(", symbolic=True, bounds=(0, 4)", "").replace(", symbolic=True, bounds=(1, 3)", ""),
                       name="plain.py")
    run = explore("boundary", plain, "--json")
    assert run.code == 2 and json.loads(run.out)["result"] == "error" and "no symbolic parameter" in run.err
    unbounded = write_spec(SMALL.replace(", bounds=(0, 4)", ""), name="unbounded.py")
    run = explore("boundary", unbounded)
    assert run.code == 3 and "limit needs int bounds" in run.err, run


def test_the_bmc_method_from_the_command_line_finds_the_same_formula_within_its_depth(write_spec):
    spec = write_spec(LINEAR)  # a violation needs cost + 1 <= limit <= 4 steps
    data = json.loads(explore("boundary", spec, "--method", "bmc", "--depth", "5", "--json").out)
    assert data["method"] == "bmc" and data["formula"] == "cost + 1 > limit" and data["verified"] is True
    for k in (1, 2, 3):  # within k steps, spent reaches min(k, limit): unsafe iff that exceeds cost
        short = json.loads(explore("boundary", spec, "--method", "bmc", "--depth", str(k), "--json").out)
        want = sum(min(k, limit) > cost for cost in range(1, 4) for limit in range(0, 5))
        assert short["unsafe_points"] == want and short["depth"] == k, (k, short)
    assert want == 3 + 2  # depth 3: cost 1 with limit 2..4, cost 2 with limit 3..4


def test_a_param_given_on_the_command_line_fixes_a_symbolic_parameter():
    data = json.loads(explore("boundary", SPECS / "quorum.py", "--param", "n=2", "--json").out)
    assert data["swept"] == {} and data["unknowns"] == {"r": [1, 3], "w": [1, 3]}
    assert data["formula"] == "r + w > 2" and data["unsafe_points"] == 1 and data["invalid_points"] == 5


IN_A_MESSAGE = '''
from explorer import Message, Node, Protocol, invariant, on, param, require, timer


class Num(Message):
    v: int


class Sender(Node):
    sent = False

    @timer
    def go(self):
        require(not self.sent)
        self.sent = True
        self.send("b", Num(v=self.world.k))


class Receiver(Node):
    got = 0

    @on(Num)
    def num(self, msg, sender):
        self.got = msg.v


class Relay(Protocol):
    k = param(1, symbolic=True, bounds=(1, 3))

    def nodes(self):
        return {"a": Sender(), "b": Receiver()}

    @invariant
    def small(self):
        return self.node("b").got <= 2
'''


def test_a_symbolic_parameter_sent_in_a_message_forks_over_its_values_and_agrees_with_the_sweep(write_spec):
    spec = write_spec(IN_A_MESSAGE)  # the message freezes k: the search forks over k's values on the box
    run = explore("boundary", spec, "--json")
    assert run.code == 0 and "Traceback" not in run.err, run
    data = json.loads(run.out)
    assert data["formula"] == "3 > k" and data["unsafe_witness"] == {"k": 3} and data["verified"] is True
    sweep = json.loads(explore("boundary", spec, "--method", "sweep", "--json").out)  # got = k > 2 only at k = 3
    assert sweep["formula"] == "3 > k" and sweep["unsafe_witness"] == {"k": 3} and sweep["verified"] is False


def test_the_timing_method_gives_redis_locks_relation_from_z3_with_a_replayable_witness(tmp_path):
    args = ["boundary", SPECS / "redis_lock.py", "--param", "variant=no_fencing", "--param", "timing=true",
            "--method", "timing", "--unknown", "ttl", "--unknown", "max_pause", "--unknown", "drift"]
    run = explore(*args, "--property", "mutual_exclusion", "--json", "--out", tmp_path)
    assert run.code == 0, run
    data = json.loads(run.out)
    assert data["unsafe_formula"] == "ttl <= max_pause + drift" and data["fitted"] is True
    assert data["formula"] == "ttl > max_pause + drift" and "holds iff ttl > max_pause + drift" in explore(*args).out
    u, s = data["unsafe_witness"], data["safe_witness"]
    assert u["ttl"] <= u["max_pause"] + u["drift"] and s["ttl"] > s["max_pause"] + s["drift"]
    replay = explore("replay", data["files"]["json"])
    assert replay.code == 12 and "still violates mutual_exclusion" in replay.out, replay
    fenced = explore(*args[:2], *args[4:], "--property", "mutual_exclusion", "--json")  # the default: fencing
    assert json.loads(fenced.out)["unsafe_formula"].startswith("false") and json.loads(fenced.out)["unsafe_witness"] is None


def test_the_timing_method_says_what_it_needs():
    run = explore("boundary", SPECS / "redis_lock.py", "--method", "timing", "--property", "mutual_exclusion")
    assert run.code == 2 and "--unknown NAME" in run.err, run
    run = explore("boundary", SPECS / "quorum.py", "--method", "timing", "--unknown", "r")
    assert run.code == 2 and "Traceback" not in run.err, run
