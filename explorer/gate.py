"""`explore check`: run every spec's declared checks and compare each verdict with the expected one.

A spec lists its checks in `checks = [holds(...), violates("prop", params=...), ...]`
(explorer.dsl.expect); a spec without a list gets one check: the defaults, every property holds.
The gate passes only when every check gives its expected verdict.
"""
from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .api import load_model, run_model
from .dsl.expect import Expect, holds
from .dsl.loader import load_module, spec_classes
from .engine.options import Options
from .engine.result import Result
from .errors import ExplorerError, UsageError


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


def spec_files(paths: list[Path]) -> list[Path]:
    """Expands folders into their spec files (*.py not starting with _), in sorted order."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.glob("*.py") if not f.name.startswith("_")))
        elif p.exists():
            out.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    return out


def _judge(exp: Expect, r: Result) -> tuple[bool, str]:
    got = ", ".join(f"{v.kind} {v.property}" for v in r.violations) or "no violation"
    stats = f"{r.distinct_states:,} states, {r.elapsed_s:.1f}s"
    if exp.verdict == "holds":
        if r.violations:
            return False, f"expected every property to hold, got {got} ({stats})"
        note = "" if r.complete else f" (incomplete: {r.stop_reason})"
        return True, f"holds{note} ({stats})"
    want = exp.property
    if any(v.property == want for v in r.violations):
        v = next(v for v in r.violations if v.property == want)
        return True, f"violates {want} as expected, trace of {v.length} steps ({stats})"
    return False, f"expected a violation of {want}, got {got} ({stats})"


def run_gate(paths: list[Path], *, junit: str | None = None, save_dir: str | None = None, as_json: bool = False,
             echo: Callable[[str], None] = print) -> bool:
    outcomes: list[GateOutcome] = []
    for path in spec_files(paths):
        try:
            classes = spec_classes(load_module(path))
        except ExplorerError as e:
            outcomes.append(GateOutcome(str(path), path.stem, holds(), False, e.render(), 0.0))
            echo(f"FAIL {path}: {e.render()}")
            continue
        for cls in classes:
            for exp in (cls.checks or [holds()]):
                t0 = time.perf_counter()
                try:
                    model, spec_file = load_model(f"{path}::{cls.__name__}", dict(exp.params), exp.faults)
                    deadlock = exp.deadlock or exp.verdict == "deadlock"
                    opts = Options(depth=exp.depth, max_states=exp.max_states, time_limit=exp.time_limit,
                                   deadlock=deadlock)
                    r = run_model(model, opts, spec_file=spec_file)
                    ok, msg = _judge(exp, r)
                except ExplorerError as e:
                    r, ok, msg = None, False, e.render()
                o = GateOutcome(str(path), cls.__name__, exp, ok, msg, time.perf_counter() - t0, r)
                if save_dir and r is not None and exp.verdict != "holds" and ok:
                    o.files = _save(r, Path(save_dir), path, exp, model)
                outcomes.append(o)
                echo(f"{'ok  ' if ok else 'FAIL'} {path.name} {cls.__name__} [{exp.describe()}]: {msg}")
    passed = sum(o.passed for o in outcomes)
    echo(f"\n{passed} passed, {len(outcomes) - passed} failed")
    if junit:
        _write_junit(outcomes, Path(junit))
    if as_json:
        print(json.dumps([{"spec_file": o.spec_file, "spec": o.spec, "check": o.check.describe(), "passed": o.passed,
                           "message": o.message, "seconds": round(o.seconds, 3), "files": o.files}
                          for o in outcomes]))
    return bool(outcomes) and passed == len(outcomes)


def _variant_name(exp: Expect) -> str:
    if exp.name:
        return exp.name
    if "variant" in exp.params:
        return str(exp.params["variant"])
    return "-".join(f"{k}={v}" for k, v in sorted(exp.params.items())) or "default"


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
                ET.SubElement(c, "failure", message=o.message).text = o.message
            else:
                ET.SubElement(c, "system-out").text = o.message
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="unicode", xml_declaration=True)
