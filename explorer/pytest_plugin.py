"""A pytest plugin: the CI gate's checks as test items, with readable failures that show the trace.

Registered under the `pytest11` entry point, so it is active wherever explorer is installed. Two ways in:

- `pytest specs/`: a `.py` file whose path (relative to the rootdir) matches one of the `explorer_specs`
  ini globs (default `specs/*.py`) is collected as spec file; each declared check of each spec class
  becomes one item, named `TwoPC[n=2 faults=crash=1 -> violates atomicity]`.
- in any test file, a marker: the test runs once per check of the given spec files or folders and
  receives the check as the `explorer_check` fixture:

      @pytest.mark.explorer_gate("specs/twopc.py")
      def test_twopc_gate(explorer_check):
          explorer_check.assert_passes()

A failing item prints what `explore check` prints for it: the message, and the trace of the violation
that should not have happened (or the coverage table of a vacuous spec).
"""
from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import pytest

from .gate import GateCheck, GateOutcome, collect, spec_files


class GateFailure(AssertionError):
    """A gate check did not give its expected verdict."""


class CheckRunner:
    """What the `explorer_check` fixture gives a test: one declared check, to run and assert on."""

    def __init__(self, item: GateCheck):
        self.item = item
        self.outcome: GateOutcome | None = None

    def run(self) -> GateOutcome:
        if self.outcome is None:
            self.outcome = self.item.run()
        return self.outcome

    def assert_passes(self) -> GateOutcome:
        o = self.run()
        if not o.passed:
            raise GateFailure(o.report())
        return o


def pytest_addoption(parser: Any) -> None:
    parser.addini("explorer_specs", type="linelist", default=["specs/*.py"],
                  help="explorer: globs (relative to the rootdir) of spec files whose checks pytest collects")


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "explorer: a declared check of a spec, collected from a spec file")
    config.addinivalue_line("markers", "explorer_gate(*paths): run the test once per declared check of the spec "
                                       "files or folders given, with the check as the `explorer_check` fixture")


def pytest_collect_file(file_path: Path, parent: Any):
    if file_path.suffix != ".py" or file_path.name.startswith("_"):
        return None
    try:
        rel = file_path.resolve().relative_to(Path(str(parent.config.rootpath)).resolve()).as_posix()
    except ValueError:
        return None
    globs = parent.config.getini("explorer_specs")
    if any(fnmatch.fnmatch(rel, g) for g in globs):
        return SpecFile.from_parent(parent, path=file_path)
    return None


class SpecFile(pytest.File):
    """A spec file: one item per declared check."""

    def collect(self):
        for item in collect(Path(self.path)):
            yield GateItem.from_parent(self, name=item.id, check=item)


class GateItem(pytest.Item):
    """One declared check of one spec, run as a test."""

    def __init__(self, *, check: GateCheck, **kw: Any):
        super().__init__(**kw)
        self.check = check
        self.add_marker("explorer")

    def runtest(self) -> None:
        CheckRunner(self.check).assert_passes()

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, GateFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, self.name


def pytest_generate_tests(metafunc: Any) -> None:
    marker = metafunc.definition.get_closest_marker("explorer_gate")
    if marker is None or "explorer_check" not in metafunc.fixturenames:
        return
    root = Path(str(metafunc.config.rootpath))
    paths = [Path(p) if Path(p).is_absolute() else root / p for p in marker.args]
    items = [item for f in spec_files(paths) for item in collect(f)]
    metafunc.parametrize("explorer_check", [CheckRunner(i) for i in items], ids=[i.id for i in items])


@pytest.fixture
def explorer_check(request: Any) -> CheckRunner:
    """One declared spec check (needs `@pytest.mark.explorer_gate(paths...)` on the test)."""
    param = getattr(request, "param", None)
    if param is None:
        raise pytest.UsageError("the explorer_check fixture needs @pytest.mark.explorer_gate('specs/...') on the test")
    return param
