"""Traces as JSON: our replayable format, and ITF (the Apalache/Quint trace format) for their viewers.

Our format (``"format": "explorer-trace", "version": 1``) keeps what replay needs (each step's
`action` and `decisions`, `init_decisions`, `params`, `faults`) and, for display only, every
state and change. Replay never trusts the stored states: it re-runs the steps against the spec.

Value encoding (`encode_value`, inverted by `decode_value`); JSON-native values stay as they are:

    None, bool, int, str, finite float   the JSON value itself
    list (a list field)                  [v, ...]
    dict with str keys not starting "#"  {"k": v, ...}
    any other dict                       {"#map": [[k, v], ...]}
    set (a set field)                    {"#set": [v, ...]}
    frozenset                            {"#frozenset": [v, ...]}
    tuple                                {"#tup": [v, ...]}
    message / frozen dataclass           {"#msg": "Vote", "fields": {"yes": true}}
    enum member                          {"#enum": "Color.RED"}
    bytes                                {"#bytes": "00ff"}
    nan / inf                            {"#float": "nan"}
    anything else                        {"#repr": "<its repr>"}

Sets and maps are written sorted, so equal states give byte-identical files. A decoded message
is a `DecodedMessage` that prints like the original (`Vote(yes=True)`), which is all the
renderers need. Each step's `info` (what the actor layer recorded) is plain JSON: tuples become
lists and other values their readable form.

ITF (https://apalache-mc.org/docs/adr/015adr-trace.html): `vars` are the field names as they are
(`coord.decision` keeps its dot), one object per state with `"#meta": {"index": i}`, and `loop`
for a lasso. Sets are `#set`, dicts `#map`, tuples `#tup`, lists JSON arrays, integers beyond
2^53 `#bigint`. Values ITF has no form for use Quint's variant convention: a message is
`{"tag": "Vote", "value": {"yes": true}}`, None is `{"tag": "None", "value": {"#tup": []}}`.
"""
from __future__ import annotations

import dataclasses
import enum
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..dsl.values import FrozenDict, FrozenList, FrozenSet
from ..errors import TraceFileError
from .model import Trace, TraceStep

FORMAT = "explorer-trace"
VERSION = 1
ITF_DESCRIPTION = "https://apalache-mc.org/docs/adr/015adr-trace.html"
_MAX_SAFE_INT = 2**53 - 1


# ---------------------------------------------------------------------- values

@dataclasses.dataclass(frozen=True)
class DecodedMessage:
    """A message (or other frozen dataclass) read back from JSON: its class name and field values."""

    name: str
    fields: tuple[tuple[str, Any], ...]

    def __repr__(self) -> str:
        return f"{self.name}(" + ", ".join(f"{k}={v!r}" for k, v in self.fields) + ")"


@dataclasses.dataclass(frozen=True)
class Opaque:
    """A value JSON could not hold exactly; it prints as it did when it was saved."""

    text: str

    def __repr__(self) -> str:
        return self.text


def encode_value(v: Any) -> Any:
    """Returns the JSON form of a frozen state value (see the module docstring for the table)."""
    t = type(v)
    if v is None or t is bool or t is int or t is str:
        return v
    if t is float:
        return v if math.isfinite(v) else {"#float": repr(v)}
    if isinstance(v, enum.Enum):
        return {"#enum": f"{t.__name__}.{v.name}"}
    if isinstance(v, dict):
        if all(type(k) is str and not k.startswith("#") for k in v):
            return {k: encode_value(v[k]) for k in sorted(v)}
        return {"#map": _sorted_json([encode_value(k), encode_value(x)] for k, x in v.items())}
    if isinstance(v, frozenset) and t is not FrozenSet:
        return {"#frozenset": _sorted_json(encode_value(x) for x in v)}
    if isinstance(v, (set, FrozenSet)):
        return {"#set": _sorted_json(encode_value(x) for x in v)}
    if t is FrozenList or t is list:
        return [encode_value(x) for x in v]
    if t is tuple:
        return {"#tup": [encode_value(x) for x in v]}
    if t is DecodedMessage:
        return {"#msg": v.name, "fields": {k: encode_value(x) for k, x in v.fields}}
    if t is Opaque:
        return {"#repr": v.text}
    if getattr(t, "json_as_text", False) or t is Fraction:  # a timed spec's Zone, exact times: as they print
        return {"#repr": repr(v) if t is not Fraction else str(v)}
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {"#msg": t.__name__, "fields": {f.name: encode_value(getattr(v, f.name)) for f in dataclasses.fields(v)}}
    if isinstance(v, tuple) and hasattr(v, "_fields"):  # a namedtuple
        return {"#msg": t.__name__, "fields": {k: encode_value(x) for k, x in zip(v._fields, v, strict=True)}}
    if t is bytes:
        return {"#bytes": v.hex()}
    return {"#repr": repr(v)}


