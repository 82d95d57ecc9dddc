"""Graphviz drawings of a trace: a message-sequence chart for actor specs, a chain of states otherwise.

The chart is what a student studies, so it follows the textbook picture: one lifeline per node
in a row, time flowing down with one row per step, an arrow from each send to its delivery, lost
messages ending in a red cross, crashes and restarts as marks on the lifeline, a partition as a
band over the steps it lasts, and the violating state in red at the bottom. Every event carries
the step number of the text output, so the two can be read side by side.

Layout: each lifeline is a chain of one anchor node per row (`weight` keeps it straight), each row
is a `rank=same` subgraph whose invisible flat edges fix the left-to-right order, and message
arrows are `constraint=false` so they never bend the grid. Every label is an HTML-like label
built from text escaped by `_esc` alone.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..dsl.values import show
from ..timed.show import is_timed, step_times
from .model import Trace, TraceStep
from .text import change_lines, messages_of, show_field, step_change_lines, verdict_line

#: Above this many steps `render_svg` refuses: dot's layout time grows faster than linearly.
MAX_RENDER_STEPS = 200
#: Seconds a renderer may take before we give up on the picture (the DOT text is still written).
RENDER_TIMEOUT_S = 120

_PALETTE = ("#1f5fa8", "#2a8a3e", "#7a3fa0", "#b0600a", "#13808a", "#a8326e", "#555555")
_FAULT_KINDS = ("loss", "dup", "crash", "restart", "partition", "heal")
_RED, _PALE_RED, _GREEN, _AMBER = "#c62828", "#fde3e3", "#2e7d32", "#b26a00"
_FONT = "Helvetica"


def _esc(text: Any) -> str:
    """Escapes text for an HTML-like Graphviz label: the one place labels are escaped.

    Quotes, backslashes, `&`, `<` and `>` become entities; a newline becomes a left-aligned break.
    """
    s = str(text)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace('"', "&quot;").replace("\\", "&#92;")
    return s.replace("\r\n", "\n").replace("\n", '<br align="left"/>')


def render_dot(trace: Trace) -> str:
    """Returns Graphviz DOT text for the trace: a sequence chart for actor specs, else a state chain."""
    if _is_actor_trace(trace):
        return _SequenceChart(trace).render()
    return _state_chain(trace)


def render_svg(dot_text: str, fmt: str = "svg") -> bytes | None:
    """Returns the DOT drawn as `fmt` (svg, png, pdf), or None when no renderer exists or it is too big.

    Uses `dot` on PATH, else the pip-installed `graphviz-pure` (same command line). Charts of more
    than MAX_RENDER_STEPS rows are refused: layout cost is superlinear, so big traces keep DOT only.
    """
    if fmt not in ("svg", "png", "pdf", "jpg", "gif"):
        raise ValueError(f"render_svg: unknown format {fmt!r} (svg, png, pdf, jpg or gif)")
    binary = find_renderer()
    if binary is None or _too_big(dot_text):
        return None
    try:
        done = subprocess.run([binary, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True,
                              timeout=RENDER_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0 or not done.stdout:
        return None
    return done.stdout


def _too_big(dot_text: str) -> bool:
    """Tells whether a chart is past the render limit: by its step count, or else by its edge count."""
    m = _STEPS.match(dot_text)
    if m:
        return int(m.group(1)) > MAX_RENDER_STEPS
    return dot_text.count("->") > 8 * MAX_RENDER_STEPS


_STEPS = re.compile(r"// explorer trace: (\d+) steps")


def find_renderer() -> str | None:
    """Returns the path of a Graphviz-compatible binary: `dot`, else `graphviz-pure`, else None."""
    return shutil.which("dot") or shutil.which("graphviz-pure")


def _is_actor_trace(trace: Trace) -> bool:
    return "network" in trace.fields and "crashed" in trace.fields


# ---------------------------------------------------------------------- the sequence chart

@dataclass
class _Msg:
    """One copy of a message on the wire: where it was sent and what became of it."""

    src: str
    dst: str
    text: str
    sent: int | None  # step that sent it (0: the initial state), None if unknown
    ends: list[tuple[int, str]] = field(default_factory=list)  # (step, deliver|dup|loss|drop)
    gone: bool = False


Line = tuple[str, str | None, bool]  # text, colour (None: default), bold


def _html(lines: list[Line], width: int | None = None) -> str:
    """Returns left-aligned label lines as HTML-like label content (text escaped by `_esc`)."""
    out = []
    for text, color, bold in lines:
        for piece in _wrap(str(text), width or WRAP):
            s = _esc(piece)
            if s:  # Graphviz rejects an empty <b></b> or <font></font>
                s = f"<b>{s}</b>" if bold else s
                s = f'<font color="{color}">{s}</font>' if color else s
            out.append(s + '<br align="left"/>')
    return "".join(out)


#: Label lines longer than this are wrapped, so one long value cannot push the lifelines apart.
WRAP = 60


def _wrap(text: str, width: int = WRAP) -> list[str]:
    """Splits a long label line after commas or spaces; continuation lines are indented."""
    if len(text) <= width:
        return [text]
    out, rest = [], text
    while len(rest) > width:
        cut = max(rest.rfind(", ", 0, width) + 1, rest.rfind(" ", 0, width))
        if cut <= width // 3:
            cut = width
        out.append(rest[:cut].rstrip())
        rest = "    " + rest[cut:].lstrip()
    out.append(rest)
    return out


def _title(trace: Trace) -> str:
    """Returns the graph attributes that title a chart: spec, verdict, parameters and faults."""
    t = trace
    head = f"{t.spec}: {verdict_line(t)}" if t.violated else f"{t.spec}: a trace of {t.length} steps"
    params = ", ".join(f"{k}={show(v)}" for k, v in t.params.items())
    sub = "   ".join(x for x in (params, f"faults: {t.faults or 'none'}") if x)
    return f'labelloc=t, label=<<b>{_esc(head)}</b><br/><font point-size="10">{_esc(sub)}</font><br/>>'


class _SequenceChart:
    """Builds the DOT of an actor trace; one instance per rendering."""

    def __init__(self, trace: Trace):
        self.t = trace
        self.n = len(trace.steps)
        self.nodes = _node_ids(trace)
        self.col = {nid: j for j, nid in enumerate(self.nodes)}
        self.msgs = _match_messages(trace)
        self.colors: dict[str, str] = {}
        self.distinct = {m.text for m in self.msgs}
        for m in self.msgs:
            self._color(m.text)
        self.lost_in_row: dict[int, tuple[str, int]] = {}  # row -> (node id, column it goes before)
        self.used: set[str] = set()  # what the legend must explain
        self.lines: list[str] = []
        self.times = step_times(trace)  # timed specs: {step: "t = 10.0"} (explorer.timed)

    def a(self, nid: str, row: int) -> str:
        """Returns the DOT id of lifeline `nid` at `row` (0: header, 1..n: steps, n+1: final state)."""
        return f"n{self.col[nid]}_{row}"

    def render(self) -> str:
        t = self.t
        self.lines += [
            f"// explorer trace: {t.length} steps",
            "digraph trace {",
            f'  graph [newrank=true, splines=false, outputorder=edgesfirst, nodesep=0.3, ranksep=0.25, fontname="{_FONT}", {_title(t)}];',
            f'  node [fontname="{_FONT}", fontsize=10, margin="0.1,0.05"];',
            f'  edge [fontname="{_FONT}", fontsize=9];',
        ]
        self._header_row()
        for step in t.steps:
            self._step_row(step)
        self._final_row()
        self._lifelines()
        self._arrows()
        self._partitions()
        self._rows_order()
        self._verdict()
        self.lines.append("}")
        return "\n".join(self.lines) + "\n"

    # ------------------------------------------------------------------ rows
    def _header_row(self) -> None:
        self.lines.append(f'  g_0 [shape=plaintext, label=<{_html([("step", "#777777", False)])}>];')
        for nid in self.nodes:
            lines: list[Line] = [(nid, None, True)]
            lines += [(f"{f} = {v}", None, False) for f, v in self._node_values(nid, self.t.initial)]
            lines += self._sends(nid, 0)
            self.lines.append(f'  {self.a(nid, 0)} [shape=box, style="rounded,filled,bold", fillcolor="#e8eef8", '
                              f"label=<{_html(lines)}>];")

    def _step_row(self, step: TraceStep) -> None:
        i, info = step.index, step.info
        kind = info.get("kind")
        mark = f"{i}" + (f"  {self.times[i]}" if i in self.times else "")  # timed specs (explorer.timed)
        mark += f"  {kind}" if kind in ("partition", "heal") else ""
        mark += "  (loop starts)" if self.t.loop_start == i else ""
        self.lines.append(f'  g_{i} [shape=plaintext, label=<{_html([(mark, "#777777", False)])}>];')
        actor = info.get("node") if kind in ("deliver", "dup", "timer", "crash", "restart", "drop") else None
        changed = {f.split(".", 1)[0] for f in step.changes if "." in f}
        for nid in self.nodes:
            if nid == actor or nid in changed:
                self.lines.append(f"  {self.a(nid, i)} {self._event(nid, step)};")
            else:
                self.lines.append(f'  {self.a(nid, i)} [shape=point, width=0.03, height=0.03, color="#9e9e9e"];')
        if kind == "loss":
            self.used.add("loss")
            src, dst = info.get("src"), info.get("dst")
            lines = [(f"{i} lost", _RED, True), (f"{info.get('msg', '')} to {dst}", _RED, False)]
            self.lines.append(f'  lost_{i} [shape=plaintext, label=<<font color="{_RED}" point-size="24"><b>×</b>'
                              f"</font><br/>{_html(lines)}>];")
            if dst in self.col:
                right_of_src = src in self.col and self.col[src] > self.col[dst]
                self.lost_in_row[i] = (f"lost_{i}", self.col[dst] + (1 if right_of_src else 0))

    def _event(self, nid: str, step: TraceStep) -> str:
        """Returns the attributes of node `nid`'s mark at this step: what it did and what it changed."""
        i, info, kind = step.index, step.info, step.info.get("kind")
        mine = info.get("node") == nid
        lines: list[Line] = []
        style, fill, border = "rounded,filled", "white", "#616161"
        msg = str(info.get("msg", ""))
        src = f" from {info['src']}" if info.get("src") else ""  # so an arrow that passes other boxes is not
        if mine and kind == "deliver":                            # read as sent by them
            lines.append((f"{i}  got {msg}{src}", self._color(msg), True))
        elif mine and kind == "dup":
            self.used.add("dup")
            lines.append((f"{i}  got {msg}{src} (dup: a copy stays in flight)", _AMBER, True))
            fill, border = "#fff4d6", _AMBER
        elif mine and kind == "drop":
            self.used.add("drop")
            lines.append((f"{i}  × {msg} dropped: {nid} is down", _RED, True))
            style, fill, border = "filled", _PALE_RED, _RED
        elif mine and kind == "crash":
            self.used.add("crash")
            lines.append((f"{i}  CRASH: fields not marked durable are lost", _RED, True))
            lost = info.get("lost") or {}
            lines += [(f"loses {k} = {v}", _RED, False) for k, v in lost.items()] or \
                [("loses nothing (its fields had their initial values)", _RED, False)]
            style, fill, border = "filled,bold", _PALE_RED, _RED
        elif mine and kind == "restart":
            since = max((s.index for s in self.t.steps[:i - 1]
                         if s.info.get("kind") == "crash" and s.info.get("node") == nid), default=None)
            lines.append((f"{i}  RESTART" + (f" (down since step {since})" if since else ""), _GREEN, True))
            lines.append(("with its durable fields only", _GREEN, False))
            style, fill, border = "filled,bold", "#e6f4ea", _GREEN
        elif mine and kind == "timer":
            lines.append((f"{i}  timer {info.get('timer', '')} fires", _AMBER, True))
            fill, border = "#fff8e1", _AMBER
        else:
            lines.append((f"{i}  {step.label}" if mine or not step.info else f"{i}", None, True))
        if mine and info.get("chose"):
            lines.append((f"chose {info['chose']}", None, False))
        if not (mine and kind == "crash"):
            for f in _node_fields(self.t.fields, nid):
                if f in step.changes:
                    old, new = step.changes[f]
                    lines += [(r.strip(), None, False) for r in change_lines(f.split(".", 1)[1], old, new, indent="")]
        if mine:
            lines += self._sends(nid, i)
        return f'[shape=box, style="{style}", fillcolor="{_see_through(fill)}", color="{border}", label=<{_html(lines)}>]'

    def _sends(self, nid: str, row: int) -> list[Line]:
        """Returns one line per message kind `nid` sent at `row`: `sends Vote(yes=True) → coord`."""
        to: dict[str, list[str]] = {}
        for m in self.msgs:
            if m.src == nid and m.sent == row:
                to.setdefault(m.text, []).append(m.dst)
        return [(f"sends {text} → {', '.join(dsts)}", self._color(text), False) for text, dsts in to.items()]

    def _final_row(self) -> None:
        t, end = self.t, self.n + 1
        mark: list[Line] = [("end", "#777777", False)]
        if t.kind == "liveness" and t.loop_start is None:  # a behaviour that stops: say it stays there
            mark.append(("stays here forever", _AMBER, True))
        self.lines.append(f'  g_end [shape=plaintext, label=<{_html(mark)}>];')
        final = t.final
        down = set(final.get("crashed") or ())
        for nid in self.nodes:
            hot = any(f in t.read for f in _node_fields(t.fields, nid))
            lines: list[Line] = [(nid + (" (down)" if nid in down else ""), _RED if nid in down else None, True)]
            for f, v in self._node_values(nid, final):
                red = f"{nid}.{f}" in t.read
                lines.append((f"{f} = {v}", _RED if red else None, red))
            waiting = [m.text for m in self.msgs if m.dst == nid and not m.gone]
            if waiting:
                self.used.add("inflight")
                lines.append(("in flight to it: " + ", ".join(waiting), "#757575", False))
            attrs = f'color="{_RED}", penwidth=2, fillcolor="{_PALE_RED}"' if hot else \
                'color="#616161", fillcolor="#f5f5f5"'
            self.lines.append(f'  {self.a(nid, end)} [shape=box, style="rounded,filled", {attrs}, '
                              f"label=<{_html(lines)}>];")

    def _node_values(self, nid: str, state: dict[str, Any]) -> list[tuple[str, str]]:
        return [(f.split(".", 1)[1], show(state[f])) for f in _node_fields(self.t.fields, nid) if f in state]

    # ------------------------------------------------------------------ edges
    def _lifelines(self) -> None:
        states = self.t.states()
        for nid in self.nodes:
            for row in range(self.n + 1):
                down = nid in (states[row].get("crashed") or ())
                style = f'style=dotted, color="{_RED}", penwidth=2.5' if down else 'style=dashed, color="#9e9e9e"'
                self.lines.append(f"  {self.a(nid, row)} -> {self.a(nid, row + 1)} "
                                  f"[{style}, arrowhead=none, weight=100];")
        chain = " -> ".join(["g_0"] + [f"g_{i}" for i in range(1, self.n + 1)] + ["g_end"])
        self.lines.append(f"  {chain} [style=invis, weight=100];")
        if self.t.loop_start is not None and self.n:
            self.lines.append(f'  g_{self.n}:w -> g_{self.t.loop_start}:w [constraint=false, color="{_AMBER}", '
                              f'penwidth=1.5, xlabel=<{_html([("repeat", _AMBER, True)])}>];')

    def _arrows(self) -> None:
        """Draws each message copy from its send to each of its ends (and on to the end if still in flight)."""
        for m in self.msgs:
            if m.src not in self.col or m.dst not in self.col:
                continue
            tail, color = self.a(m.src, m.sent or 0), self._color(m.text)
            for step, how in m.ends:
                if how == "loss":
                    head, attrs = f"lost_{step}", f'color="{_RED}", style=dashed, arrowhead=none, penwidth=1.3'
                elif how == "drop":
                    head, attrs = self.a(m.dst, step), f'color="{_RED}", style=dashed, penwidth=1.3'
                elif how == "dup":
                    head, attrs = self.a(m.dst, step), f'color="{_AMBER}", penwidth=2'
                else:
                    head, attrs = self.a(m.dst, step), f'color="{color}", penwidth=1.5'
                self.lines.append(f'  {tail} -> {head} [{attrs}, constraint=false, class="msg {how}"];')
            if not m.gone:
                self.lines.append(f'  {tail} -> {self.a(m.dst, self.n + 1)} [color="{color}80", style=dashed, '
                                  f'arrowhead=empty, constraint=false, class="msg inflight"];')

    def _color(self, text: str) -> str:
        """Returns the colour of a message: one per distinct message, so Decision(commit=True) and
        Decision(commit=False) differ; by class name alone once there are more messages than colours."""
        key = text if len(self.distinct) <= len(_PALETTE) else text.split("(", 1)[0]
        if key not in self.colors:
            self.colors[key] = _PALETTE[len(self.colors) % len(_PALETTE)]
        return self.colors[key]

    def _partitions(self) -> None:
        start, k = None, 0
        for step in self.t.steps:
            kind = step.info.get("kind")
            if kind == "partition":
                start = step
            elif kind == "heal" and start is not None:
                self._band(start, step.index, True, k)
                start, k = None, k + 1
        if start is not None:
            self._band(start, self.n, False, k)

    def _band(self, start: TraceStep, last: int, healed: bool, k: int) -> None:
        """Draws a partition as a shaded band over the rows from its step to the heal."""
        self.used.add("partition")
        blocks = start.info.get("blocks") or []
        sides = "  |  ".join(", ".join(map(str, b)) for b in blocks) or start.label
        rows = range(start.index, last + 1)
        members = [f"g_{r}" for r in rows] + [self.a(nid, r) for r in rows for nid in self.nodes]
        members += [self.lost_in_row[r][0] for r in rows if r in self.lost_in_row]
        until = f"healed at step {last}" if healed else "never healed"
        label = [(f"{start.index}  partition: {sides}", _RED, True),
                 (f"messages across the cut cannot be delivered ({until})", _RED, False)]
        self.lines += [
            f"  subgraph cluster_partition_{k} {{",
            f'    style="filled,dashed"; fillcolor="#fdecec"; color="{_RED}"; labeljust=l; fontsize=10; label=<{_html(label, 200)}>;',
            "    " + "; ".join(members) + ";",
            "  }",
        ]

    def _rows_order(self) -> None:
        """Pins each row to one rank and its cells left to right: step number, then the lifelines."""
        for row in range(self.n + 2):
            cells = [self.a(nid, row) for nid in self.nodes]
            if row in self.lost_in_row:
                x, before = self.lost_in_row[row]
                cells.insert(before, x)
            order = ["g_end" if row == self.n + 1 else f"g_{row}"] + cells
            self.lines.append(f"  {{ rank=same; {'; '.join(order)}; }}")
            self.lines.append(f"  {' -> '.join(order)} [style=invis];")

    def _verdict(self) -> None:
        """Draws the violated property, its reason and the non-node values it read, under the chart."""
        t = self.t
        if not t.violated:
            return
        node_fields = {f for nid in self.nodes for f in _node_fields(t.fields, nid)}
        lines: list[Line] = [(f"{verdict_line(t)} after step {t.length}", _RED, True)]
        if t.reason:
            lines.append((t.reason, None, False))
        final = t.final
        lines += [(f"{f}: {show_field(f, final[f])}", None, False) for f in t.read
                  if f in final and f not in node_fields and f not in ("crashed", "faults_left")]
        faults = [f"{s.index}. {s.label}" for s in t.steps if s.info.get("kind") in _FAULT_KINDS]
        lines.append(("injected faults: " + ("; ".join(faults) if faults else "none: the protocol fails on its own"),
                      "#616161", False))
        self.lines.append(f'  verdict [shape=box, style="filled,bold", color="{_RED}", fillcolor="{_PALE_RED}", '
                          f"penwidth=2, fontsize=11, label=<{_html(lines, 110)}>];")
        for nid in self.nodes:
            self.lines.append(f"  {self.a(nid, self.n + 1)} -> verdict [style=invis];")
        legend = [text for key, text in _LEGEND if key in self.used or key == "always"]
        self.lines.append(f'  legend [shape=plaintext, fontsize=9, label=<{_html([(x, "#616161", False) for x in legend], 200)}>];')
        self.lines.append("  verdict -> legend [style=invis];")


