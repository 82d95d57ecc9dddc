"""`explore check`: run every spec's declared checks and compare each verdict with the expected one.

A spec lists its checks in `checks = [holds(...), violates("prop", params=...), ...]`
(explorer.dsl.expect); a spec without a list gets one check: the defaults, every property holds.
The gate passes only when every check gives its expected verdict, and a `holds` check also requires
the spec not to be vacuous: every action (handler, timer) enabled somewhere, every `@reachable`
property witnessed within the bounds (see explorer/coverage.py). The pytest plugin
(explorer/pytest_plugin.py) runs the same checks as test items.
"""
from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .coverage import CountingModel, Coverage, CoveringBatchSearch
from .dsl.expect import Expect, holds
from .dsl.loader import load_module, spec_classes
from .engine.options import Options
from .engine.result import Result
from .engine.search import Search
from .errors import ExplorerError, SpecError, UsageError


@dataclass
class GateOutcome:
    """One check of one spec: what was expected, what happened, and whether that passes."""

    spec_file: str
    spec: str
    check: Expect
    passed: bool
    message: str
    seconds: float
    result: Result | None = None
    files: dict[str, str] = field(default_factory=dict)
    coverage: Coverage | None = None
    error: ExplorerError | None = None

    @property
    def got(self) -> str:
        """What the check found, in a few words: `ok`, `violates atomicity`, `error`."""
        if self.error is not None or self.result is None:
            return "error"
        r = self.result
        if r.violations:
            return ", ".join(f"{'deadlock' if v.kind == 'deadlock' else 'violates ' + v.property}"
                             for v in r.violations)
        return "holds" if r.complete else f"holds (incomplete: {r.stop_reason})"

    def report(self) -> str:
        """Returns a readable account of a failure: the message, and the trace of what went wrong."""
        from .trace.text import render_text

        out = [f"{self.spec_file} {self.spec} [{self.check.describe()}]: {self.message}"]
        err = self.error
        if err is not None and getattr(err, "trace", None) is not None:
            out.append("\nThe steps that lead to it:\n" + render_text(err.trace))
        if self.result is not None:
            for v in self.result.violations:
                if v.trace is not None and not (self.check.verdict != "holds" and v.property == self.check.property):
                    out.append("\n" + render_text(v.trace))
        if self.coverage is not None and (self.coverage.never_enabled() or self.coverage.unwitnessed()):
            out.append("\ncoverage (states where enabled, transitions taken):\n" + self.coverage.table())
        return "\n".join(out)


@dataclass
class GateCheck:
    """One declared check of one spec class, ready to run (or a file that failed to load)."""

    path: Path
    spec: str
    check: Expect
    load_error: ExplorerError | None = None

    @property
    def id(self) -> str:
        return f"{self.spec}[{self.check.describe()}]"

    def run(self) -> GateOutcome:
        if self.load_error is not None:
            return GateOutcome(str(self.path), self.spec, self.check, False, self.load_error.render(), 0.0,
                               error=self.load_error)
        return run_check(self.path, self.spec, self.check)


