"""Saving the counterexample of a known-buggy variant for study: `explore check --save DIR`.

Each expected violation of a spec's `checks` goes to `DIR/<spec file stem>/<folder>/`, minimised,
in every format `write_outputs` knows (text, JSON, ITF, DOT, SVG, PNG, Mermaid, HTML). The folder
name is stable, so a regenerated `counterexamples/` only changes where a trace changed: the check's
`name`, else its `variant` parameter, else its parameters (`n=4-quorum=seed`), else `default`; when
two checks of one spec would share a folder, `-<property>` is added (then `-2`, `-3`, ...). The
folder is emptied of earlier renderings first, so it never mixes two runs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .dsl.expect import Expect

#: The suffixes a regenerated folder is cleared of.
RENDERED = (".txt", ".json", ".dot", ".svg", ".png", ".mmd", ".html")


def base_name(exp: Expect) -> str:
    """Returns the folder name a check asks for: its name, its variant, its parameters, or `default`."""
    if exp.name:
        return exp.name
    if "variant" in exp.params:
        return str(exp.params["variant"])
    return "-".join(f"{k}={_plain(v)}" for k, v in sorted(exp.params.items())) or "default"


def _plain(v: Any) -> str:
    if isinstance(v, (tuple, list)):
        return ",".join(_plain(x) for x in v)
    return "".join(c if c.isalnum() or c in "-_.=" else "_" for c in str(v))


def folder_names(checks: list[Expect]) -> list[str | None]:
    """Returns, per check (None for a `holds` check), a folder name distinct among the spec's checks."""
    bases = [base_name(e) if e.verdict != "holds" else None for e in checks]
    out: list[str | None] = []
    used: set[str] = set()
    for e, b in zip(checks, bases, strict=True):
        if b is None:
            out.append(None)
            continue
        name = f"{b}-{e.property}" if bases.count(b) > 1 else b
        k, unique = 2, name
        while unique in used:
            unique, k = f"{name}-{k}", k + 1
        used.add(unique)
        out.append(unique)
    return out


def save_expected_violation(result: Any, root: str | Path, spec_path: str | Path, exp: Expect,
                            model: Any = None) -> dict[str, str]:
    """Writes the trace of `exp`'s expected violation under root/<stem>/<folder>/; returns {kind: path}."""
    from .api import load_model
    from .dsl.loader import load_spec
    from .minimize import minimize
    from .trace.render import write_outputs

    v = next((v for v in result.violations if v.property == exp.property and v.trace is not None), None)
    if v is None:
        return {}
    path = Path(spec_path)
    cls = load_spec(f"{path}::{result.spec}")
    checks = list(getattr(cls, "checks", None) or [])
    names = folder_names(checks)
    folder = next((n for e, n in zip(checks, names, strict=True) if e == exp and n), None) or base_name(exp)
    out = Path(root) / path.stem / folder
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        if old.is_file() and old.name.endswith(RENDERED):
            old.unlink()
    if model is None:
        model, _ = load_model(f"{path}::{result.spec}", dict(exp.params), exp.faults)
    trace, _ = minimize(model, v.trace, shortest=True)
    stats = {"distinct_states": result.distinct_states, "transitions": result.transitions, "depth": result.depth,
             "complete": result.complete, "check": exp.describe(),
             "regenerate": "explore check specs/ --save counterexamples/"}
    return {k: str(p) for k, p in write_outputs(trace, out, v.property, model=model, stats=stats).items()}
