"""A Graphviz drawing of a whole (small) state graph, with a trace's path through it highlighted.

For teaching: a student sees every state the spec can reach, where the trace goes, and the red
state where the property fails. It runs its own BFS over the model's interface (`initial_states`,
`successors`, `as_dict`), independent of the engine, and refuses graphs of more than `limit`
states: dot's layout time grows faster than linearly, and a bigger picture teaches nothing.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from ..errors import UsageError
from .dot import _FONT, _PALE_RED, _RED, _esc
from .model import Trace
from .text import show_field, verdict_line

#: The most states `state_graph_dot` draws.
MAX_GRAPH_STATES = 300
#: Up to this many states every state shows its fields; above it only the trace's states do.
FULL_LABELS = 16


class GraphTooBig(UsageError):
    """The reachable state graph has more states than a picture can show."""


def explore_graph(model: Any, limit: int = MAX_GRAPH_STATES, depth: int | None = None
                  ) -> tuple[list[tuple], dict[tuple, int], list[tuple[int, int, str]]]:
    """Returns (states, index of each state, edges (from, to, label)) of the reachable graph.

    Raises GraphTooBig past `limit` states. With `depth`, only states within that many steps.
    """
    states: list[tuple] = []
    index: dict[tuple, int] = {}
    edges: list[tuple[int, int, str]] = []
    queue: deque[tuple[tuple, int]] = deque()
    for st, _step in model.initial_states():
        if st not in index:
            index[st] = len(states)
            states.append(st)
            queue.append((st, 0))
    while queue:
        st, d = queue.popleft()
        if depth is not None and d >= depth:
            continue
        for nxt, step in model.successors(st):
            if nxt not in index:
                if len(states) >= limit:
                    raise GraphTooBig(
                        f"the state graph has more than {limit} states; a picture of it would be unreadable",
                        hint="draw a smaller configuration (fewer nodes, smaller --faults), or use the trace's "
                        "sequence chart (--format svg)")
                index[nxt] = len(states)
                states.append(nxt)
                queue.append((nxt, d + 1))
            edges.append((index[st], index[nxt], step.label))
    return states, index, edges


def state_graph_dot(model: Any, trace: Trace | None = None, path: Sequence[tuple] = (),
                    limit: int = MAX_GRAPH_STATES) -> str:
    """Returns DOT of the reachable state graph; `path` (the trace's states, initial first) is highlighted.

    Raises GraphTooBig (a UsageError, exit 2) past `limit` states.
    """
    states, index, edges = explore_graph(model, limit)
    on_path = [index[s] for s in path if s in index]
    path_edges = {(a, b) for a, b in zip(on_path, on_path[1:], strict=False)}
    step_of: dict[int, list[int]] = {}
    for k, i in enumerate(on_path):
        step_of.setdefault(i, []).append(k)
    bad = on_path[-1] if on_path and trace is not None and trace.violated else None
    title = f"{model.name}: {len(states)} reachable states, {len(edges)} transitions"
    if trace is not None and trace.violated:
        title += f"; the trace to {verdict_line(trace)} in red"
    lines = [
        f"// explorer state graph: {len(states)} states",
        "digraph states {",
        f'  graph [fontname="{_FONT}", labelloc=t, label=<<b>{_esc(title)}</b>>, rankdir=TB, ranksep=0.35, '
        "nodesep=0.2];",
        f'  node [fontname="{_FONT}", fontsize=9, shape=box, style="rounded,filled", fillcolor=white, '
        'color="#9e9e9e"];',
        f'  edge [fontname="{_FONT}", fontsize=8, color="#bdbdbd", arrowsize=0.6];',
    ]
    n_init = len(model.initial_states())
    for i, st in enumerate(states):
        d = model.as_dict(st)
        tip = "\n".join(f"{k} = {show_field(k, v)}" for k, v in d.items())
        steps = step_of.get(i)
        head = f"s{i}" + (f"  (step {', '.join(map(str, steps))})" if steps else "")
        body = _short(d) if len(states) <= FULL_LABELS or steps else ""  # the rest: hover for the state
        label = f"<b>{_esc(head)}</b>" + (f'<br/><font point-size="8">{_esc(body)}</font><br align="left"/>'
                                          if body else "")
        attrs = [f"label=<{label}>", f'tooltip="{_tip(tip)}"']
        if i == bad:
            attrs += [f'color="{_RED}"', f'fillcolor="{_PALE_RED}"', "penwidth=2.5"]
        elif steps:
            attrs += ['color="#1f5fa8"', 'fillcolor="#e8eef8"', "penwidth=2"]
        if i < n_init:
            attrs.append("peripheries=2")
        lines.append(f"  s{i} [{', '.join(attrs)}];")
    seen: set[tuple[int, int]] = set()
    for a, b, label in edges:
        if (a, b) in seen:
            continue
        seen.add((a, b))
        if (a, b) in path_edges:
            k = on_path.index(a) + 1
            text = trace.steps[k - 1].label if trace is not None and k - 1 < len(trace.steps) else label
            lines.append(f'  s{a} -> s{b} [color="#1f5fa8", penwidth=2.2, fontcolor="#1f5fa8", '
                         f"label=<{_esc(f'{k}. {text}')}>];")
        else:
            lines.append(f"  s{a} -> s{b};")
    if bad is not None and trace is not None:
        why = trace.reason or ""
        lines.append(f'  verdict [shape=box, style="filled,bold", color="{_RED}", fillcolor="{_PALE_RED}", '
                     f"label=<<b>{_esc(verdict_line(trace))}</b><br/>{_esc(why)}>];")
        lines.append(f'  s{bad} -> verdict [color="{_RED}", style=dashed, arrowhead=none];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _short(d: dict[str, Any]) -> str:
    """Returns a compact one-state label: `field=value` lines, long values cut."""
    rows = []
    for k, v in d.items():
        s = show_field(k, v)
        rows.append(f"{k}={s if len(s) <= 40 else s[:37] + '...'}")
    return "\n".join(rows)


def _tip(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "&#10;")
