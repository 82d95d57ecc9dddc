#!/usr/bin/env python3
"""BMC time per depth on Lamport's TwoPhase (`--engine bmc`), N = 3 and 5, depths 10, 20, 30.

    python bench/bmc_twophase.py                       # N = 3 5, depths 10 20 30
    python bench/bmc_twophase.py --n 3 --depth 10 40   # other sizes
    python bench/bmc_twophase.py --json runs.json      # also the raw figures

Each (N, depth) is a fresh subprocess running `explorer.check(SPEC, params={"n": N}, engine="bmc",
depth=D)`, so no Z3 state is shared between runs. Printed per run, as one Markdown row:
- **derive s**: running the spec's actions on Z3 terms to get the relation (includes the bounded
  explicit exploration that seeds the field domains);
- **solve s**: Z3 time over all depths 0..D (BMC asks depth by depth for the shortest counterexample);
- **last depth s**: Z3 time of depth D alone;
- **total s**: `Result.elapsed_s` (derive + unroll + solve).
The verdict must be `ok` (TwoPhase is correct; its diameter is 3N+1, so depths past it add nothing to
the proof but show how the unrolling scales). Machines here are shared and noisy.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = "specs/lamport_twophase.py"

CHILD = r"""
import json, sys
import explorer
n, d = int(sys.argv[1]), int(sys.argv[2])
r = explorer.check(sys.argv[3], params={"n": n}, engine="bmc", depth=d)
s = r.symbolic
print(json.dumps({"n": n, "depth": d, "result": r.result, "total_s": r.elapsed_s, "derive_s": s["derive_s"],
                  "solve_s": sum(s["solve_s_per_depth"]), "last_depth_s": s["solve_s_per_depth"][-1],
                  "leaves": s["leaves"], "paths": s["paths"]}))
"""


def run(n: int, depth: int, timeout: float) -> dict:
    p = subprocess.run([sys.executable, "-c", CHILD, str(n), str(depth), SPEC], cwd=ROOT, capture_output=True,
                       text=True, timeout=timeout)
    if p.returncode != 0:
        return {"n": n, "depth": depth, "result": "error", "error": p.stderr.strip().splitlines()[-1:]}
    return json.loads(p.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[3, 5])
    ap.add_argument("--depth", type=int, nargs="+", default=[10, 20, 30])
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--json", default=None, help="also write every run's figures here")
    a = ap.parse_args()
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    print(f"# BMC on TwoPhase: {platform.processor() or platform.machine()}, nproc {os.cpu_count()}, "
          f"Python {platform.python_version()}, z3 {__import__('z3').get_version_string()}, git {rev.strip()}, "
          f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min) at the start")
    print("| N | depth | verdict | Z3 vars/state | paths | derive s | solve s | last depth s | total s |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows, bad = [], 0
    for n in a.n:
        for d in a.depth:
            r = run(n, d, a.timeout)
            rows.append(r)
            if r["result"] != "ok":
                bad += 1
                print(f"| {n} | {d} | {r['result']} {r.get('error', '')} | | | | | | |")
                continue
            print(f"| {n} | {d} | {r['result']} | {r['leaves']} | {r['paths']} | {r['derive_s']:.2f} | "
                  f"{r['solve_s']:.2f} | {r['last_depth_s']:.2f} | {r['total_s']:.2f} |", flush=True)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
