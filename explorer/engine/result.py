"""`Result`: what a search found, as data (statistics + violations with their traces).

Exit codes follow TLC (DESIGN section 8): 0 no violation, 11 deadlock, 12 safety violated,
13 liveness violated, 2 usage error, 3 spec error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..trace.model import Trace

EXIT_OK, EXIT_DEADLOCK, EXIT_SAFETY, EXIT_LIVENESS, EXIT_USAGE, EXIT_SPEC = 0, 11, 12, 13, 2, 3


@dataclass
class Violation:
    """One property that failed, with the trace that shows it (None for a missing witness)."""

    property: str
    kind: str  # invariant | action_invariant | deadlock | unreachable | liveness
    reason: str | None = None
    trace: Trace | None = None
    files: dict[str, str] = field(default_factory=dict)

    @property
    def length(self) -> int | None:
        return self.trace.length if self.trace is not None else None


@dataclass
class Result:
    """Statistics and verdict of one exploration."""

    spec: str
    params: dict[str, Any]
    faults: str | None
    options: dict[str, Any]
    distinct_states: int = 0
    transitions: int = 0
    initial_states: int = 0
    depth: int = 0
    complete: bool = False
    depth_bound_hit: bool = False
    stop_reason: str | None = None  # max_states | time_limit | interrupted | max_memory
    elapsed_s: float = 0.0
    peak_rss_mb: float = 0.0
    violations: list[Violation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # properties this engine did not check
    backend: str = "interp"
    symbolic: dict[str, Any] | None = None  # what the Z3 engines (bmc, induction) report; None for explicit

    @property
    def states_per_s(self) -> float:
        return self.distinct_states / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def collision_probability(self) -> float:
        """TLC's optimistic estimate: distinct x (generated - distinct) / 2^64."""
        generated = self.transitions + self.initial_states
        return self.distinct_states * max(0, generated - self.distinct_states) / 2.0**64

    @property
    def result(self) -> str:
        if self.violations:
            kinds = {v.kind for v in self.violations}
            return "deadlock" if kinds == {"deadlock"} else "violation"
        if not self.complete:
            return "incomplete"
        return "ok"

    @property
    def exit_code(self) -> int:
        if not self.violations:
            return EXIT_OK
        first = self.violations[0].kind
        if first == "deadlock":
            return EXIT_DEADLOCK
        if first == "liveness":
            return EXIT_LIVENESS
        return EXIT_SAFETY

    def summary(self) -> dict[str, Any]:
        """The `--json` object (DESIGN section 8)."""
        return {
            "result": self.result,
            "spec": self.spec,
            "params": {k: _jsonable(v) for k, v in self.params.items()},
            "faults": self.faults,
            "distinct_states": self.distinct_states,
            "transitions": self.transitions,
            "initial_states": self.initial_states,
            "depth": self.depth,
            "complete": self.complete,
            "depth_bound_hit": self.depth_bound_hit,
            "stop_reason": self.stop_reason,
            "elapsed_s": round(self.elapsed_s, 4),
            "states_per_s": round(self.states_per_s, 1),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "collision_probability": self.collision_probability,
            "backend": self.backend,
            "violations": [
                {
                    "property": v.property,
                    "kind": v.kind,
                    "reason": v.reason,
                    "length": v.length,
                    "files": v.files,
                }
                for v in self.violations
            ],
            "unchecked": self.unchecked,
            "warnings": self.warnings,
            "engine": (self.symbolic or {}).get("engine", "explicit"),
            **({"symbolic": self.symbolic} if self.symbolic is not None else {}),
            **({"por": self.options["por"]} if isinstance(self.options.get("por"), dict) else {}),
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_jsonable(x) for x in v]
    return repr(v)
