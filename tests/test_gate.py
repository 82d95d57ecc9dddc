"""`explore check`: coverage makes a vacuous spec fail, one summary table, JSON and JUnit carry what failed,
--save writes liveness lassos, and a catalog spec broken on purpose fails the gate.
"""
from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

from .conftest import TWOPC, explore

NEVER_ENABLED = """
    from explorer import Spec, action, invariant, require


    class Stuck(Spec):
        def init(self):
            self.x = 0

        @action
        def inc(self):
            require(self.x < 2)
            self.x += 1

        @action
        def reset(self):
            require(self.x > 5)  # a guard that can never hold: this action is dead code
            self.x = 0

        @invariant
        def small(self):
            return self.x < 10
"""


def test_an_action_that_is_never_enabled_fails_the_gate(write_spec, tmp_path):
    write_spec(NEVER_ENABLED, "stuck.py")
    run = explore("check", tmp_path)
    assert run.code == 1, run
    assert "vacuous: never enabled: reset" in run.out
    assert "reset" in run.out and "<- never enabled" in run.out  # the coverage table of the failure


WITNESS = """
    from explorer import Spec, action, reachable, require
    from explorer.dsl.expect import holds


    class Climb(Spec):
        checks = CHECKS

        def init(self):
            self.x = 0

        @action
        def inc(self):
            require(self.x < 2)
            self.x += 1

        @reachable
        def two(self):
            return self.x == 2
"""


def test_a_reachable_without_witness_within_the_depth_bound_fails_the_gate(write_spec, tmp_path):
    write_spec(WITNESS.replace("CHECKS", "[holds(depth=1)]"), "climb.py")
    run = explore("check", tmp_path)
    assert run.code == 1, run
    assert "vacuous within depth 1: no witness for @reachable two" in run.out


def test_the_same_spec_passes_once_the_bound_lets_the_witness_in(write_spec, tmp_path):
    write_spec(WITNESS.replace("CHECKS", "[holds(depth=2)]"), "climb.py")
    assert explore("check", tmp_path).code == 0


def test_the_gate_prints_one_summary_table(tmp_path):
    shutil.copy(TWOPC, tmp_path / "twopc.py")
    run = explore("check", tmp_path / "twopc.py")
    assert run.code == 0, run
    header = [line for line in run.out.splitlines() if line.startswith("spec ")]
    assert len(header) == 1 and all(w in header[0] for w in ("check", "expected", "got", "states", "time"))
    rows = [line for line in run.out.splitlines() if line.startswith("twopc.py::TwoPC")]
    assert len(rows) == 8 and all(r.rstrip().endswith("PASS") for r in rows)
    assert any("violates everyone_decides" in r and "crash=1,restart=0" in r for r in rows)
    assert any("atomicity holds" in r and "partition=1,crash=1" in r for r in rows)
    assert "8 passed, 0 failed" in run.out


def test_a_catalog_spec_broken_on_purpose_fails_with_a_readable_report(tmp_path):
    src = TWOPC.read_text().replace("require(self.decision is None)  # a late vote",
                                    "pass  # broken on purpose: a late vote")
    (tmp_path / "twopc.py").write_text(src)
    junit = tmp_path / "out.xml"
    run = explore("check", tmp_path / "twopc.py", "--junit", junit)
    assert run.code == 1, run
    assert "FAIL twopc.py TwoPC [depth=12 -> holds]" in run.out
    assert "Violated: atomicity (invariant)" in run.out and "Traceback" not in run.text
    failures = list(ET.parse(junit).getroot().iter("failure"))
    assert failures and "Violated: atomicity" in failures[0].text