_LEGEND = (
    ("always", "solid arrow: a message from its send to its delivery; dashed grey line: a node's timeline"),
    ("inflight", "dashed arrow with open head: still in flight when the trace ends"),
    ("loss", "red ×: the network lost the message"),
    ("drop", "red dashed arrow: delivered to a node that was down, so it was dropped"),
    ("dup", "amber arrow: a duplicate delivery (the network delivered a copy)"),
    ("crash", "red dotted timeline: the node is down; it loses every field not marked durable"),
    ("partition", "red band: the network is partitioned"),
)


def _see_through(fill: str) -> str:
    """Returns an event box's fill, partly transparent: a message arrow from a send to a delivery
    several rows down passes behind the boxes of other steps, and must stay visible there (drawn
    opaque, it looked as if those boxes had sent it)."""
    rgb = {"white": "#ffffff"}.get(fill, fill)
    return f"{rgb}a0" if len(rgb) == 7 else rgb


def _node_ids(trace: Trace) -> list[str]:
    """Returns the lifelines: node prefixes of `node.field` fields in field order, then nodes seen only in steps."""
    out: list[str] = []
    for f in trace.fields:
        if "." in f:
            nid = f.split(".", 1)[0]
            if nid not in out:
                out.append(nid)
    for s in trace.steps:
        for key in ("node", "src", "dst"):
            nid = s.info.get(key)
            if isinstance(nid, str) and nid not in out:
                out.append(nid)
    for (src, dst, _m) in (messages_of(trace.initial.get("network")) or {}):
        for nid in (src, dst):
            if nid not in out:
                out.append(nid)
    return out


