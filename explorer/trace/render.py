"""Writes every rendering of one trace next to each other, so `--out DIR` is one call.

The files share a stem: `<stem>.txt` (what the terminal showed, without colour), `<stem>.json`
(replayable), `<stem>.itf.json` (for Apalache/Quint viewers), `<stem>.dot`, `<stem>.svg` and
`<stem>.png` when a Graphviz renderer exists and the trace is small enough to lay out (DOT is
always written, so a big trace can still be drawn by hand), `<stem>.mmd` (Mermaid), `<stem>.html`
(a self-contained report) and, when the model is given and its reachable graph is small,
`<stem>.states.dot` (+ `.svg`): the whole state graph with the trace's path highlighted.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .dot import MAX_RENDER_STEPS, find_renderer, render_dot, render_svg
from .html import render_html
from .json_io import save_trace, trace_to_itf
from .mermaid import render_mermaid
from .model import Trace
from .text import render_text

#: Every kind `write_outputs` may write, in the order it writes them.
KINDS = ("text", "json", "itf", "dot", "svg", "png", "mermaid", "html", "states_dot", "states_svg")

#: Shown when no Graphviz renderer exists: only DOT is written.
RENDERER_HINT = ("no Graphviz renderer found, so only DOT was written: pip install graphviz-pure "
                 "(or put Graphviz's `dot` on PATH) for SVG and PNG")

#: State graphs up to this many states are drawn next to the trace by `write_outputs`.
STATE_GRAPH_STATES = 120


def write_outputs(trace: Trace, out_dir: str | Path, stem: str, *, model: Any = None,
                  stats: dict[str, Any] | None = None) -> dict[str, str]:
    """Writes the trace in every format into `out_dir`; returns {kind: path} (kinds: see KINDS).

    `stats` (the run's statistics) go into the HTML report. With `model`, a state graph of at most
    STATE_GRAPH_STATES states is also drawn. The directory is created if needed.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = _safe(stem)
    files: dict[str, str] = {}
    if stats:
        trace.stats = dict(stats)
    stats = trace.stats or None

    def put(kind: str, name: str, data: str | bytes) -> None:
        path = out / name
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
        files[kind] = str(path)

    put("text", f"{stem}.txt", render_text(trace))
    files["json"] = str(save_trace(trace, out / f"{stem}.json"))
    put("itf", f"{stem}.itf.json", json.dumps(trace_to_itf(trace), indent=1, ensure_ascii=False) + "\n")
    dot = render_dot(trace)
    put("dot", f"{stem}.dot", dot)
    svg = None
    if trace.length <= MAX_RENDER_STEPS:
        svg = render_svg(dot, fmt="svg")
        if svg is not None:
            put("svg", f"{stem}.svg", svg)
            png = render_svg(dot, fmt="png")
            if png is not None:
                put("png", f"{stem}.png", png)
    put("mermaid", f"{stem}.mmd", render_mermaid(trace))
    html = render_html(trace, svg, stats=stats, json_name=str(out / f"{stem}.json"), dot_text=dot)
    put("html", f"{stem}.html", html)
    if model is not None:
        files.update(write_state_graph(model, trace, out, stem))
    return files


def write_state_graph(model: Any, trace: Trace, out: Path, stem: str,
                      limit: int = STATE_GRAPH_STATES) -> dict[str, str]:
    """Writes `<stem>.states.dot` (+ `.svg`) when the model's state graph has at most `limit` states."""
    from ..engine.paths import replay_trace
    from .stategraph import GraphTooBig, state_graph_dot

    _t, states, failed = replay_trace(model, trace.init_decisions, [(s.action, s.decisions) for s in trace.steps])
    if failed is not None:
        return {}
    try:
        dot = state_graph_dot(model, trace, states, limit=limit)
    except GraphTooBig:
        return {}
    files = {}
    p = out / f"{stem}.states.dot"
    p.write_text(dot, encoding="utf-8")
    files["states_dot"] = str(p)
    svg = render_svg(dot, fmt="svg")
    if svg is not None:
        p = out / f"{stem}.states.svg"
        p.write_bytes(svg)
        files["states_svg"] = str(p)
    return files


def renderer_hint() -> str | None:
    """Returns RENDERER_HINT when no Graphviz renderer exists, else None."""
    return None if find_renderer() else RENDERER_HINT


def _safe(stem: str) -> str:
    """Returns the stem with path separators and other awkward characters replaced, so it stays one file name."""
    cleaned = "".join(c if c.isalnum() or c in "-_.=" else "_" for c in stem).strip(".")
    return cleaned or "trace"
