"""`explore replay` and `explore render`: re-execute a saved trace against the current spec.

A saved trace keeps each step's action and decisions; re-running them tells whether the bug is
still there ("still violates P at step k"), fixed ("no longer violates"), or whether the spec
changed under the trace ("diverges at step k").
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .api import load_model
from .engine.paths import replay_trace
from .engine.result import EXIT_DEADLOCK, EXIT_LIVENESS, EXIT_OK, EXIT_SAFETY, EXIT_SPEC
from .errors import TraceFileError
from .trace.model import Trace


def _spec_path(data: dict[str, Any], trace_file: str, override: str | None) -> str:
    if override:
        return override
    sf = data.get("spec_file")
    if not sf:
        raise TraceFileError(f"{trace_file}: the trace does not name its spec file", hint="pass --spec SPEC.py")
    if Path(sf).exists():
        return sf
    beside = Path(trace_file).parent / Path(sf).name
    if beside.exists():
        return str(beside)
    raise TraceFileError(f"{trace_file}: its spec file {sf} does not exist here", hint="pass --spec SPEC.py")


def load_and_replay(trace_file: str, spec: str | None = None) -> tuple[Any, dict, Trace | None, list, int | None]:
    """Loads a trace file and replays it; returns (model, data, trace, states, failed_at)."""
    from .trace.json_io import load_trace

    data = load_trace(trace_file)
    path = _spec_path(data, trace_file, spec)
    from .dsl.loader import load_spec

    name = load_spec(path).__name__  # before its params and faults are applied: they belong to the trace's spec
    if data.get("spec") and data["spec"] != name:
        raise TraceFileError(f"{trace_file} is a trace of {data['spec']}, but {path} defines {name}",
                             hint="pass the right spec with --spec")
    model, spec_file = load_model(path, data.get("params") or {}, data.get("faults"))
    steps = [(s["action"], tuple(s["decisions"])) for s in data.get("steps", [])]
    trace, states, failed_at = replay_trace(model, tuple(data.get("init_decisions") or ()), steps,
                                            faults=getattr(model, "faults_text", None), spec_file=spec_file)
    return model, data, trace, states, failed_at


def replay_file(trace_file: str, spec: str | None = None) -> tuple[int, str]:
    """Replays a trace file; returns (exit code, message)."""
    model, data, trace, states, failed_at = load_and_replay(trace_file, spec)
    if failed_at == 0:
        return EXIT_SPEC, "diverges at the initial state: the spec no longer has that initial state"
    prop = data.get("property")
    for k, state in enumerate(states):
        for name, res in model.check_invariants(state):
            if not res.holds:
                why = f": {res.reason}" if res.reason else ""
                return EXIT_SAFETY, f"still violates {name} at step {k}{why}"
        if k > 0 and trace is not None:
            step = trace.steps[k - 1]
            from .engine.model import Step

            st = Step(step.action, step.decisions, step.label, step.info)
            for name, res in model.check_action_invariants(states[k - 1], state, st):
                if not res.holds:
                    return EXIT_SAFETY, f"still violates {name} at step {k}"
    if failed_at is not None:
        s = data["steps"][failed_at - 1]
        return EXIT_SPEC, f"diverges at step {failed_at}: {s.get('label', s['action'])} is not enabled any more"
    if data.get("kind") == "liveness" and prop and trace is not None:
        from .liveness.check import recheck_lasso

        still, why = recheck_lasso(model, prop, states, trace.steps, data.get("loop_start"))
        return (EXIT_LIVENESS, f"still violates {prop}: {why}") if still else (EXIT_OK, f"no longer violates {prop}: {why}")
    if data.get("kind") == "deadlock" and states and not model.successors(states[-1]):
        return EXIT_DEADLOCK, f"still deadlocks after step {len(states) - 1}"
    what = f"no longer violates {prop}" if prop else "no property is violated"
    return EXIT_OK, f"{what} (replayed {len(states) - 1} steps)"


#: The formats `explore render` writes, and the file suffix of each.
FORMATS = {"svg": "svg", "png": "png", "dot": "dot", "text": "txt", "itf": "itf.json", "mermaid": "mmd",
           "html": "html", "graph": "states.svg", "graph-dot": "states.dot", "all": ""}


def render_file(trace_file: str, fmt: str, output: str | None, spec: str | None = None) -> str:
    """Re-executes a saved trace and draws it; returns the path written (the folder for `all`).

    The verdict, the fields the property read, the lasso's loop start, the notes and the run's
    statistics come from the file; states and step details from the re-execution.
    """
    from .trace.dot import render_dot, render_svg
    from .trace.html import render_html
    from .trace.json_io import trace_to_itf
    from .trace.mermaid import render_mermaid
    from .trace.render import RENDERER_HINT, write_outputs
    from .trace.text import render_text

    if fmt not in FORMATS:
        raise TraceFileError(f"unknown format {fmt!r}", hint="one of " + ", ".join(FORMATS))
    model, data, trace, states, failed_at = load_and_replay(trace_file, spec)
    if trace is None or failed_at is not None:
        raise TraceFileError(f"{trace_file} no longer replays against the spec (step {failed_at})",
                             hint="explore replay shows where it diverges")
    trace.violated, trace.kind, trace.reason = data.get("property"), data.get("kind"), data.get("reason")
    trace.read = tuple(data.get("read") or ())
    trace.loop_start = data.get("loop_start")
    trace.notes = list(data.get("notes") or ())
    stats = data.get("stats") if isinstance(data.get("stats"), dict) else None
    trace.stats = dict(stats or {})
    base = Path(trace_file)
    stem = base.name[:-5] if base.name.endswith(".json") else base.stem
    if fmt == "all":
        out_dir = Path(output) if output else base.parent
        write_outputs(trace, out_dir, stem, model=model, stats=stats)
        return str(out_dir)
    out = Path(output) if output else base.with_name(f"{stem}.{FORMATS[fmt]}")
    if fmt == "text":
        out.write_text(render_text(trace), encoding="utf-8")
    elif fmt == "itf":
        import json

        out.write_text(json.dumps(trace_to_itf(trace), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    elif fmt == "mermaid":
        out.write_text(render_mermaid(trace), encoding="utf-8")
    elif fmt in ("graph", "graph-dot"):
        from .trace.stategraph import state_graph_dot

        dot = state_graph_dot(model, trace, states)  # raises GraphTooBig (exit 2) on a big graph
        if fmt == "graph-dot":
            out.write_text(dot, encoding="utf-8")
        else:
            _write_rendered(out, dot, "svg", RENDERER_HINT, render_svg)
    else:
        dot = render_dot(trace)
        if fmt == "dot":
            out.write_text(dot, encoding="utf-8")
        elif fmt == "html":
            out.write_text(render_html(trace, render_svg(dot, "svg"), stats=stats, json_name=str(base),
                                       dot_text=dot), encoding="utf-8")
        else:
            _write_rendered(out, dot, fmt, RENDERER_HINT, render_svg)
    return str(out)


def _write_rendered(out: Path, dot: str, fmt: str, hint: str, render_svg: Any) -> None:
    data_bytes = render_svg(dot, fmt=fmt)
    if data_bytes is None:
        raise TraceFileError(f"cannot draw {fmt}: no Graphviz renderer found, or the picture is too big to lay out",
                             hint=hint.replace("only DOT was written", "use --format dot"))
    out.write_bytes(data_bytes)