def _node_fields(fields: Iterable[str], nid: str) -> list[str]:
    return [f for f in fields if f.startswith(nid + ".")]


def _match_messages(trace: Trace) -> list[_Msg]:
    """Pairs every delivery, loss and drop with the send it came from (the oldest matching copy)."""
    msgs: list[_Msg] = []
    wire: list[_Msg] = []
    initial = messages_of(trace.initial.get("network")) or {}
    for (src, dst, m), count in sorted(initial.items(), key=lambda kv: repr(kv[0])):
        for _ in range(count):
            msgs.append(_Msg(src, dst, m if isinstance(m, str) else show(m), 0))
    wire.extend(msgs)
    for step in trace.steps:
        info = step.info
        kind = info.get("kind")
        if kind in ("deliver", "dup", "loss", "drop"):
            key = (info.get("src"), info.get("dst"), info.get("msg"))
            m = next((w for w in wire if (w.src, w.dst, w.text) == key), None)
            if m is None:  # sent before the trace could see it: draw it from the header
                m = _Msg(str(key[0]), str(key[1]), str(key[2]), None)
                msgs.append(m)
                wire.append(m)
            m.ends.append((step.index, kind))
            if kind != "dup":
                m.gone = True
                wire.remove(m)
        for s in info.get("sends") or ():
            src, dst, text = s
            m = _Msg(src, dst, text, step.index)
            msgs.append(m)
            wire.append(m)
    return msgs


