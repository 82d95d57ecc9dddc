#!/usr/bin/env python3
"""Actor specs with faults, reductions on and off, against TwoPhase's rate at an equal state count.

    python bench/actors.py                 # the default rows, 60 s per row at most
    python bench/actors.py --limit 20      # shorter (rows stopped by the limit say so)
    python bench/actors.py --markdown      # the table docs/performance.md keeps

Issue 7's target: twopc.py (actors, n = 4, `--faults loss=1,crash=1`) explores at least half as many
states per second as the batched engine does on Lamport's TwoPhase (a plain spec) with about as many
states. Each row runs in its own subprocess: the model is built first, the safety search alone is
timed (liveness is left out: it builds a second graph), then TwoPhase runs with the N whose closed
form 6^N + 4^N + 2^N is nearest the row's state count, in the same run, so both see the same load.
A row stopped by the time limit has a partial count; its rate is still the search's rate.
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

CHILD = r"""
import json, sys
from explorer.api import load_model, run_model
from explorer.engine.options import Options
from explorer.errors import UsageError
spec, params, faults, opts = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3] or None, json.loads(sys.argv[4])
model, spec_file = load_model(spec, params, faults)
model.liveness = []  # safety search only: liveness builds its own graph (docs/liveness.md)
try:
    r = run_model(model, Options(**opts), spec_file=spec_file)
except UsageError as e:
    print(json.dumps({"usage_error": str(e)}))
    sys.exit(0)
print(json.dumps({"states": r.distinct_states, "transitions": r.transitions, "seconds": r.elapsed_s,
                  "complete": r.complete, "backend": r.backend, "por": r.options.get("por"),
                  "violations": sorted({v.property for v in r.violations})}))
"""


def rows(limit: float) -> list[tuple[str, str, dict, str | None, dict]]:
    """(label, spec, params, faults, options) of each row."""
    lf = "loss=1,crash=1"
    base = {"time_limit": limit, "max_violations": 1}
    return [
        ("twopc n=4 " + lf, "specs/twopc.py", {"n": 4}, lf, {**base}),
        ("twopc n=4 " + lf + " --backend interp", "specs/twopc.py", {"n": 4}, lf, {**base, "backend": "interp"}),
        ("twopc n=4 " + lf + " --por", "specs/twopc.py", {"n": 4}, lf, {**base, "por": True}),
        ("twopc n=4 " + lf + " --symmetry", "specs/twopc.py", {"n": 4}, lf, {**base, "symmetry": True}),
        ("twopc n=3 " + lf, "specs/twopc.py", {"n": 3}, lf, {**base}),
        ("twopc n=3 " + lf + " --por", "specs/twopc.py", {"n": 3}, lf, {**base, "por": True}),
        ("twopc n=3 " + lf + " --symmetry", "specs/twopc.py", {"n": 3}, lf, {**base, "symmetry": True}),
        ("twopc n=2 " + lf, "specs/twopc.py", {"n": 2}, lf, {**base}),
        ("twopc n=2 " + lf + " --por", "specs/twopc.py", {"n": 2}, lf, {**base, "por": True}),
        ("twopc n=2 " + lf + " --symmetry", "specs/twopc.py", {"n": 2}, lf, {**base, "symmetry": True}),
        ("twopc n=3 (no faults)", "specs/twopc.py", {"n": 3}, None, {**base}),
        ("twopc n=3 (no faults) --por", "specs/twopc.py", {"n": 3}, None, {**base, "por": True}),
        ("raft n=3 (plain spec: no fault vocabulary)", "specs/raft.py", {}, None, {**base}),
        ("raft n=3 --backend interp", "specs/raft.py", {}, None, {**base, "backend": "interp"}),
    ]


def run(spec: str, params: dict, faults: str | None, opts: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, spec, json.dumps(params), faults or "", json.dumps(opts)],
                         cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def twophase_n(states: int) -> int:
    """The N (2..9) whose TwoPhase count 6^N + 4^N + 2^N is nearest `states` (in ratio)."""
    import math

    return min(range(2, 10), key=lambda n: abs(math.log(6**n + 4**n + 2**n) - math.log(max(states, 1))))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=float, default=60.0, help="seconds per row at most (default 60)")
    ap.add_argument("--markdown", action="store_true", help="print the table as markdown")
    ap.add_argument("--only", default=None, help="run the rows whose label contains this text")
    a = ap.parse_args()
    load = os.getloadavg()[0]
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = (f"machine: {platform.processor() or platform.machine()}, nproc {os.cpu_count()}, "
            f"Python {platform.python_version()}; {when}; load {load:.1f} at start")
    ref: dict[int, dict] = {}
    table = []
    for label, spec, params, faults, opts in rows(a.limit):
        if a.only and a.only not in label:
            continue
        r = run(spec, params, faults, opts)
        if "states" not in r:
            table.append((label, r.get("usage_error") or r.get("error"), None, None))
            print(f"{label}: {table[-1][1]}", file=sys.stderr)
            continue
        n = twophase_n(r["states"])
        if n not in ref:
            ref[n] = run("specs/lamport_twophase.py", {"n": n}, None, {"backend": "batch"})
        t = ref[n]
        rate = r["states"] / r["seconds"] if r["seconds"] else 0.0
        trate = t["states"] / t["seconds"] if t.get("seconds") else 0.0
        table.append((label, r, (n, t, trate), rate / trate if trate else None))
        print(f"{label}: {r['states']:,} states in {r['seconds']:.1f} s ({rate:,.0f}/s"
              f"{'' if r['complete'] else ', stopped by the limit'}); TwoPhase N={n} batch "
              f"{t.get('states', 0):,} in {t.get('seconds', 0):.2f} s ({trate:,.0f}/s); ratio {table[-1][3] or 0:.4f}",
              file=sys.stderr)
    print(head)
    if a.markdown:
        print("\n| run | states | complete | s | states/s | TwoPhase (batch) N: states/s | ratio | POR reduced/full states |")
        print("|---|---|---|---|---|---|---|---|")
    for label, r, tref, ratio in table:
        if tref is None:
            print(f"| {label} | {r} | | | | | | |" if a.markdown else f"{label}: {r}")
            continue
        n, t, trate = tref
        rate = r["states"] / r["seconds"] if r["seconds"] else 0.0
        por = r.get("por")
        por_s = f"{por['reduced_states']:,}/{por['full_states']:,}" if por else ""
        if a.markdown:
            print(f"| {label} | {r['states']:,} | {'yes' if r['complete'] else 'no (limit)'} | {r['seconds']:.1f} | "
                  f"{rate:,.0f} | N={n}: {trate:,.0f} | {ratio:.4f} | {por_s} |")
        else:
            print(f"{label:50} {r['states']:>10,} {r['seconds']:7.1f} s {rate:>9,.0f}/s  "
                  f"TwoPhase N={n} {trate:>10,.0f}/s  ratio {ratio:.4f}  {por_s}")
    print(f"load {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
