"""`--max-memory SIZE`: parse a size, read the process's resident memory, and say when to stop.

The engines ask `MemoryGuard.over()` where they can stop cleanly (every 256 expanded states in the
interpreted engine; at each level start and between chunks in the batched one), so a run ends with its
partial statistics (and a checkpoint when `--checkpoint` is given) instead of being killed by the
operating system. The guard stops at 90 % of the limit: the interpreted engine grows a little
between two checks, and the batched one also adds its estimate of what the next level will need.
"""
from __future__ import annotations

import os
import re
import resource
import sys
from dataclasses import dataclass

from ..errors import UsageError

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
STOP_FRACTION = 0.9  # stop when resident memory (plus the next level's estimate) reaches this share


def parse_size(text: str | int) -> int:
    """Returns the bytes meant by `2G`, `500M`, `1.5GiB`, `64k` or a plain number of bytes (units of 1024)."""
    if isinstance(text, int):
        n = text
    else:
        m = _SIZE.match(text)
        if not m:
            raise UsageError(f"--max-memory {text!r}: expected a size such as 2G, 500M or 64K",
                             hint="units are K, M, G, T (powers of 1024); a plain number is bytes")
        n = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if n <= 0:
        raise UsageError(f"--max-memory {text!r}: the limit must be more than 0 bytes")
    return n


def rss_bytes() -> int:
    """Returns the resident memory of this process now (Linux: /proc/self/statm; else the peak so far)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return ru if sys.platform == "darwin" else ru * 1024


def format_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


@dataclass
class MemoryGuard:
    """Says when resident memory (plus what is about to be allocated) comes too close to the limit."""

    limit: int
    last_rss: int = 0

    def over(self, extra: int = 0) -> bool:
        self.last_rss = rss_bytes()
        return self.last_rss + extra >= self.limit * STOP_FRACTION

    def message(self, extra: int = 0) -> str:
        need = f" and the next level needs about {format_size(extra)} more" if extra else ""
        return (f"stopped at {format_size(self.last_rss)} of resident memory{need}, before the --max-memory "
                f"limit of {format_size(self.limit)}")