# ---------------------------------------------------------------------- plain specs

def _state_chain(trace: Trace) -> str:
    """Returns the DOT of a plain spec's trace: one box per state with the fields that changed."""
    t = trace
    out = [
        f"// explorer trace: {t.length} steps",
        "digraph trace {",
        f'  graph [fontname="{_FONT}", ranksep=0.3, {_title(t)}];',
        f'  node [shape=box, style="rounded,filled", fillcolor=white, fontname="{_FONT}", fontsize=10];',
        f'  edge [color="#777777", fontname="{_FONT}", fontsize=9];',
    ]
    last = t.length
    rows0 = [f"{f} = {show_field(f, t.initial[f])}" for f in t.fields if f in t.initial]
    times = step_times(t)  # timed specs: "t = 10.0" in each box's head (explorer.timed)
    boxes = [(0, "initial state" + (f", {times[0]}" if times else ""), rows0)]
    timed = is_timed(t)
    for s in t.steps:
        rows = [r.strip() for r in step_change_lines(t, s, indent="", timed=timed)]
        at = f"{times[s.index]}: " if s.index in times else ""
        boxes.append((s.index, f"{s.index}. {at}{s.label}", rows or ["(nothing changed)"]))
    for i, head, rows in boxes:
        body = "".join(f'<br align="left"/>{_esc(r)}' for r in rows) + '<br align="left"/>'
        if i == last and t.violated:
            verdict = verdict_line(t)
            shown = [t.reason] if t.reason else []
            shown += [f"{f} = {show_field(f, t.final[f])}" for f in t.read if f in t.final]
            extra = "".join(f'<br align="left"/>{_esc(r)}' for line in shown for r in _wrap(line, 90))
            out.append(f'  s{i} [color="{_RED}", fillcolor="{_PALE_RED}", penwidth=2, '
                       f'label=<<b>{_esc(head)}</b>{body}<font color="{_RED}"><b>{_esc(verdict)}</b>'
                       f'{extra}</font><br align="left"/>>];')
        else:
            out.append(f"  s{i} [label=<<b>{_esc(head)}</b>{body}>];")
    out += [f"  s{i - 1} -> s{i};" for i in range(1, last + 1)]
    if t.loop_start is not None and last:
        out.append(f'  s{last} -> s{t.loop_start - 1} [color="{_AMBER}", constraint=false, '
                   f'label=<{_html([("repeat", _AMBER, False)])}>];')
    out.append("}")
    return "\n".join(out) + "\n"