def test_json_lists_coverage_per_check_and_save_writes_the_liveness_lasso(tmp_path):
    shutil.copy(TWOPC, tmp_path / "twopc.py")
    run = explore("check", tmp_path / "twopc.py", "--json", "--save", tmp_path / "cx")
    assert run.code == 0, run
    data = json.loads(run.out)
    first = data[0]
    assert first["passed"] and first["got"] == "holds"
    cov = first["coverage"]
    assert cov["Participant.got_prepare"]["enabled"] > 0 and cov["Coordinator.vote_timeout"]["taken"] > 0
    assert "8 passed" in run.err  # the human lines go to stderr with --json
    saved = json.loads((tmp_path / "cx" / "twopc" / "coordinator_crash_blocks" / "everyone_decides.json").read_text())
    assert saved["kind"] == "liveness" and any(s["label"] == "crash coord" for s in saved["steps"])
    assert (tmp_path / "cx" / "twopc" / "no_durable_log" / "atomicity.json").exists()


def test_checks_that_are_not_checks_are_reported_not_crashed_on(write_spec, tmp_path):
    write_spec(WITNESS.replace("CHECKS", "['holds']"), "climb.py")
    run = explore("check", tmp_path)
    assert run.code == 1 and "is not a check" in run.out and "Traceback" not in run.text, run


# ---------------------------------------------------------------------- holds(properties=[...])

SUBSET = """
    from explorer import Spec, action, eventually, invariant, require
    from explorer.dsl.expect import holds


    class Parts(Spec):
        checks = CHECKS

        def init(self):
            self.x = 0

        @action
        def inc(self):
            require(self.x < 3)
            self.x += 1

        @invariant
        def small(self):
            return self.x <= 3

        @invariant
        def tiny(self):
            return self.x <= 1

        @eventually
        def three(self):  # fails: inc is not fair, so a behaviour may stop at 0
            return self.x == 3
"""


def _gate(write_spec, checks: str):
    from pathlib import Path

    from explorer.gate import collect

    path = write_spec(SUBSET.replace("CHECKS", checks), "parts.py")
    return [item.run() for item in collect(Path(path))]


def test_holds_with_properties_checks_only_the_safety_properties_it_names(write_spec):
    only_small, everything, only_tiny = _gate(
        write_spec, '[holds(properties=["small"]), holds(), holds(properties=["tiny", "small"])]')
    assert only_small.passed and only_small.result.violations == [] and only_small.result.unchecked == []
    assert only_small.result.distinct_states == 4  # x = 0..3: the whole space was searched
    assert "small holds" in only_small.check.describe()
    assert not everything.passed and [v.property for v in everything.result.violations] == ["tiny"]
    assert not only_tiny.passed and "invariant tiny" in only_tiny.message


def test_holds_with_a_liveness_or_unknown_property_is_refused_with_the_names_it_knows(write_spec):
    live, typo = _gate(write_spec, '[holds(properties=["three"]), holds(properties=["smal"])]')
    assert not live.passed and "three is a liveness property" in live.message
    assert not typo.passed and "no safety property 'smal'" in typo.message and "small, tiny" in typo.message


def test_holds_with_properties_refuses_a_bare_string(write_spec, tmp_path):
    write_spec(SUBSET.replace("CHECKS", '[holds(properties="small")]'), "parts.py")
    run = explore("check", tmp_path)
    assert run.code == 1 and "non-empty list of property names" in run.out and "Traceback" not in run.text, run


def test_the_2pc_gate_catches_a_decision_log_that_does_not_survive_a_crash(tmp_path):
    """Without the durable decision, 2PC breaks only under crashes: the fault-budget checks see it."""
    from explorer.gate import collect

    src = TWOPC.read_text().replace("decision = durable(None)  # the decision log",
                                    "decision = None  # broken on purpose: the decision log")
    assert src != TWOPC.read_text()
    (tmp_path / "twopc.py").write_text(src)
    items = {i.check.name: i for i in collect(tmp_path / "twopc.py") if i.check.name}
    broken = items["atomic_under_two_crashes"].run()
    assert not broken.passed and broken.got == "violates atomicity", broken.message
    assert items["atomic_under_loss_dup"].run().passed  # no crash: the log is never lost
