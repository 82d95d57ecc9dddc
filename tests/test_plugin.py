"""The pytest plugin: `pytest specs/` runs the gate's checks as items, and a marker runs them from any test file."""
from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

SPEC = '''
from explorer import Spec, action, invariant, reachable, require
from explorer.dsl.expect import holds, violates


class Count(Spec):
    def init(self):
        self.x = 0

    @action
    def inc(self):
        require(self.x < 4)
        self.x += 1

    @invariant
    def below_three(self):
        return self.x < 3 or f"x reached {self.x}"

    @reachable
    def two(self):
        return self.x == 2

    checks = [holds(depth=2), violates("below_three")]
'''


def write(pytester, rel: str, source: str) -> None:
    path = pytester.path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))


def test_pytest_collects_each_declared_check_of_a_spec_file_as_an_item(pytester):
    write(pytester, "specs/count.py", SPEC)
    result = pytester.runpytest("specs", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*count.py::Count?depth=2 -> holds? PASSED*",
                                 "*count.py::Count?defaults -> violates below_three? PASSED*"])


def test_a_check_that_fails_shows_the_message_and_the_trace(pytester):
    write(pytester, "specs/count.py", SPEC.replace("holds(depth=2)", "holds(depth=3)"))
    result = pytester.runpytest("specs")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "expected every property to hold, got invariant below_three" in out
    assert "Violated: below_three (invariant)" in out and "x reached 3" in out
    assert "Traceback" not in out


def test_a_vacuous_spec_fails_with_its_coverage(pytester):
    write(pytester, "specs/count.py", SPEC.replace("self.x == 2", "self.x == 7").replace(
        'violates("below_three")', "holds(depth=2)"))
    result = pytester.runpytest("specs")
    result.assert_outcomes(failed=2)
    assert "no witness for @reachable two" in result.stdout.str()


def test_a_spec_file_that_does_not_load_is_one_failing_item(pytester):
    write(pytester, "specs/broken.py", "from explorer import Spec\nclass S(Spec)\n")
    result = pytester.runpytest("specs")
    result.assert_outcomes(failed=1)
    assert "syntax error" in result.stdout.str()


def test_python_files_outside_the_spec_globs_are_not_collected_as_specs(pytester):
    write(pytester, "helpers/count.py", SPEC)
    result = pytester.runpytest("helpers")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_the_spec_globs_are_configurable(pytester):
    write(pytester, "models/count.py", SPEC)
    pytester.makeini("[pytest]\nexplorer_specs = models/*.py\n")
    pytester.runpytest("models").assert_outcomes(passed=2)


def test_a_marker_runs_the_checks_from_any_test_file(pytester):
    write(pytester, "specs/count.py", SPEC)
    pytester.makepyfile(test_gate='''
        import pytest

        @pytest.mark.explorer_gate("specs/count.py")
        def test_count_gate(explorer_check):
            outcome = explorer_check.assert_passes()
            assert outcome.result is not None
    ''')
    result = pytester.runpytest("test_gate.py", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_count_gate?Count?depth=2 -> holds?? PASSED*"])


def test_the_fixture_without_the_marker_says_what_is_missing(pytester):
    pytester.makepyfile(test_gate='''
        def test_gate(explorer_check):
            pass
    ''')
    result = pytester.runpytest("test_gate.py")
    assert "explorer_gate" in result.stdout.str()
    assert result.ret != 0
