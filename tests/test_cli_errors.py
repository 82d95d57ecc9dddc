"""Every mistake a user can make gives one clear message and exit code 2 (usage) or 3 (spec), never a traceback.

Each case runs the real `explore` command in a fresh process, on a spec in tests/specs/bad/ with one
mistake in it, and checks the exit code, that the message names the file (and the line where there is
one), and that it says what went wrong.
"""
from __future__ import annotations

import re

import pytest

from .conftest import (
    BAD,
    FIXTURES,
    SYNTAX_ERROR,
    TWOPC,
    TWOPHASE,
    explore,
)

USAGE, SPEC = 2, 3


def assert_clean_error(run, code: int, *words: str) -> None:
    """The run failed with `code`, printed each of `words`, and showed no Python traceback."""
    assert run.code == code, run
    assert "Traceback" not in run.text, run
    assert "internal error" not in run.text, run
    for w in words:
        assert w in run.text, f"{w!r} not in the output of {run}"


def line_of(path, needle: str) -> int:
    """Returns the 1-based line number of the first line of `path` containing `needle`."""
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def assert_names_function(run, path, name: str) -> None:
    """The output names `path` at the line of `def name` or of the decorator just above it."""
    line = line_of(path, f"def {name}(")
    found = re.search(rf"{re.escape(path.name)}:(\d+)", run.text)
    assert found and int(found.group(1)) in (line, line - 1), run


def test_a_missing_file_is_a_usage_error():
    run = explore("tests/specs/no_such_spec.py")
    assert_clean_error(run, USAGE, "tests/specs/no_such_spec.py", "no such file")


def test_a_folder_is_not_a_spec_file():
    run = explore("tests/specs")
    assert_clean_error(run, USAGE, "tests/specs")


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    path = tmp_path / "syntax_error.py"
    path.write_text(SYNTAX_ERROR)
    run = explore(path)
    assert_clean_error(run, SPEC, f"syntax_error.py:{line_of(path, 'def inc(self)')}", "syntax error")


def test_a_file_without_a_spec_class_says_so():
    run = explore(BAD / "no_spec.py")
    assert_clean_error(run, SPEC, "no_spec.py", "no spec class")


def test_a_file_with_two_spec_classes_names_both_and_how_to_pick_one():
    run = explore(BAD / "two_specs.py")
    assert_clean_error(run, SPEC, "two_specs.py", "First", "Second", "two_specs.py::First")


def test_picking_one_of_two_spec_classes_works():
    run = explore(f"{BAD / 'two_specs.py'}::Second")
    assert run.code == 0, run


def test_picking_a_class_that_does_not_exist_names_the_ones_that_do():
    run = explore(f"{BAD / 'two_specs.py'}::Third")
    assert_clean_error(run, USAGE, "Third", "First, Second")


def test_an_unknown_param_names_the_known_ones():
    run = explore(TWOPHASE, "--param", "m=3")
    assert_clean_error(run, USAGE, "'m'", "parameters: n")


def test_a_param_without_a_value_shows_the_form():
    run = explore(TWOPHASE, "--param", "n")
    assert_clean_error(run, USAGE, "name=value")


def test_a_param_of_the_wrong_type_says_what_was_expected():
    run = explore(TWOPHASE, "--param", "n=abc")
    assert_clean_error(run, USAGE, "n=abc", "integer")


def test_a_param_outside_its_choices_lists_them():
    run = explore(TWOPC, "--param", "variant=sloppy")
    assert_clean_error(run, USAGE, "variant=sloppy", "correct", "no_durable_log")


@pytest.mark.parametrize("faults, words", [
    ("boom=1", ["'boom'", "loss"]),
    ("loss=x", ["loss=x", "whole number"]),
    ("loss=-2", ["loss=-2"]),
])
def test_a_bad_faults_string_is_a_usage_error(faults, words):
    run = explore(TWOPC, "--faults", faults)
    assert_clean_error(run, USAGE, "--faults", *words)


def test_faults_on_a_plain_spec_are_a_usage_error():
    run = explore(TWOPHASE, "--faults", "loss=1")
    assert_clean_error(run, USAGE, "--faults", "TwoPhase", "plain Spec")


def test_an_action_that_raises_names_the_action_and_line_and_shows_the_trace():
    path = BAD / "action_raises.py"
    run = explore(path)
    line = line_of(path, "self.x // (2 - self.x)")
    assert_clean_error(run, SPEC, f"action_raises.py:{line}", "halve", "ZeroDivisionError")
    # The trace that leads to the state where it raised: two increments from x = 0.
    steps = re.findall(r"^\s*(\d+)\. (\S+)", run.text, flags=re.M)
    assert steps == [("1", "inc"), ("2", "inc")], run


def test_an_init_field_that_cannot_be_frozen_names_the_field_and_type():
    path = BAD / "unfreezable_init.py"
    run = explore(path)
    assert_clean_error(run, SPEC, "unfreezable_init.py", "self.f", "TextIOWrapper")


