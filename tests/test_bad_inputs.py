"""The bad-input table: every input a user can get wrong gives one message and a documented exit code, never a traceback.

tests/test_cli_errors.py covers the spec-file mistakes (syntax errors, no class, raising actions, bad
--param/--faults values, ...); this table adds the rest: trace files (corrupted, truncated, of another
spec, edited by hand), flags, `explore check` inputs, liveness declarations, and files that are not
what they claim. Each row: how to build the input, the exit code, and words the message must contain.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .conftest import FIXTURES, TWOPC, TWOPHASE, explore

USAGE, SPEC, GATE = 2, 3, 1

LIVE = """
from explorer import Spec, action, eventually, leads_to, require

class Live(Spec):
    def init(self):
        self.x = 0

    @action(fair=FAIR)
    def inc(self):
        require(self.x < 2)
        self.x += 1

    PROPERTY
"""


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A folder with a good saved trace of the forgetful 2PC coordinator (atomicity.json) and a copy of its spec."""
    d = tmp_path_factory.mktemp("saved")
    shutil.copy(TWOPC, d / "twopc.py")
    run = explore(d / "twopc.py", "--param", "variant=no_durable_log", "--param", "n=2", "--faults", "crash=1",
                  "--out", d / "out")
    assert run.code == 12, run
    return d


def edited(saved: Path, tmp: Path, change) -> Path:
    """Writes a copy of the good trace with `change(data)` applied; returns its path."""
    data = json.loads((saved / "out" / "atomicity.json").read_text())
    change(data)
    p = tmp / "edited.json"
    p.write_text(json.dumps(data))
    return p


def text_file(tmp: Path, name: str, content: str | bytes) -> Path:
    p = tmp / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return p


def live_spec(tmp: Path, fair: str, prop: str) -> Path:
    return text_file(tmp, "live.py", LIVE.replace("FAIR", fair).replace("PROPERTY", prop))


def _set(key, value):
    def change(d):
        d[key] = value
    return change


def _step(key, value):
    def change(d):
        d["steps"][0][key] = value
    return change


def _drop_steps_action(d):
    del d["steps"][0]["action"]


def checkpoint(tmp: Path, name: str = "c.ckpt", **header) -> Path:
    """A checkpoint of TwoPhase n=4 (interpreted engine, stopped at 1000 states), its header changed by `header`."""
    import numpy as np

    import explorer

    p = tmp / name
    explorer.check(TWOPHASE, params={"n": 4}, backend="interp", checkpoint=str(p), checkpoint_every_s=0.0,
                   max_states=1000)
    if header:
        with np.load(p, allow_pickle=False) as z:
            members = {k: z[k] for k in z.files}
        members["header"] = np.frombuffer(json.dumps(json.loads(bytes(members["header"]).decode()) | header).encode(),
                                          dtype=np.uint8)
        with open(p, "wb") as f:
            np.savez(f, **members)
    return p


