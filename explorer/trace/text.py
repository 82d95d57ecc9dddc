"""The terminal rendering of a trace: numbered steps, each followed by only what it changed.

A student reads a counterexample top to bottom, so every step shows the fields it changed and
nothing else; containers show their delta (`+`/`-` elements, `field[key]: old → new`) because a
whole network or map repeated at every step hides the one message that mattered. The network of
an actor spec is shown as messages (`p1→coord Vote(yes=True)`), the way the diagram draws them.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from typing import Any

from ..dsl.values import FrozenList, show
from ..timed.show import armed_summary, is_timed, step_times, timing_summary
from .model import Trace

_ANSI = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}
ARROW = "→"


def render_text(trace: Trace, color: bool = False) -> str:
    """Returns the whole trace as text: header, initial state, numbered steps, the verdict."""
    c = _Painter(color)
    out = _header(trace, c)
    out.append("")
    out.append(c("bold", "Initial state"))
    times = step_times(trace)  # timed specs: "t = 10.0: " before each step (explorer.timed)
    for name in _ordered(trace.fields, trace.initial):
        armed = armed_summary(trace.initial[name]) if name == "timers" else None
        out.extend([f"    timers: {armed}"] if armed is not None else _full(name, trace.initial[name]))
    width = len(str(len(trace.steps)))
    timed = is_timed(trace)
    for step in trace.steps:
        if trace.loop_start is not None and step.index == trace.loop_start:
            out.append("")
            out.append(c("yellow", f"--- loop: steps {trace.loop_start}..{trace.length} repeat forever ---"))
        out.append("")
        at = f"{times[step.index]}: " if step.index in times else ""
        out.append(c("bold", f"{step.index:>{width}}. ") + at + c("cyan", step.label))
        out.extend(c.delta(line) for line in step_change_lines(trace, step, timed=timed))
    if trace.loop_start is not None:
        out.append(c("yellow", f"--- back to the state before step {trace.loop_start} ---"))
    out.append("")
    out.extend(_verdict(trace, c))
    return "\n".join(out) + "\n"


def step_change_lines(trace: Trace, step: Any, indent: str = "    ", timed: bool | None = None) -> list[str]:
    """Returns the lines of every field a step changed, in field order.

    A timed spec's zone (`timers`) is shown as what the step did to the clocks ("election 1 fired;
    armed election 1 (10..20)"), not as the zone before and after: those are a line of difference
    constraints each, and the step's concrete time already says when. JSON and ITF keep the zone.
    A renderer that loops over the steps passes `timed` (is_timed scans every step: asking per step
    would be quadratic in the trace's length).
    """
    timed = is_timed(trace) if timed is None else timed
    out: list[str] = []
    for name in _ordered(trace.fields, step.changes):
        if name == "timers" and timed:
            did = timing_summary(step.info.get("timing"))
            out += [f"{indent}timers: {did}"] if did else []
            continue
        out += change_lines(name, *step.changes[name], indent=indent)
    return out


def change_lines(name: str, old: Any, new: Any, indent: str = "    ") -> list[str]:
    """Returns the lines showing how field `name` went from `old` to `new` (deltas for containers)."""
    msgs_old, msgs_new = (messages_of(old), messages_of(new)) if name == "network" else (None, None)
    if msgs_old is not None and msgs_new is not None:
        gone, came = msgs_old - msgs_new, msgs_new - msgs_old
        rows = [f"- {_msg(m)}{_times(k)}" for m, k in sorted(gone.items(), key=_by_repr)]
        rows += [f"+ {_msg(m)}{_times(k)}" for m, k in sorted(came.items(), key=_by_repr)]
        return _block(f"{indent}{name}: ", rows) if rows else []
    if isinstance(old, frozenset) and isinstance(new, frozenset):
        rows = [f"{sign} {', '.join(show(v) for v in _sorted(part))}"
                for sign, part in (("-", old - new), ("+", new - old)) if part]
        return _block(f"{indent}{name}: ", rows) if rows else [f"{indent}{name}: {show(old)} {ARROW} {show(new)}"]
    if isinstance(old, dict) and isinstance(new, dict):
        lines = [f"{indent}{name}[{show(k)}]: {show(old[k])} {ARROW} {show(new[k])}"
                 for k in _sorted(old.keys() & new.keys()) if _differ(old[k], new[k])]
        rows = [f"- {show(k)}: {show(old[k])}" for k in _sorted(old.keys() - new.keys())]
        rows += [f"+ {show(k)}: {show(new[k])}" for k in _sorted(new.keys() - old.keys())]
        return lines + _block(f"{indent}{name}: ", rows)
    if type(old) is type(new) and type(old) in (FrozenList, tuple) and len(new) >= len(old) \
            and len(show(old)) + len(show(new)) > 50:  # a short sequence reads better whole
        changed = [i for i in range(len(old)) if _differ(old[i], new[i])]
        if len(changed) <= 2 and (changed or len(new) > len(old)):
            lines = [ln for i in changed for ln in _element_lines(f"{indent}{name}[{i}]", old[i], new[i])]
            return lines + _block(f"{indent}{name}: ", [f"+ {show(v)}  (appended)" for v in new[len(old):]])
    return [f"{indent}{name}: {show(old)} {ARROW} {show(new)}"]


def _record(v: Any) -> tuple[str, dict[str, Any]] | None:
    """Returns (type name, fields) of a frozen dataclass or of one read back from JSON, else None."""
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        if type(v).__name__ == "DecodedMessage":
            return v.name, dict(v.fields)
        return type(v).__name__, {f.name: getattr(v, f.name) for f in dataclasses.fields(v)}
    if isinstance(v, tuple) and hasattr(v, "_fields"):  # a namedtuple
        return type(v).__name__, dict(zip(v._fields, v, strict=True))
    return None


def _element_lines(head: str, old: Any, new: Any) -> list[str]:
    """Returns `head: old → new`, or one line per changed field when both are records of one type."""
    a, b = _record(old), _record(new)
    if a is not None and b is not None and a[0] == b[0] and a[1].keys() == b[1].keys():
        rows = [f"{head}.{k}: {show(a[1][k])} {ARROW} {show(b[1][k])}" for k in a[1] if _differ(a[1][k], b[1][k])]
        if rows:
            return rows
    return [f"{head}: {show(old)} {ARROW} {show(new)}"]


def messages_of(value: Any) -> Counter | None:
    """Returns an actor network as a multiset of (src, dst, message), or None if `value` is not one.

    Both network shapes are accepted: unordered {(src, dst, msg): count} and fifo {(src, dst): (msgs...)}.
    """
    if not isinstance(value, dict):
        return None
    out: Counter = Counter()
    for key, v in value.items():
        if not isinstance(key, tuple):
            return None
        if len(key) == 3 and isinstance(v, int) and not isinstance(v, bool):
            out[key] += v
        elif len(key) == 2 and isinstance(v, tuple):
            for m in v:
                out[(key[0], key[1], m)] += 1
        else:
            return None
    return out


def verdict_line(trace: Trace) -> str:
    """Returns what went wrong in a few words: `atomicity violated (invariant)`, `deadlock`, ..."""
    if trace.kind == "deadlock":
        return "deadlock"
    if not trace.violated:
        return "no property violated"
    return f"{trace.violated} violated" + (f" ({trace.kind})" if trace.kind else "")


def show_field(name: str, value: Any) -> str:
    """Returns a field's value in readable form (a network as its list of messages)."""
    armed = armed_summary(value) if name == "timers" else None  # a zone: its armed timers and their delays
    if armed is not None:
        return armed
    msgs = messages_of(value) if name == "network" else None
    if msgs is not None:
        if not msgs:
            return "(empty)"
        return ", ".join(f"{_msg(m)}{_times(k)}" for m, k in sorted(msgs.items(), key=_by_repr))
    return show(value)


# ---------------------------------------------------------------------- pieces

def _header(trace: Trace, c: _Painter) -> list[str]:
    where = f"  ({trace.spec_file})" if trace.spec_file else ""
    lines = [c("bold", f"Trace of {trace.spec}{where}")]
    if trace.params:
        lines.append("  params: " + ", ".join(f"{k}={show(v)}" for k, v in trace.params.items()))
    lines.append(f"  faults: {trace.faults or 'none'}")
    if trace.violated:
        lines.append("  " + c("red", verdict_line(trace)) + f" after {trace.length} step{'s' if trace.length != 1 else ''}")
        if trace.reason:
            lines.append(f"    {trace.reason}")
    lines.extend(f"  note: {n}" for n in trace.notes)
    return lines


def _verdict(trace: Trace, c: _Painter) -> list[str]:
    if not trace.violated:
        return [f"End of trace after {trace.length} steps."]
    kind = f" ({trace.kind})" if trace.kind else ""
    head = "Deadlock" if trace.kind == "deadlock" else f"Violated: {trace.violated}{kind}"
    lines = [c("red", c("bold", head))]
    if trace.reason:
        lines.append(f"  {trace.reason}")
    final = trace.final
    read = [f for f in trace.read if f in final]
    if read:
        lines.append("  it read, in the final state:")
        for name in _ordered(trace.fields, read):
            lines.extend(_full(name, final[name], indent="    "))
    return lines


def _full(name: str, value: Any, indent: str = "    ") -> list[str]:
    return [f"{indent}{name}: {show_field(name, value)}"]


def _block(head: str, rows: list[str]) -> list[str]:
    """Stacks rows under a head: the first on the head's line, the rest aligned below it."""
    if not rows:
        return []
    pad = " " * len(head)
    return [head + rows[0]] + [pad + r for r in rows[1:]]


def _ordered(fields: Iterable[str], names: Iterable[str]) -> list[str]:
    names = list(names)
    order = {f: i for i, f in enumerate(fields)}
    return sorted(names, key=lambda n: (order.get(n, len(order)), n))


def _msg(m: tuple) -> str:
    src, dst, msg = m
    return f"{src}{ARROW}{dst} {msg if isinstance(msg, str) else show(msg)}"


def _times(k: int) -> str:
    return f" ×{k}" if k != 1 else ""


def _by_repr(item: tuple) -> str:
    return repr(item[0])


def _sorted(values: Iterable[Any]) -> list[Any]:
    values = list(values)
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=repr)


def _differ(a: Any, b: Any) -> bool:
    return a != b or type(a) is not type(b)


class _Painter:
    """Wraps text in ANSI colours, or leaves it alone when colour is off."""

    def __init__(self, on: bool):
        self.on = on

    def __call__(self, style: str, text: str) -> str:
        return f"\x1b[{_ANSI[style]}m{text}\x1b[0m" if self.on else text

    def delta(self, line: str) -> str:
        """Colours a change line: additions green, removals red."""
        if not self.on:
            return line
        head, sep, rest = line.partition(": ")
        if rest.startswith("+ "):
            return head + sep + self("green", rest)
        if rest.startswith("- "):
            return head + sep + self("red", rest)
        if line.lstrip().startswith("+ "):
            return self("green", line)
        if line.lstrip().startswith("- "):
            return self("red", line)
        return line
