"""Writes every rendering of one trace next to each other, so `--out DIR` is one call.

The files share a stem: `<stem>.txt` (what the terminal showed, without colour), `<stem>.json`
(replayable), `<stem>.itf.json` (for Apalache/Quint viewers), `<stem>.dot`, and `<stem>.svg` when
a Graphviz renderer exists and the trace is small enough to lay out (DOT is always written, so a
big trace can still be drawn by hand).
"""
from __future__ import annotations

import json
from pathlib import Path

from .dot import MAX_RENDER_STEPS, render_dot, render_svg
from .json_io import save_trace, trace_to_itf
from .model import Trace
from .text import render_text


def write_outputs(trace: Trace, out_dir: str | Path, stem: str) -> dict[str, str]:
    """Writes the trace as text, JSON, ITF, DOT (and SVG) into `out_dir`; returns {kind: path}.

    Kinds: "text", "json", "itf", "dot" and, when rendered, "svg". The directory is created if needed.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = _safe(stem)
    files: dict[str, str] = {}

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
    if trace.length <= MAX_RENDER_STEPS:
        svg = render_svg(dot, fmt="svg")
        if svg is not None:
            put("svg", f"{stem}.svg", svg)
    return files


def _safe(stem: str) -> str:
    """Returns the stem with path separators and other awkward characters replaced, so it stays one file name."""
    cleaned = "".join(c if c.isalnum() or c in "-_.=" else "_" for c in stem).strip(".")
    return cleaned or "trace"
