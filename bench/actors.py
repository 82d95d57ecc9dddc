#!/usr/bin/env python3
"""Actor specs with faults, reductions on and off, against TwoPhase's rate at an equal state count.

    python bench/actors.py                          # the default rows, 60 s per row at most
    python bench/actors.py --limit 20               # shorter (rows stopped by the limit say so)
    python bench/actors.py --markdown               # the table docs/performance.md keeps
    python bench/actors.py --only "twopc n=4 loss=1,crash=1" --repeat 5   # issue 7's row alone, 5 rounds

Issue 7's target: twopc.py (actors, n = 4, `--faults loss=1,crash=1`) explores at least half as many
states per second as the batched engine does on Lamport's TwoPhase (a plain spec) at an equal state
count. Each run is a subprocess: the model is built first, the safety search alone is timed (liveness
is left out: it builds a second graph), wall-clock and CPU (process time) apart. TwoPhase's state
count is 6^N + 4^N + 2^N, so no N matches a row's count: TwoPhase runs at the two N whose counts
bracket it (N=7: 296,448 and N=8: 1,745,408 for twopc n=4's 614,957), in the same round, and its
rate at the row's count is interpolated linearly in log(states) between the two (the nearest N
alone when the count is outside N=2..9). The ratio is the row's rate over that interpolated rate;
the CPU ratio (states per CPU second) moves less with the machine's load. With --repeat K each row
and its TwoPhase runs are repeated K times, alternating, and the median ratio is reported with the
smallest and largest. A row stopped by the time limit has a partial count; its rate is still the
search's rate.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
from explorer.api import load_model, run_model
from explorer.engine.options import Options
from explorer.errors import UsageError
spec, params, faults, opts = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3] or None, json.loads(sys.argv[4])
model, spec_file = load_model(spec, params, faults)
model.liveness = []  # safety search only: liveness builds its own graph (docs/liveness.md)
cpu = time.process_time()
try:
    r = run_model(model, Options(**opts), spec_file=spec_file)
    cpu = time.process_time() - cpu
except UsageError as e:
    print(json.dumps({"usage_error": str(e)}))
    sys.exit(0)
print(json.dumps({"states": r.distinct_states, "transitions": r.transitions, "seconds": r.elapsed_s, "cpu": cpu,
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


def twophase_states(n: int) -> int:
    return 6**n + 4**n + 2**n


def bracket(states: int) -> tuple[int, int]:
    """The TwoPhase N (2..9) whose counts bracket `states` (the same N twice outside that range)."""
    ns = range(2, 10)
    lo = max([n for n in ns if twophase_states(n) <= states], default=2)
    hi = min([n for n in ns if twophase_states(n) >= states], default=9)
    return lo, hi


def at_count(states: int, lo: int, hi: int, rate_lo: float, rate_hi: float) -> float:
    """TwoPhase's rate at `states`, linear in log(states) between its rates at N=lo and N=hi."""
    if lo == hi:
        return rate_lo
    a, b = math.log(twophase_states(lo)), math.log(twophase_states(hi))
    w = min(1.0, max(0.0, (math.log(max(states, 1)) - a) / (b - a)))
    return rate_lo + w * (rate_hi - rate_lo)


def rates(r: dict) -> tuple[float, float]:
    """(states per wall second, states per CPU second) of a run."""
    return (r["states"] / r["seconds"] if r.get("seconds") else 0.0,
            r["states"] / r["cpu"] if r.get("cpu") else 0.0)


