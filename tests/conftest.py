"""Shared helpers: where the specs are, how to run the `explore` command, and a tiny reference explorer."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"  # the project's protocols
FIXTURES = Path(__file__).resolve().parent / "specs"  # tiny specs written for the tests
BAD = FIXTURES / "bad"  # specs with one mistake each

TWOPC = SPECS / "twopc.py"

# A spec with a syntax error on line 9 (kept out of tests/specs/ so linters can parse every file there).
SYNTAX_ERROR = """
from explorer import Spec, action


class Broken(Spec):
    def init(self):
        self.x = 0

    @action
    def inc(self)
        self.x += 1
""".lstrip()
TWOPHASE = SPECS / "lamport_twophase.py"


@dataclass
class Run:
    """The outcome of one `explore ...` process."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def __str__(self) -> str:  # shown by pytest when an assertion on a Run fails
        return f"explore {' '.join(self.args)} -> exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def explore(*args: Any, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 300) -> Run:
    """Runs the `explore` CLI in a fresh process (the way a user does) and returns what it printed.

    A fresh process gives the real exit code and output, and a spec module cached by an earlier test
    cannot hide a loading error.
    """
    argv = [str(a) for a in args]
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    p = subprocess.run([sys.executable, "-m", "explorer.cli", *argv], cwd=cwd, env=full_env, capture_output=True,
                       text=True, timeout=timeout)
    return Run(tuple(argv), p.returncode, p.stdout, p.stderr)


@pytest.fixture
def write_spec(tmp_path: Path):
    """Writes a spec file from (dedented) source and returns its path: `write_spec(src, name="x.py")`."""

    def write(source: str, name: str = "spec.py") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(source).lstrip())
        return path

    return write


# ---------------------------------------------------------------------- a reference explorer


@dataclass
class Graph:
    """Every reachable state of a model as a dict, and every transition as (source, step, target) indices."""

    states: list[dict]
    edges: list[tuple[int, Any, int]]
    initial: list[int]

    def index(self, **fields: Any) -> list[int]:
        """Returns the indices of the states whose given fields have the given values."""
        return [i for i, s in enumerate(self.states) if all(s.get(k) == v for k, v in fields.items())]

    def steps_from(self, i: int) -> list[Any]:
        return [step for a, step, _ in self.edges if a == i]

    def kinds(self) -> set[str]:
        """Returns the kinds of steps an actor spec took (deliver, loss, dup, crash, ...)."""
        return {step.info.get("kind") for _, step, _ in self.edges}


def state_graph(spec_cls: type, params: dict | None = None, faults: str | None = None, limit: int = 20_000) -> Graph:
    """Explores a spec with a plain BFS of its own, independent of the engine's bookkeeping.

    It uses only the model's documented interface (initial_states, successors, as_dict), so tests of
    the DSL and actor semantics do not depend on the search engine they check.
    """
    model = spec_cls.build_model(params or {}, faults)
    index: dict[tuple, int] = {}
    states: list[dict] = []
    edges: list[tuple[int, Any, int]] = []
    queue: deque = deque()

    def add(state: tuple) -> int:
        i = index.get(state)
        if i is None:
            i = index[state] = len(states)
            states.append(model.as_dict(state))
            queue.append(state)
        return i

    initial = [add(s) for s, _ in model.initial_states()]
    while queue:
        state = queue.popleft()
        i = index[state]
        for nxt, step in model.successors(state):
            edges.append((i, step, add(nxt)))
        assert len(states) <= limit, "the reference explorer found more states than a tiny spec should have"
    return Graph(states, edges, initial)



# ---------------------------------------------------------------------- known bugs outside tests/
# Each marker names a bug that a test here found in code the tests do not own. They are strict: when
# the bug is fixed the test passes, pytest reports XPASS as a failure, and the marker must go.
# (none at present)