def decode_value(j: Any) -> Any:
    """Returns the frozen value a JSON form stands for (messages come back as `DecodedMessage`)."""
    if isinstance(j, list):
        return FrozenList(decode_value(x) for x in j)
    if not isinstance(j, dict):
        return j
    tags = [k for k in j if k.startswith("#")]
    if not tags:
        return FrozenDict({k: decode_value(x) for k, x in j.items()})
    tag, body = tags[0], j[tags[0]]
    if tag == "#map":
        return FrozenDict({decode_value(k): decode_value(x) for k, x in body})
    if tag == "#set":
        return FrozenSet(decode_value(x) for x in body)
    if tag == "#frozenset":
        return frozenset(decode_value(x) for x in body)
    if tag == "#tup":
        return tuple(decode_value(x) for x in body)
    if tag == "#msg":
        return DecodedMessage(body, tuple((k, decode_value(x)) for k, x in (j.get("fields") or {}).items()))
    if tag == "#float":
        return float(body)
    if tag == "#bytes":
        return bytes.fromhex(body)
    return Opaque(str(body))  # #enum, #repr and tags of later versions


def _sorted_json(items: Any) -> list:
    return sorted(items, key=lambda x: json.dumps(x, sort_keys=True))


def _plain(v: Any) -> Any:
    """Returns `info` data as plain JSON (tuples and sets as lists, other values readable)."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (set, frozenset)):
        return sorted((_plain(x) for x in v), key=repr)
    return repr(v)


# ---------------------------------------------------------------------- our format

def trace_to_json(trace: Trace) -> dict[str, Any]:
    """Returns the trace in our replayable JSON format (a dict ready for `json.dump`)."""
    from .. import __version__
    from ..timed.show import step_times

    step_times(trace)  # a timed trace: every step gets info["time"], written as the step's "time"
    return {
        "format": FORMAT,
        "version": VERSION,
        "generator": f"explorer {__version__}",
        "spec": trace.spec,
        "spec_file": trace.spec_file,
        "params": {k: encode_value(v) for k, v in trace.params.items()},
        "faults": trace.faults,
        "property": trace.violated,
        "kind": trace.kind,
        "reason": trace.reason,
        "read": list(trace.read),
        "fields": list(trace.fields),
        "nodes": dict(trace.nodes),
        "init_decisions": list(trace.init_decisions),
        "initial": _state(trace.initial),
        "steps": [
            {
                "index": s.index,
                "action": s.action,
                "decisions": list(s.decisions),
                "label": s.label,
                **({"time": s.info["time"]} if "time" in s.info else {}),
                "info": _plain({k: v for k, v in s.info.items() if k != "time"}),
                "changes": {k: [encode_value(a), encode_value(b)] for k, (a, b) in s.changes.items()},
                "state": _state(s.state),
            }
            for s in trace.steps
        ],
        "loop_start": trace.loop_start,
        "notes": list(trace.notes),
        "stats": _plain(trace.stats),
    }


def _state(state: dict[str, Any]) -> dict[str, Any]:
    return {k: encode_value(v) for k, v in state.items()}


def save_trace(trace: Trace, path: str | Path) -> Path:
    """Writes the trace as our JSON to `path`; returns the path."""
    p = Path(path)
    p.write_text(json.dumps(trace_to_json(trace), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return p


def load_trace(path: str | Path) -> dict[str, Any]:
    """Reads and validates a trace file; returns its dict with `params` decoded to Python values.

    Raises TraceFileError naming the file and the first thing wrong with it. States stay in their
    JSON form; `trace_from_json` turns the whole dict back into a `Trace` for display.
    """
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TraceFileError("no such trace file", where=where) from None
    except (OSError, UnicodeDecodeError) as e:
        raise TraceFileError(f"cannot read the trace file: {getattr(e, 'strerror', None) or e}", where=where) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise TraceFileError(f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})", where=where,
                             hint=_REGEN) from None
    validate_trace_json(data, where)
    data["params"] = {k: decode_value(v) for k, v in data["params"].items()}
    return data


_REGEN = "the file is damaged; write it again with `explore SPEC.py --out DIR`"


def validate_trace_json(data: Any, where: str | None = None) -> None:
    """Raises TraceFileError unless `data` is a version-1 explorer trace with well-formed steps."""
    def bad(msg: str, hint: str | None = _REGEN) -> TraceFileError:
        return TraceFileError(msg, where=where, hint=hint)

    if not isinstance(data, dict):
        raise bad(f"a trace file holds a JSON object, not {type(data).__name__}")
    if data.get("format") != FORMAT:
        if "#meta" in data and "states" in data:
            raise bad("this is an ITF trace (for Apalache/Quint viewers); explorer replays its own format",
                      hint="use the .json file written next to the .itf.json")
        raise bad(f"not an explorer trace: \"format\" is {data.get('format')!r}, expected {FORMAT!r}")
    version = data.get("version")
    if version != VERSION:
        raise bad(f"trace format version {version!r} is not supported (this explorer reads version {VERSION})",
                  hint="write the trace again with this version of explorer")
    _expect(data, "spec", str, bad)
    _expect(data, "params", dict, bad)
    for key in ("spec_file", "faults", "property", "kind", "reason"):
        _expect(data, key, (str, type(None)), bad, required=False)
    _expect(data, "loop_start", (int, type(None)), bad, required=False)
    _expect(data, "initial", dict, bad, required=False)
    _expect(data, "nodes", dict, bad, required=False)
    _expect(data, "stats", dict, bad, required=False)
    _ints(data.get("init_decisions", []), "init_decisions", bad)
    steps = data.get("steps")
    if not isinstance(steps, list):
        raise bad(f"\"steps\" must be a list, not {type(steps).__name__}")
    for i, s in enumerate(steps):
        if not isinstance(s, dict):
            raise bad(f"steps[{i}] must be an object")
        if not isinstance(s.get("action"), str):
            raise bad(f"steps[{i}] has no action name")
        _ints(s.get("decisions"), f"steps[{i}].decisions", bad)


def _expect(data: dict, key: str, types: Any, bad: Any, required: bool = True) -> None:
    if key not in data:
        if required:
            raise bad(f"the trace has no {key!r}")
        return
    if not isinstance(data[key], types) or isinstance(data[key], bool) and types is not bool:
        raise bad(f"{key!r} has the wrong type ({type(data[key]).__name__})")


def _ints(v: Any, what: str, bad: Any) -> None:
    if not isinstance(v, list) or not all(type(x) is int and x >= 0 for x in v):
        raise bad(f"{what} must be a list of choice indices (integers >= 0), not {v!r}")


def trace_from_json(data: dict[str, Any]) -> Trace:
    """Rebuilds a displayable Trace from our JSON (states decoded; messages as DecodedMessage)."""
    initial = {k: decode_value(v) for k, v in (data.get("initial") or {}).items()}
    trace = Trace(
        spec=data["spec"], spec_file=data.get("spec_file"),
        params={k: decode_value(v) for k, v in data["params"].items()}, faults=data.get("faults"),
        fields=tuple(data.get("fields") or initial), init_decisions=tuple(data.get("init_decisions") or ()),
        initial=initial, violated=data.get("property"), kind=data.get("kind"), reason=data.get("reason"),
        read=tuple(data.get("read") or ()), loop_start=data.get("loop_start"), notes=list(data.get("notes") or ()),
        nodes={str(k): str(v) for k, v in (data.get("nodes") or {}).items()},
        stats=dict(data.get("stats") or {}),
    )
    for i, s in enumerate(data["steps"], start=1):
        trace.steps.append(TraceStep(
            index=s.get("index", i), action=s["action"], decisions=tuple(s["decisions"]),
            label=s.get("label") or s["action"], info=_info(s.get("info") or {}, s.get("time")),
            state={k: decode_value(v) for k, v in (s.get("state") or {}).items()},
            changes={k: (decode_value(a), decode_value(b)) for k, (a, b) in (s.get("changes") or {}).items()},
        ))
    return trace


def _info(info: dict[str, Any], time: float | None = None) -> dict[str, Any]:
    out = dict(info)
    if time is not None:  # a timed trace's step time lives in info while in memory
        out["time"] = time
    if isinstance(out.get("sends"), list):
        out["sends"] = [tuple(x) for x in out["sends"]]
    return out


# ---------------------------------------------------------------------- ITF

def trace_to_itf(trace: Trace) -> dict[str, Any]:
    """Returns the trace in ITF, the Apalache/Quint trace format (see the module docstring)."""
    meta: dict[str, Any] = {
        "format": "ITF",
        "format-description": ITF_DESCRIPTION,
        "source": trace.spec_file or trace.spec,
        "description": _itf_description(trace),
        "generator": "explorer",
        "spec": trace.spec,
        "params": {k: itf_value(v) for k, v in trace.params.items()},
        "faults": trace.faults or "none",
    }
    if trace.violated:
        meta["property"] = trace.violated
        meta["kind"] = trace.kind or "invariant"
        if trace.reason:
            meta["reason"] = trace.reason
    states = []
    for i, state in enumerate(trace.states()):
        smeta: dict[str, Any] = {"index": i}
        if i > 0:
            smeta["action"] = trace.steps[i - 1].label
        states.append({"#meta": smeta, **{f: itf_value(state[f]) for f in trace.fields if f in state}})
    out: dict[str, Any] = {"#meta": meta, "vars": list(trace.fields), "states": states}
    if trace.loop_start is not None:
        out["loop"] = trace.loop_start - 1  # the state before the loop's first step
    return out


def _itf_description(trace: Trace) -> str:
    if trace.violated:
        return f"{trace.spec}: {trace.violated} ({trace.kind or 'property'}) fails after {trace.length} steps"
    return f"{trace.spec}: a trace of {trace.length} steps"


def itf_value(v: Any) -> Any:
    """Returns the ITF form of a state value."""
    t = type(v)
    if t is bool or t is str:
        return v
    if t is int:
        return v if -_MAX_SAFE_INT <= v <= _MAX_SAFE_INT else {"#bigint": str(v)}
    if v is None:
        return {"tag": "None", "value": {"#tup": []}}
    if isinstance(v, dict):
        return {"#map": _sorted_json([itf_value(k), itf_value(x)] for k, x in v.items())}
    if isinstance(v, frozenset | set):
        return {"#set": _sorted_json(itf_value(x) for x in v)}
    if t is FrozenList or t is list:
        return [itf_value(x) for x in v]
    if t is tuple:
        return {"#tup": [itf_value(x) for x in v]}
    if isinstance(v, enum.Enum):
        return {"tag": v.name, "value": {"#tup": []}}
    if t is DecodedMessage:
        return _variant(v.name, v.fields)
    if t is Fraction:  # exact times (explorer.timed): an integer when whole, else "21/2"
        return itf_value(v.numerator) if v.denominator == 1 else str(v)
    if getattr(t, "json_as_text", False):  # a timed spec's Zone: as it prints
        return repr(v)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return _variant(t.__name__, [(f.name, getattr(v, f.name)) for f in dataclasses.fields(v)])
    if isinstance(v, tuple) and hasattr(v, "_fields"):
        return _variant(t.__name__, list(zip(v._fields, v, strict=True)))
    return {"#unserializable": repr(v)}


def _variant(name: str, fields: Any) -> dict[str, Any]:
    record = {k: itf_value(x) for k, x in fields}
    return {"tag": name, "value": record if record else {"#tup": []}}