def spread(xs: list[float]) -> str:
    """The median of sorted `xs`, with its smallest and largest when there are several."""
    return f"{statistics.median(xs):.3f}" + (f" ({xs[0]:.3f}-{xs[-1]:.3f})" if len(xs) > 1 else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=float, default=60.0, help="seconds per row at most (default 60)")
    ap.add_argument("--markdown", action="store_true", help="print the table as markdown")
    ap.add_argument("--only", default=None,
                    help="run the rows whose label contains this text (only that row if a label is exactly it)")
    ap.add_argument("--repeat", type=int, default=1, help="paired rounds per row (median ratio reported)")
    a = ap.parse_args()
    load = os.getloadavg()[0]
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = (f"machine: {platform.processor() or platform.machine()}, nproc {os.cpu_count()}, "
            f"Python {platform.python_version()}; {when}; load {load:.1f} at start; TwoPhase's rate interpolated "
            f"at each row's state count between the two N that bracket it; {a.repeat} round(s) per row")
    table = []
    exact = any(a.only == row[0] for row in rows(a.limit))
    for label, spec, params, faults, opts in rows(a.limit):
        if a.only and (a.only != label if exact else a.only not in label):
            continue
        rounds = []
        for _ in range(max(1, a.repeat)):
            r = run(spec, params, faults, opts)
            if "states" not in r:
                break
            lo, hi = bracket(r["states"])
            refs = {n: run("specs/lamport_twophase.py", {"n": n}, None, {"backend": "batch"}) for n in {lo, hi}}
            (wl, cl), (wh, ch) = rates(refs[lo]), rates(refs[hi])
            w, c = rates(r)
            tw, tc = at_count(r["states"], lo, hi, wl, wh), at_count(r["states"], lo, hi, cl, ch)
            rounds.append((r, lo, hi, tw, tc, w / tw if tw else 0.0, c / tc if tc else 0.0))
            print(f"{label}: {r['states']:,} states in {r['seconds']:.2f} s, {r['cpu']:.2f} s CPU ({w:,.0f}/s, "
                  f"{c:,.0f}/CPU s{'' if r['complete'] else ', stopped by the limit'}); TwoPhase N={lo}: "
                  f"{wl:,.0f}/s {cl:,.0f}/CPU s, N={hi}: {wh:,.0f}/s {ch:,.0f}/CPU s, at this count "
                  f"{tw:,.0f}/s {tc:,.0f}/CPU s; ratio {rounds[-1][5]:.3f}, CPU ratio {rounds[-1][6]:.3f}",
                  file=sys.stderr)
        if not rounds:
            table.append((label, r.get("usage_error") or r.get("error"), None))
            print(f"{label}: {table[-1][1]}", file=sys.stderr)
            continue
        table.append((label, rounds[len(rounds) // 2][0], rounds))
    print(head)
    if a.markdown:
        print("\n| run | states | complete | s | states/s | TwoPhase N: states/s at this count | ratio | CPU ratio "
              "| POR reduced/full states |")
        print("|---|---|---|---|---|---|---|---|---|")
    for label, r, rounds in table:
        if rounds is None:
            print(f"| {label} | {r} | | | | | | | |" if a.markdown else f"{label}: {r}")
            continue
        ratios = sorted(x[5] for x in rounds)
        cpu_ratios = sorted(x[6] for x in rounds)
        mid = rounds[len(rounds) // 2]
        r, lo, hi, tw = mid[0], mid[1], mid[2], statistics.median(x[3] for x in rounds)
        w = statistics.median(rates(x[0])[0] for x in rounds)
        secs = statistics.median(x[0]["seconds"] for x in rounds)
        por = r.get("por")
        por_s = f"{por['reduced_states']:,}/{por['full_states']:,}" if por else ""
        ns = f"N={lo}" if lo == hi else f"N={lo}..{hi}"
        if a.markdown:
            print(f"| {label} | {r['states']:,} | {'yes' if r['complete'] else 'no (limit)'} | {secs:.2f} | "
                  f"{w:,.0f} | {ns}: {tw:,.0f} | {spread(ratios)} | {spread(cpu_ratios)} | {por_s} |")
        else:
            print(f"{label:50} {r['states']:>10,} {secs:7.2f} s {w:>9,.0f}/s  TwoPhase {ns} {tw:>10,.0f}/s  "
                  f"ratio {spread(ratios)}  CPU ratio {spread(cpu_ratios)}  {por_s}")
    print(f"load {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
