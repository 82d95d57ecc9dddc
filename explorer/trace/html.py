"""A self-contained HTML report of a trace: the chart (SVG inline), a step-by-step state table,
the run's statistics and the commands that reproduce it. No script, font or image is fetched, so
the file can be mailed, committed or opened offline.
"""
from __future__ import annotations

import html
import re
import shlex
from typing import Any

from ..dsl.values import show
from ..timed.show import step_times
from .model import Trace
from .text import render_text, show_field, verdict_line

_CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:1.5em auto;max-width:1400px;color:#212121;padding:0 1em}
h1{font-size:1.4em;margin-bottom:.2em} h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ddd}
.verdict{background:#fde3e3;border:2px solid #c62828;padding:.6em 1em;border-radius:6px;margin:.8em 0}
.verdict b{color:#c62828} code,pre{font-family:Menlo,Consolas,monospace;font-size:.85em}
pre{background:#f5f5f5;padding:.6em;overflow-x:auto;border-radius:4px}
table{border-collapse:collapse;font-size:.82em} td,th{border:1px solid #ddd;padding:3px 6px;vertical-align:top;
text-align:left} th{background:#f0f0f0;position:sticky;top:0} td.changed{background:#fff4c2;font-weight:bold}
td.bad{background:#fde3e3;color:#c62828;font-weight:bold} tr.fault td.step{background:#fde3e3}
.chart{overflow-x:auto;border:1px solid #eee;padding:.5em} .chart svg{max-width:100%;height:auto}
.stats td:first-child{color:#616161} .note{color:#616161}
"""


def command_line(trace: Trace) -> str:
    """Returns the `explore` command that finds this trace again (spec file, parameters, faults)."""
    parts = ["explore", trace.spec_file or f"<{trace.spec}.py>"]
    for k, v in trace.params.items():
        parts += ["--param", f"{k}={v if isinstance(v, str) else _param_text(v)}"]
    if trace.faults:
        parts += ["--faults", trace.faults]
    return " ".join(shlex.quote(p) for p in parts)


def _param_text(v: Any) -> str:
    if isinstance(v, (tuple, list)) and all(isinstance(x, (int, str)) for x in v):
        return ",".join(str(x) for x in v)
    return show(v)


def render_html(trace: Trace, svg: bytes | str | None = None, *, stats: dict[str, Any] | None = None,
                json_name: str | None = None, dot_text: str | None = None) -> str:
    """Returns the HTML report of the trace (see the module docstring)."""
    t = trace
    e = html.escape
    title = f"{t.spec}: {verdict_line(t)}" if t.violated else f"{t.spec}: a trace of {t.length} steps"
    params = ", ".join(f"{k}={show(v)}" for k, v in t.params.items()) or "none"
    out = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f'<div class="note">spec {e(t.spec)} ({e(t.spec_file or "?")}), parameters: {e(params)}, '
        f"faults: {e(t.faults or 'none')}, {t.length} steps</div>",
    ]
    if t.violated:
        out.append(f'<div class="verdict"><b>{e(verdict_line(t))} after step {t.length}</b>'
                   + (f"<br>{e(t.reason)}" if t.reason else "") + "</div>")
    for n in t.notes:
        out.append(f'<div class="note">note: {e(n)}</div>')
    out.append("<h2>Reproduce</h2><pre>")
    out.append(e(command_line(t)) + "   # search again")
    if json_name:
        out.append(e(f"explore replay {json_name}") + "   # re-run this trace against the spec")
    out.append("</pre>")
    if stats:
        out.append('<h2>The run</h2><table class="stats">')
        for k, v in stats.items():
            out.append(f"<tr><td>{e(str(k))}</td><td>{e(str(v))}</td></tr>")
        out.append("</table>")
    out.append("<h2>Diagram</h2>")
    if svg:
        text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
        text = re.sub(r"^<\?xml[^>]*>\s*", "", text)
        text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text)
        text = re.sub(r"<!--.*?-->\s*", "", text, flags=re.S)
        out.append(f'<div class="chart">{text}</div>')
    else:
        out.append('<p class="note">No Graphviz renderer was found (install one with <code>pip install '
                   "graphviz-pure</code>, or put <code>dot</code> on PATH), so the chart is given as DOT text:</p>")
        if dot_text:
            out.append(f"<details><summary>DOT</summary><pre>{e(dot_text)}</pre></details>")
    out += _table(t)
    out.append("<h2>As text</h2><pre>" + e(render_text(t)) + "</pre>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _table(t: Trace) -> list[str]:
    """Returns the step-by-step state table: one row per state, one column per field, changes highlighted."""
    e = html.escape
    fields = list(t.fields)
    read = set(t.read)
    times = step_times(t)  # timed specs: a time column, {step: "t = 10.1"} (explorer.timed)
    when = "<th>time</th>" if times else ""
    out = ["<h2>Step by step</h2>", "<p class=\"note\">Each row is the state after the step; a highlighted "
           "cell changed in that step; red cells are what the violated property read in the final state."
           + (" The time of each step is one timing the spec allows, found by Z3." if times else "") + "</p>",
           f"<table><tr><th>step</th>{when}<th>what happened</th>" + "".join(f"<th>{e(f)}</th>" for f in fields)
           + "</tr>"]
    rows = [(0, "initial state", t.initial, {}, {})] + [(s.index, s.label, s.state, s.changes, s.info) for s in t.steps]
    last = len(rows) - 1
    for k, (i, label, state, changes, info) in enumerate(rows):
        fault = info.get("kind") in ("loss", "dup", "crash", "restart", "partition", "heal")
        cells = []
        for f in fields:
            cls = "bad" if k == last and f in read and t.violated else ("changed" if f in changes else "")
            value = show_field(f, state[f]) if f in state else ""
            cells.append(f'<td class="{cls}">{e(value)}</td>' if cls else f"<td>{e(value)}</td>")
        at = f'<td class="time">{e(times.get(i, "").removeprefix("t = "))}</td>' if times else ""
        out.append(f'<tr class="{"fault" if fault else ""}"><td class="step">{i}</td>{at}<td>{e(label)}</td>'
                   + "".join(cells) + "</tr>")
    out.append("</table>")
    return out
