"""Runs every command of docs/tutorial.md, so the tutorial never goes stale."""
from __future__ import annotations

import re
import shlex

import pytest

from tests.conftest import ROOT, explore

TUTORIAL = ROOT / "docs" / "tutorial.md"


def console_commands():
    """Returns (command args, expected lines, expected exit) for each `$ explore` line of a console block."""
    out = []
    for block in re.findall(r"```console\n(.*?)```", TUTORIAL.read_text(), re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            lines = chunk.strip().splitlines()
            args = shlex.split(lines[0])
            assert args[0] == "explore"
            code = [int(m.group(1)) for m in (re.fullmatch(r"\[exit (\d+)\]", x) for x in lines) if m]
            expected = [x for x in lines[1:] if not re.fullmatch(r"\[exit \d+\]", x)]
            out.append((args[1:], expected, code[0] if code else 0))
    return out


def test_the_tutorial_has_commands():
    assert len(console_commands()) >= 5


@pytest.mark.parametrize("args,expected,code", console_commands(), ids=lambda x: " ".join(x) if isinstance(x, list) else "")
def test_each_tutorial_command_gives_its_output_and_exit_code(args, expected, code):
    run = explore(*args)
    assert run.code == code, str(run)
    for line in expected:
        assert line in run.text, f"{line!r} not in output\n{run}"


def test_the_embedded_images_exist():
    for img in re.findall(r"\]\((img/[^)]+)\)", TUTORIAL.read_text()):
        assert (ROOT / "docs" / img).is_file(), img
