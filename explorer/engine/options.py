"""`Options`: one immutable, validated object holding every setting of a search.

Each CLI flag maps onto one field; `Options().but(depth=12)` returns a changed copy, validated the
way Hypothesis validates its settings (the message names the setting and the bad value).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import UsageError

STRATEGIES = ("bfs", "dfs", "random")


@dataclass(frozen=True)
class Options:
    """Settings of one exploration. `None` means no bound."""

    depth: int | None = None
    max_states: int | None = None
    time_limit: float | None = None
    strategy: str = "bfs"
    deadlock: bool = False
    max_violations: int = 1
    seed: int = 0
    checkpoint: str | None = None  # write checkpoints of a BFS to this file (explorer/engine/checkpoint.py)
    resume: str | None = None  # resume a BFS from this checkpoint file
    checkpoint_every_s: float = 60.0  # at most this long between two checkpoints (plus one when stopped)
    max_memory: str | int | None = None  # stop cleanly before resident memory reaches this ("2G", "500M", bytes)
    walks: int = 1000  # random strategy: number of walks
    progress: bool = False  # a progress line on stderr every few seconds
    progress_every_s: float = 2.0
    determinism_sample: int = 64  # re-run one new state in this many to check determinism (0: never)
    backend: str = "auto"  # auto | interp | batch
    symmetry: bool = False  # one state per orbit of the ids the spec declares interchangeable
    por: bool = False  # partial-order reduction of actor specs (explorer/engine/por.py)
    workers: int = 1  # processes expanding each BFS level (explorer/engine/parallel.py)
    cluster: str | None = None  # a Dask scheduler address (tcp://host:8786): levels are expanded there
    disk: str | None = None  # keep the batched BFS's visited set and level arrays in files under this dir

    def __post_init__(self) -> None:
        if self.depth is not None and self.depth < 0:
            raise UsageError(f"depth={self.depth} must be 0 or more")
        if self.max_states is not None and self.max_states < 1:
            raise UsageError(f"max_states={self.max_states} must be at least 1")
        if self.time_limit is not None and self.time_limit <= 0:
            raise UsageError(f"time_limit={self.time_limit} must be more than 0 seconds")
        if self.strategy not in STRATEGIES:
            raise UsageError(f"strategy={self.strategy!r} must be one of {', '.join(STRATEGIES)}")
        if self.max_violations < 1:
            raise UsageError(f"max_violations={self.max_violations} must be at least 1")
        if self.walks < 1:
            raise UsageError(f"walks={self.walks} must be at least 1")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise UsageError(f"workers={self.workers!r} must be a whole number, at least 1")
        if self.backend not in ("auto", "interp", "batch"):
            raise UsageError(f"backend={self.backend!r} must be auto, interp or batch")
        if self.checkpoint_every_s < 0:
            raise UsageError(f"checkpoint_every_s={self.checkpoint_every_s} must be 0 or more seconds")
        if (self.checkpoint or self.resume) and self.strategy != "bfs":
            raise UsageError(f"--checkpoint/--resume: checkpoints cover breadth-first search only, not "
                             f"--strategy {self.strategy}", hint="use --strategy bfs (the default)")
        if self.max_memory is not None:
            from .memory import parse_size

            parse_size(self.max_memory)

    def but(self, **changes) -> Options:
        """Returns a copy with `changes` applied (and validated)."""
        bad = [k for k in changes if k not in {f.name for f in dataclasses.fields(self)}]
        if bad:
            raise UsageError(f"unknown option {bad[0]!r}")
        return dataclasses.replace(self, **changes)
