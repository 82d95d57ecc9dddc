"""Mermaid `sequenceDiagram` text of a trace: renders in GitHub/GitLab Markdown and most wikis.

Mermaid draws an arrow at one moment, so a message appears at the step it is delivered (or lost),
labelled with that step's number and the step that sent it: `4. Vote(yes=True) (sent at 1)`. Faults
are notes on the lifeline (`8. CRASH`), a lost message is an arrow ending in a cross (`-x`), a
partition is a shaded `rect` from its step to the heal, and the violation is a note over every
lifeline at the end. A plain spec's trace is one lifeline, `system`, with one note per step.
"""
from __future__ import annotations

from typing import Any

from ..dsl.values import show
from ..timed.show import is_timed, step_times
from .model import Trace
from .text import change_lines, messages_of, show_field, step_change_lines, verdict_line


def _t(text: Any) -> str:
    """Escapes text for a Mermaid message or note: `#` and `;` as entity codes, newlines as <br/>."""
    codes = {"#": "#35;", ";": "#59;", "<": "#lt;", ">": "#gt;"}
    s = "".join(codes.get(c, c) for c in str(text))  # one pass: an inserted code is never escaped again
    return s.replace("\r\n", "\n").replace("\n", "<br/>")


def _pid(nid: str) -> str:
    """Returns a participant id Mermaid accepts (letters, digits, underscore)."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in nid) or "node"


def render_mermaid(trace: Trace) -> str:
    """Returns the trace as Mermaid `sequenceDiagram` text."""
    from .dot import _is_actor_trace, _match_messages, _node_ids

    t = trace
    out = ["sequenceDiagram", f"    title {_t(_title(t))}"]
    times = step_times(t)  # timed specs: "4. t = 10.2: ..." on every step, as in the text (explorer.timed)

    def num(i: int) -> str:
        return f"{i}. {times[i]}:" if i in times else f"{i}."

    if not _is_actor_trace(t):
        out.append("    participant system")
        first = "; ".join(f"{f} = {show_field(f, t.initial[f])}" for f in t.fields if f in t.initial)
        at = f", {times[0]}" if 0 in times else ""
        out.append(f"    Note over system: initial state{_t(at)}<br/>{_t(first)}")
        timed = is_timed(t)
        for s in t.steps:
            rows = [r.strip() for r in step_change_lines(t, s, indent="", timed=timed)]
            out.append(f"    Note over system: {_t(num(s.index))} {_t(s.label)}<br/>{'<br/>'.join(_t(r) for r in rows)}")
        out += _verdict(t, ["system"])
        return "\n".join(out) + "\n"
    nodes = _node_ids(t)
    for nid in nodes:
        cls = t.nodes.get(nid)
        out.append(f"    participant {_pid(nid)} as {_t(nid + (f' ({cls})' if cls else ''))}")
    sent_at: dict[tuple[str, int], int | None] = {}
    for m in _match_messages(t):
        for step, _how in m.ends:
            sent_at[(m.text, step)] = m.sent
    initial = messages_of(t.initial.get("network")) or {}
    if initial:
        items = ", ".join(f"{s}→{d} {m if isinstance(m, str) else show(m)}" for (s, d, m) in initial)
        out.append(f"    Note over {_pid(nodes[0])},{_pid(nodes[-1])}: {_t(num(0))} on start, sent: {_t(items)}")
    open_rect = False
    for s in t.steps:
        i, info = s.index, s.info
        kind = info.get("kind")
        if t.loop_start == i:
            out.append(f"    Note over {_pid(nodes[0])},{_pid(nodes[-1])}: loop: steps {i}..{t.length} repeat forever")
        src, dst, msg = info.get("src"), info.get("dst"), info.get("msg")
        where = sent_at.get((str(msg), i))
        since = f" (sent at {where})" if where is not None else ""
        node = info.get("node")
        if kind == "deliver":
            out.append(f"    {_pid(src)}->>{_pid(dst)}: {_t(num(i))} {_t(msg)}{_t(since)}")
        elif kind == "dup":
            out.append(f"    {_pid(src)}->>{_pid(dst)}: {_t(num(i))} DUPLICATE {_t(msg)}{_t(since)}, a copy stays in flight")
        elif kind == "loss":
            out.append(f"    {_pid(src)}-x{_pid(dst)}: {_t(num(i))} LOST {_t(msg)}{_t(since)}")
        elif kind == "drop":
            out.append(f"    {_pid(src)}-x{_pid(dst)}: {_t(num(i))} {_t(msg)} dropped, {_t(dst)} is down")
        elif kind == "crash":
            lost = info.get("lost") or {}
            what = ", ".join(f"{k} = {v}" for k, v in lost.items()) or "nothing"
            out.append(f"    Note over {_pid(node)}: {_t(num(i))} CRASH, loses {_t(what)}")
        elif kind == "restart":
            out.append(f"    Note over {_pid(node)}: {_t(num(i))} RESTART with its durable fields only")
        elif kind == "timer":
            out.append(f"    Note over {_pid(node)}: {_t(num(i))} timer {_t(info.get('timer', ''))} fires")
        elif kind == "partition":
            blocks = " | ".join(",".join(b) for b in info.get("blocks") or [])
            out.append("    rect rgba(198, 40, 40, 0.12)")
            out.append(f"    Note over {_pid(nodes[0])},{_pid(nodes[-1])}: {_t(num(i))} PARTITION {_t(blocks)}")
            open_rect = True
        elif kind == "heal":
            out.append(f"    Note over {_pid(nodes[0])},{_pid(nodes[-1])}: {_t(num(i))} HEAL, the partition ends")
            if open_rect:
                out.append("    end")
                open_rect = False
        else:
            out.append(f"    Note over {_pid(nodes[0])}: {_t(num(i))} {_t(s.label)}")
        out += _changes(t, s, nodes)
    if open_rect:
        out.append("    end")
    out += _verdict(t, [_pid(nodes[0]), _pid(nodes[-1])])
    return "\n".join(out) + "\n"


def _changes(t: Trace, step: Any, nodes: list[str]) -> list[str]:
    """Returns a note per node whose fields the step changed (crash notes already say what was lost)."""
    out = []
    if step.info.get("kind") == "crash":
        return out
    for nid in nodes:
        rows = []
        for f in t.fields:
            if f.startswith(nid + ".") and f in step.changes:
                rows += [r.strip() for r in change_lines(f.split(".", 1)[1], *step.changes[f], indent="")]
        if rows:
            out.append(f"    Note right of {_pid(nid)}: {'<br/>'.join(_t(r) for r in rows)}")
    return out


def _verdict(t: Trace, span: list[str]) -> list[str]:
    if not t.violated:
        return []
    over = ",".join(dict.fromkeys(span))
    lines = [f"{verdict_line(t)} after step {t.length}"]
    if t.reason:
        lines.append(t.reason)
    return [f"    Note over {over}: {'<br/>'.join(_t(x) for x in lines)}"]


def _title(t: Trace) -> str:
    params = ", ".join(f"{k}={show(v)}" for k, v in t.params.items())
    head = f"{t.spec}: {verdict_line(t)}" if t.violated else f"{t.spec}: a trace of {t.length} steps"
    return f"{head} ({params}{', ' if params else ''}faults: {t.faults or 'none'})"