def spec_files(paths: list[Path]) -> list[Path]:
    """Expands folders into their spec files (*.py not starting with _), in sorted order."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.glob("*.py") if not f.name.startswith("_")))
        elif p.exists():
            if p.suffix != ".py":
                raise UsageError(f"{p}: not a spec file (a spec is a Python file ending in .py)")
            out.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    return out


def collect(path: Path) -> Iterator[GateCheck]:
    """Yields the declared checks of every spec class in one file (one failing item if it does not load)."""
    try:
        classes = spec_classes(load_module(path))
    except ExplorerError as e:
        yield GateCheck(path, path.stem, holds(), e)
        return
    if not classes:
        yield GateCheck(path, path.stem, holds(), UsageError(f"{path} defines no spec class",
                                                             hint="explore check runs files that define specs"))
        return
    for cls in classes:
        checks = cls.checks or [holds()]
        for exp in checks:
            if not isinstance(exp, Expect):
                err = UsageError(f"{cls.__name__}.checks holds {exp!r}, which is not a check",
                                 hint="list holds(...), violates('prop', ...) or deadlocks(...) from explorer.dsl.expect")
                yield GateCheck(path, cls.__name__, holds(), err)
                break
            yield GateCheck(path, cls.__name__, exp)


def _judge(exp: Expect, r: Result, cov: Coverage | None) -> tuple[bool, str]:
    got = ", ".join(f"{v.kind} {v.property}" for v in r.violations) or "no violation"
    stats = f"{r.distinct_states:,} states, {r.elapsed_s:.1f}s"
    if exp.verdict == "holds":
        if r.violations:
            return False, f"expected every property to hold, got {got} ({stats})"
        if r.unchecked:
            return False, f"expected every property to hold, but {', '.join(r.unchecked)} could not be checked: " \
                          + "; ".join(w for w in r.warnings if "not checked" in w)
        vacuous = []
        if cov is not None:
            if cov.never_enabled():
                vacuous.append("never enabled: " + ", ".join(cov.never_enabled()))
            if cov.unwitnessed():
                vacuous.append("no witness for @reachable " + ", ".join(cov.unwitnessed()))
        if vacuous:
            bound = f" within depth {exp.depth}" if r.depth_bound_hit else ""
            return False, f"vacuous{bound}: {'; '.join(vacuous)} ({stats})"
        note = "" if r.complete else f" (incomplete: {r.stop_reason})"
        if any(w.startswith("liveness verdict partial") for w in r.warnings):
            note += " (liveness partial: the depth bound cut the graph)"
        return True, f"holds{note} ({stats})"
    want = exp.property
    if any(v.property == want for v in r.violations):
        v = next(v for v in r.violations if v.property == want)
        return True, f"violates {want} as expected, trace of {v.length} steps ({stats})"
    return False, f"expected a violation of {want}, got {got} ({stats})"


def run_check(path: Path, spec: str, exp: Expect) -> GateOutcome:
    """Runs one declared check: safety search with coverage counting, then liveness; judges the verdict."""
    from .api import load_model
    from .liveness import check_liveness

    t0 = time.perf_counter()
    r, cov = None, None
    try:
        model, spec_file = load_model(f"{path}::{spec}", dict(exp.params), exp.faults)
        if exp.properties is not None:
            only_properties(model, exp.properties)
        deadlock = exp.deadlock or exp.verdict == "deadlock"
        opts = Options(depth=exp.depth, max_states=exp.max_states, time_limit=exp.time_limit, deadlock=deadlock,
                       backend="interp")
        faults = getattr(model, "faults_text", None)
        r, cov = _safety_search(model, opts, faults, spec_file)
        if getattr(model, "liveness", None):
            check_liveness(model, opts, r, faults=faults, spec_file=spec_file)
        ok, msg = _judge(exp, r, cov)
        err = None
    except ExplorerError as e:
        ok, msg, err = False, e.render(), e
    return GateOutcome(str(path), spec, exp, ok, msg, time.perf_counter() - t0, r, coverage=cov, error=err)


def _safety_search(model: Any, opts: Options, faults: str | None, spec_file: str) -> tuple[Result, Coverage]:
    """Runs the safety search with coverage counting: on the batched engine where `explore` would pick it
    (plain and actor specs; much faster on the large ones, e.g. raft's vote_rule=seed) and the run cannot stop
    mid-level (no --max-states or time limit: coverage counts the same states on both engines), else on
    the interpreted one."""
    from .api import _use_batch
    from .engine.batch import keep_warm
    from .engine.leaves import Unbatchable
    from .liveness.batch_graph import batchable
    from .liveness.memo import remembering

    auto = opts.but(backend="auto")
    if opts.max_states is None and opts.time_limit is None and _use_batch(model, auto) and batchable(model):
        # batchable: a plain or actor spec (not a timed one), whose liveness graph the batched builder
        # then makes from the same tries
        try:
            search = CoveringBatchSearch(model, auto, faults=faults, spec_file=spec_file)
            r = search.run()
            keep_warm(model, search)  # its tries serve the liveness graph next
            return r, search.coverage()
        except Unbatchable:
            pass  # e.g. a step the recorder cannot follow: the interpreted engine runs it from the start
    counting = CountingModel(model)
    r = Search(counting, opts, faults=faults, spec_file=spec_file,
               memo=remembering(model, opts)).run()  # the liveness graph reuses its successors
    return r, counting.coverage


def only_properties(model, names: tuple[str, ...]) -> None:
    """Keeps only the named safety properties of a freshly built model, and no liveness property.

    For `holds(properties=[...])`: a fault budget under which a liveness property is known to fail can
    still require safety. Unknown names and liveness names are refused (a typo must not check nothing).
    """
    safety = [*model.invariants, *model.action_invariants, *model.reachable_props]
    known = {p.name for p in safety}
    live = {p.name for p in model.liveness}
    for n in names:
        if n in live:
            raise SpecError(f"holds(properties=[{n!r}]): {n} is a liveness property; properties= names safety "
                            "properties only", hint=f"drop {n}, or use holds() to check every property")
        if n not in known:
            raise SpecError(f"holds(properties=[{n!r}]): {model.name} has no safety property {n!r}",
                            hint=f"its safety properties: {', '.join(sorted(known)) or 'none'}")
    keep = set(names)
    model.invariants = [p for p in model.invariants if p.name in keep]
    model.action_invariants = [p for p in model.action_invariants if p.name in keep]
    model.reachable_props = [p for p in model.reachable_props if p.name in keep]
    model.liveness = []


def run_gate(paths: list[Path], *, junit: str | None = None, save_dir: str | None = None, as_json: bool = False,
             show_coverage: bool = False, echo: Callable[[str], None] = print) -> bool:
    """Runs every check under `paths`, prints one line each and a summary table; True when all pass."""
    outcomes: list[GateOutcome] = []
    for path in spec_files(paths):
        for item in collect(path):
            o = item.run()
            if save_dir and o.passed and o.result is not None and o.check.verdict != "holds":
                o.files = _save(o.result, Path(save_dir), path, o.check)
            outcomes.append(o)
            echo(f"{'ok  ' if o.passed else 'FAIL'} {path.name} {o.spec} [{o.check.describe()}]: {o.message}")
            if show_coverage and o.coverage is not None:
                echo(o.coverage.table())
            if not o.passed:
                details = o.report().split("\n", 1)[1:]
                if details and details[0].strip():
                    echo(_indent(details[0]))
    echo("")
    echo(summary_table(outcomes))
    passed = sum(o.passed for o in outcomes)
    echo(f"\n{passed} passed, {len(outcomes) - passed} failed")
    if junit:
        _write_junit(outcomes, Path(junit))
    if as_json:
        print(json.dumps([_as_json(o) for o in outcomes]))
    return bool(outcomes) and passed == len(outcomes)


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else line for line in text.splitlines())


def summary_table(outcomes: list[GateOutcome]) -> str:
    """Returns one row per check: spec, check, expected, got, states, seconds, and PASS/FAIL."""
    head = ("spec", "check", "expected", "got", "states", "time", "")
    rows = []
    for o in outcomes:
        exp = o.check
        cfg, want = exp.describe().rsplit(" -> ", 1)
        states = f"{o.result.distinct_states:,}" if o.result is not None else "-"
        rows.append((f"{Path(o.spec_file).name}::{o.spec}", cfg, want, o.got if o.passed or o.result else "error",
                     states, f"{o.seconds:.1f}s", "PASS" if o.passed else "FAIL"))
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    widths = [min(w, 60) for w in widths]

    def fmt(r):
        cells = [str(c)[:60] for c in r]
        return "  ".join(c.rjust(w) if i in (4, 5) else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return "\n".join([fmt(head), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows]).rstrip()


def _as_json(o: GateOutcome) -> dict:
    return {"spec_file": o.spec_file, "spec": o.spec, "check": o.check.describe(), "passed": o.passed,
            "message": o.message, "got": o.got, "seconds": round(o.seconds, 3), "files": o.files,
            "coverage": o.coverage.as_dict() if o.coverage is not None else None}


def _save(r: Result, root: Path, path: Path, exp: Expect, model=None) -> dict[str, str]:
    """Writes the expected violation's minimised trace in every format (explorer/counterexamples.py)."""
    from .counterexamples import save_expected_violation

    return save_expected_violation(r, root, path, exp, model)


def _write_junit(outcomes: list[GateOutcome], path: Path) -> None:
    suites = ET.Element("testsuites")
    by_file: dict[str, list[GateOutcome]] = {}
    for o in outcomes:
        by_file.setdefault(o.spec_file, []).append(o)
    for f, os_ in by_file.items():
        s = ET.SubElement(suites, "testsuite", name=f, tests=str(len(os_)),
                          failures=str(sum(not o.passed for o in os_)),
                          time=f"{sum(o.seconds for o in os_):.3f}")
        for o in os_:
            c = ET.SubElement(s, "testcase", classname=o.spec, name=o.check.describe(), time=f"{o.seconds:.3f}")
            if not o.passed:
                ET.SubElement(c, "failure", message=o.message).text = o.report()
            else:
                ET.SubElement(c, "system-out").text = o.message
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ET.ElementTree(suites).write(path, encoding="unicode", xml_declaration=True)
    except OSError as e:
        raise UsageError(f"--junit {path}: cannot write it ({e.strerror or e})") from None