def test_an_action_that_stores_an_unfreezable_value_names_the_action_and_field():
    run = explore(BAD / "unfreezable_action.py")
    assert_clean_error(run, SPEC, "unfreezable_action.py:", "make", "thing", "object")


@pytest.mark.parametrize("engine", [pytest.param((), id="default"),
                                    pytest.param(("--backend", "interp"), id="interp")])
@pytest.mark.parametrize("spec, action", [("random_action.py", "roll"), ("global_counter.py", "tick")])
def test_a_non_deterministic_action_is_a_spec_error(spec, action, engine):
    path = BAD / spec
    run = explore(path, "--max-states", "5000", *engine)
    assert_clean_error(run, SPEC, f"{spec}:", action, "not deterministic")
    assert_names_function(run, path, action)


def test_an_init_that_sets_no_field_says_how_to_set_one():
    run = explore(BAD / "init_sets_nothing.py")
    assert_clean_error(run, SPEC, "init_sets_nothing.py", "sets no fields", "self.")


def test_a_spec_without_actions_says_to_mark_one():
    run = explore(BAD / "no_actions.py")
    assert_clean_error(run, SPEC, "no_actions.py", "no actions", "@action")


def test_a_handler_for_a_class_that_is_not_a_message_names_the_line():
    path = BAD / "handler_not_message.py"
    run = explore(path)
    assert_clean_error(run, SPEC, f"handler_not_message.py:{line_of(path, '@on(Ping)')}", "Ping", "Message")


def test_a_message_without_a_handler_names_the_node_and_message():
    path = BAD / "no_handler.py"
    run = explore(path)
    assert_clean_error(run, SPEC, f"no_handler.py:{line_of(path, 'class Server')}", "Server", "Ping", "@on(Ping)")
    assert "c→s Ping()" in run.text  # the state where it happened: Ping in flight from c to s


def test_an_invariant_returning_none_names_the_invariant_and_line():
    path = BAD / "invariant_none.py"
    run = explore(path)
    assert_clean_error(run, SPEC, "invariant_none.py", "small", "None", "return True")
    assert_names_function(run, path, "small")


def test_a_spec_file_that_raises_while_loading_names_the_line(write_spec):
    path = write_spec("""
        from explorer import Spec, action

        LIMIT = int("three")


        class S(Spec):
            def init(self):
                self.x = 0

            @action
            def inc(self):
                self.x = 1
    """)
    run = explore(path)
    assert_clean_error(run, SPEC, f"{path}:3", "ValueError")


def test_a_file_that_is_not_python_is_a_usage_error(tmp_path):
    path = tmp_path / "spec.txt"
    path.write_text("hello")
    assert_clean_error(explore(path), USAGE, "spec.txt", ".py")


@pytest.mark.parametrize("flag, value, words", [
    ("--depth", "-1", ["depth=-1"]),
    ("--max-states", "0", ["max_states=0"]),
    ("--max-violations", "0", ["max_violations=0"]),
    ("--strategy", "sideways", ["sideways"]),
    ("--depth", "ten", ["ten"]),
])
def test_a_bad_flag_value_is_a_usage_error(flag, value, words):
    run = explore(FIXTURES / "counter.py", flag, value)
    assert_clean_error(run, USAGE, *words)


def test_an_unknown_flag_is_a_usage_error():
    assert_clean_error(explore(FIXTURES / "counter.py", "--frobnicate"), USAGE, "--frobnicate")


def test_a_flag_that_is_not_available_yet_says_so():
    assert_clean_error(explore(FIXTURES / "counter.py", "--por"), USAGE, "--por")


def test_a_send_to_a_node_that_does_not_exist_names_the_line_and_the_nodes():
    path = BAD / "send_to_nobody.py"
    run = explore(path)
    assert_clean_error(run, SPEC, f"send_to_nobody.py:{line_of(path, 'server2')}", "'server2'", "nodes: c, s")
    assert "c→s Ping()" in run.text  # the state in which the handler ran


def test_a_send_of_something_that_is_not_a_message_names_the_line():
    path = BAD / "send_not_a_message.py"
    run = explore(path)
    assert_clean_error(run, SPEC, f"send_not_a_message.py:{line_of(path, 'pong')}", "'pong'", "Message")


ENGINES = [pytest.param((), id="default"), pytest.param(("--backend", "interp"), id="interp")]


@pytest.mark.parametrize("engine", ENGINES)
def test_an_action_that_assigns_a_field_init_did_not_set_names_it(engine):
    path = BAD / "new_field.py"
    run = explore(path, *engine)
    assert_clean_error(run, SPEC, "new_field.py:", "inc", "self.cuont", "init()")
    assert_names_function(run, path, "inc")


@pytest.mark.parametrize("engine", ENGINES)
def test_an_invariant_that_raises_names_it_and_shows_the_trace(engine):
    path = BAD / "invariant_raises.py"
    run = explore(path, *engine)
    assert_clean_error(run, SPEC, f"invariant_raises.py:{line_of(path, 'KeyError')}", "known", "KeyError")
    steps = re.findall(r"^\s*(\d+)\. (\S+)", run.text, flags=re.M)
    assert steps == [("1", "inc"), ("2", "inc")], run