def truncated(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


# id, a function (saved folder, tmp folder) -> argv, exit code, words the output must contain
CASES = [
    # ---- trace files given to `explore replay`
    ("replay-truncated-json", lambda s, t: ["replay", text_file(t, "t.json", (s / "out" / "atomicity.json").read_text()[:200])],
     USAGE, ["t.json"]),
    ("replay-empty-file", lambda s, t: ["replay", text_file(t, "t.json", "")], USAGE, ["t.json"]),
    ("replay-binary-garbage", lambda s, t: ["replay", text_file(t, "t.json", b"\x89PNG\r\n\x1a\n\x00\xff")], USAGE, ["t.json"]),
    ("replay-json-list", lambda s, t: ["replay", text_file(t, "t.json", "[1, 2, 3]")], USAGE, ["t.json"]),
    ("replay-itf-file-instead-of-trace", lambda s, t: ["replay", s / "out" / "atomicity.itf.json"], USAGE, ["atomicity.itf.json"]),
    ("replay-step-without-action", lambda s, t: ["replay", edited(s, t, _drop_steps_action)], USAGE, ["edited.json"]),
    ("replay-decisions-not-a-list", lambda s, t: ["replay", edited(s, t, _step("decisions", "zero"))], USAGE, ["edited.json"]),
    ("replay-steps-not-a-list", lambda s, t: ["replay", edited(s, t, _set("steps", {"a": 1}))], USAGE, ["edited.json"]),
    ("replay-loop-start-a-string", lambda s, t: ["replay", edited(s, t, _set("loop_start", "three"))], USAGE, ["edited.json"]),
    ("replay-trace-of-another-spec", lambda s, t: ["replay", s / "out" / "atomicity.json", "--spec", TWOPHASE],
     USAGE, ["TwoPC", "TwoPhase"]),
    ("replay-spec-file-gone", lambda s, t: ["replay", edited(s, t, _set("spec_file", str(t / "gone" / "nothere.py")))],
     USAGE, ["nothere.py", "--spec"]),
    ("replay-unknown-param-in-trace", lambda s, t: ["replay", edited(s, t, _set("params", {"n": 2, "colour": "red"}))],
     USAGE, ["colour"]),
    ("replay-bad-faults-in-trace", lambda s, t: ["replay", edited(s, t, _set("faults", "meteor=1"))], USAGE, ["meteor"]),
    ("replay-decision-out-of-range", lambda s, t: ["replay", edited(s, t, _step("decisions", [99, 99]))], SPEC,
     ["diverges at step 1"]),
    ("replay-missing-file", lambda s, t: ["replay", t / "absent.json"], USAGE, ["absent.json"]),
    # ---- `explore render`
    ("render-unknown-format", lambda s, t: ["render", s / "out" / "atomicity.json", "--format", "bmp"], USAGE, ["bmp"]),
    ("render-corrupted-json", lambda s, t: ["render", text_file(t, "t.json", "{\"spec\": ")], USAGE, ["t.json"]),
    # ---- flags of `explore run`
    ("run-time-limit-zero", lambda s, t: [FIXTURES / "counter.py", "--time-limit", "0"], USAGE, ["time_limit=0"]),
    ("run-time-limit-not-a-number", lambda s, t: [FIXTURES / "counter.py", "--time-limit", "soon"], USAGE, ["soon"]),
    ("run-seed-not-a-number", lambda s, t: [FIXTURES / "counter.py", "--seed", "lucky"], USAGE, ["lucky"]),
    ("run-unknown-backend", lambda s, t: [FIXTURES / "counter.py", "--backend", "gpu"], USAGE, ["gpu"]),
    ("run-partition-needs-two-nodes", lambda s, t: [text_file(t, "solo.py", SOLO), "--faults", "partition=1"],
     USAGE, ["partition", "two nodes"]),
    ("run-spec-not-utf8", lambda s, t: [text_file(t, "latin.py", b"# caf\xe9\nx = 1\n")], USAGE, ["latin.py"]),
    ("run-empty-spec-file", lambda s, t: [text_file(t, "empty.py", "")], SPEC, ["empty.py", "no spec class"]),
    ("run-empty-class-name", lambda s, t: [f"{FIXTURES / 'counter.py'}::"], 0, ["No violation"]),
    ("run-resume-truncated-checkpoint", lambda s, t: [TWOPHASE, "--resume", truncated(checkpoint(t, "half.ckpt"))],
     USAGE, ["half.ckpt", "not a readable checkpoint"]),
    ("run-resume-garbage-checkpoint", lambda s, t: [TWOPHASE, "--resume", text_file(t, "g.ckpt", b"PK\x03\x04" + bytes(500))],
     USAGE, ["g.ckpt", "not a readable checkpoint"]),
    ("run-resume-checkpoint-of-another-spec", lambda s, t: [FIXTURES / "counter.py", "--resume", checkpoint(t)],
     USAGE, ["c.ckpt", "spec TwoPhase, not Counter"]),
    ("run-resume-checkpoint-other-params", lambda s, t: [TWOPHASE, "--param", "n=3", "--resume", checkpoint(t)],
     USAGE, ["c.ckpt", "n=4, not n=3"]),
    ("run-resume-checkpoint-of-another-version", lambda s, t: [TWOPHASE, "--param", "n=4", "--resume",
                                                               checkpoint(t, explorer="0.0.1")],
     USAGE, ["c.ckpt", "explorer 0.0.1"]),
    ("run-resume-missing-checkpoint", lambda s, t: [TWOPHASE, "--resume", t / "none.ckpt"], USAGE,
     ["none.ckpt", "no such checkpoint"]),
    ("run-checkpoint-in-a-missing-folder", lambda s, t: [FIXTURES / "counter.py", "--checkpoint", t / "no" / "x.ckpt"],
     USAGE, ["x.ckpt", "cannot write it"]),
    ("run-checkpoint-with-dfs", lambda s, t: [FIXTURES / "counter.py", "--strategy", "dfs", "--checkpoint", t / "x.ckpt"],
     USAGE, ["breadth-first"]),
    ("run-max-memory-not-a-size", lambda s, t: [FIXTURES / "counter.py", "--max-memory", "lots"], USAGE,
     ["--max-memory", "lots"]),
    ("run-param-out-of-range-in-nodes", lambda s, t: [text_file(t, "ring.py", RING), "--param", "n=0"], USAGE,
     ["ring.py:18", "n=0: a ring needs at least one server"]),
    ("run-param-out-of-range-in-init", lambda s, t: [text_file(t, "line.py", LINE), "--param", "n=0"], USAGE,
     ["line.py:10", "n=0: a line needs at least one point"]),
    ("run-json-output-of-a-usage-error", lambda s, t: [FIXTURES / "counter.py", "--json", "--param", "zz=1"], USAGE,
     ['"result": "error"', "zz"]),
    # ---- liveness declarations
    ("live-fairness-misspelt", lambda s, t: [live_spec(t, '"strnog"', "@eventually\n    def two(self):\n        return self.x == 2")],
     SPEC, ["fair='strnog'", "live.py", 'fair="strong"']),
    ("live-eventually-returns-none", lambda s, t: [live_spec(t, "True", "@eventually\n    def two(self):\n        self.x == 2")],
     SPEC, ["two", "returned None"]),
    ("live-trigger-raises", lambda s, t: [live_spec(t, "True", "@leads_to(lambda s: s.y > 0)\n    def two(self):\n        return self.x == 2")],
     SPEC, ["leads_to two", "AttributeError"]),
    ("live-random-strategy-refused", lambda s, t: [live_spec(t, "True", "@eventually\n    def two(self):\n        return self.x == 2"),
                                                   "--strategy", "random"], 0, ["liveness not checked", "random"]),
    # ---- `explore check`
    ("check-not-a-python-file", lambda s, t: ["check", text_file(t, "notes.txt", "hello")], USAGE, ["notes.txt", ".py"]),
    ("check-junit-unwritable", lambda s, t: ["check", FIXTURES / "counter.py", "--junit", text_file(t, "f", "") / "x.xml"],
     USAGE, ["--junit"]),
    ("check-unknown-param-in-checks", lambda s, t: ["check", text_file(t, "c.py", COUNTER_CHECKS.replace("ARGS", 'params={"kk": 3}'))],
     GATE, ["kk", "FAIL"]),
    ("check-bad-faults-in-checks", lambda s, t: ["check", text_file(t, "c.py", COUNTER_CHECKS.replace("ARGS", 'faults="loss=1"'))],
     GATE, ["--faults", "plain Spec"]),
    ("check-a-check-that-is-a-string", lambda s, t: ["check", text_file(t, "c.py", COUNTER_CHECKS.replace("holds(ARGS)", '"holds"'))],
     GATE, ["is not a check"]),
    ("check-file-without-spec", lambda s, t: ["check", text_file(t, "lib.py", "X = 1\n")], GATE, ["lib.py", "no spec class"]),
]

SOLO = """
from explorer import Message, Node, Protocol, on

class Ping(Message):
    pass

class Alone(Node):
    @on(Ping)
    def got(self, msg, sender):
        pass

class Solo(Protocol):
    def nodes(self):
        return {"a": Alone()}
"""

# a parameter checked by the spec itself: a UsageError raised in nodes() or init() is a usage error
RING = """
from explorer import Message, Node, Protocol, on, param
from explorer.errors import UsageError

class Ping(Message):
    pass

class Server(Node):
    @on(Ping)
    def got(self, msg, sender):
        pass

class Ring(Protocol):
    n = param(2, help="number of servers")

    def nodes(self):
        if self.n < 1:
            raise UsageError(f"n={self.n}: a ring needs at least one server")
        return {f"s{i}": Server() for i in range(self.n)}
"""

LINE = """
from explorer import Spec, action, param
from explorer.errors import UsageError

class Line(Spec):
    n = param(2)

    def init(self):
        if self.n < 1:
            raise UsageError(f"n={self.n}: a line needs at least one point")
        self.x = 0

    @action
    def inc(self):
        self.x = min(self.x + 1, self.n)
"""

COUNTER_CHECKS = """
from explorer import Spec, action
from explorer.dsl.expect import holds

class C(Spec):
    checks = [holds(ARGS)]

    def init(self):
        self.x = 0

    @action
    def inc(self):
        self.x = (self.x + 1) % 3
"""


def test_the_table_has_at_least_25_rows():
    assert len(CASES) >= 25 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("argv, code, words", [pytest.param(c[1], c[2], c[3], id=c[0]) for c in CASES])
def test_a_bad_input_gives_its_message_and_exit_code(argv, code, words, saved, tmp_path):
    run = explore(*argv(saved, tmp_path))
    assert run.code == code, run
    assert "Traceback" not in run.text and "internal error" not in run.text, run
    for w in words:
        assert w in run.text, f"{w!r} not in the output of {run}"


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path):
    """`explore SPEC | head -1`: the pipe closes before the report is written."""
    import os
    import subprocess
    import sys

    from .conftest import ROOT

    env = {**os.environ, "NO_COLOR": "1"}
    p = subprocess.Popen([sys.executable, "-m", "explorer.cli", str(TWOPC), "--param", "variant=no_durable_log",
                          "--param", "n=2", "--faults", "crash=1"], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    code = p.wait(timeout=120)
    assert "Traceback" not in err and "internal error" not in err, err
    assert code in (141, 12), code
