#!/usr/bin/env python3
"""Lamport's TwoPhase: Spin and explorer side by side, in the same run, one N at a time.

    python bench/twophase_vs_spin.py                     # N = 6 7 8, batch backend, 1 repeat
    python bench/twophase_vs_spin.py --n 6 7 --repeat 3  # medians of 3
    python bench/twophase_vs_spin.py --backend interp    # the one-state-at-a-time engine (N <= 7)

For each N the two tools alternate (Spin then explorer, explorer then Spin on the next repeat), so
both see the same machine load. Spin is `../shared/peers/spin/run_spin.sh N` (its search time
excludes `spin -a` and gcc). Ours is `explorer.check("specs/lamport_twophase.py", params={"n": N},
backend=B).elapsed_s`: the search alone, after the spec is loaded. Each of our runs is its own
subprocess, so its peak RSS is that run's; bytes per state is (peak RSS - RSS before the search)
/ distinct states, an estimate of what the visited set and frontier cost.

Counts must agree: distinct states are equal, and Spin's "transitions" is TLC's "states
generated", which is our `transitions` + our initial states (DESIGN section 5). Any mismatch is
printed in capitals and makes the exit status 1. Machines here are shared and noisy: compare only
figures taken in the same run.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = "specs/lamport_twophase.py"
DEFAULT_SPIN = ROOT.parent / "shared" / "peers" / "spin" / "run_spin.sh"
SLOW_INTERP_N = 8  # the interp backend takes minutes from here on

CHILD = r"""
import json, resource, sys
import explorer
from explorer.api import load_model
n, backend, spec = int(sys.argv[1]), sys.argv[2], sys.argv[3]
load_model(spec, {"n": n})  # import and build once, so the baseline includes the loaded spec
base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    r = explorer.check(spec, params={"n": n}, backend=backend)
except explorer.UsageError as e:
    print(json.dumps({"usage_error": str(e)}))
    sys.exit(0)
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"states": r.distinct_states, "transitions": r.transitions, "initial": r.initial_states,
                  "seconds": r.elapsed_s, "backend": r.backend, "complete": r.complete,
                  "violations": [v.property for v in r.violations],
                  "base_mb": base_kb / 1024, "peak_mb": peak_kb / 1024}))
"""


def closed_form(n: int) -> tuple[int, int]:
    """Returns (distinct states, Spin transitions) of TwoPhase with n RMs (shared/peers/spin/README.md)."""
    states = 6**n + 4**n + 2**n
    generated = 2 + (n + 1) * 4**n + n * 2**n + 8 * n * 6 ** (n - 1)
    return states, generated


def run_ours(n: int, backend: str, timeout: float) -> dict:
    """Runs one search in a fresh Python process; returns its figures."""
    p = subprocess.run([sys.executable, "-c", CHILD, str(n), backend, SPEC], cwd=ROOT, capture_output=True,
                       text=True, timeout=timeout)
    if p.returncode != 0 or not p.stdout.strip():
        sys.exit(f"explorer failed on N={n} (exit {p.returncode}):\n{p.stderr.strip()}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def run_spin(n: int, script: Path, timeout: float) -> dict:
    """Runs run_spin.sh N; returns its figures (stdout: "N states transitions seconds memMB")."""
    p = subprocess.run(["bash", str(script), str(n)], capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        sys.exit(f"run_spin.sh {n} failed (exit {p.returncode}):\n{p.stderr.strip()}")
    _, states, trans, secs, mem = p.stdout.split()
    return {"states": int(states), "transitions": int(trans), "seconds": float(secs), "rss_mb": float(mem)}


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count())
    spin = subprocess.run(["spin", "-V"], capture_output=True, text=True).stdout.strip()
    try:
        import numpy
        np_v = f"numpy {numpy.__version__}, "
    except ImportError:
        np_v = ""
    rev = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                         text=True).stdout.strip() or "?"
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"machine: nproc {nproc}, {cpu}; Python {platform.python_version()}, {np_v}{spin or 'Spin ?'}; "
            f"explorer {rev}; {date}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[6, 7, 8], help="numbers of resource managers (6 7 8)")
    ap.add_argument("--backend", choices=("batch", "interp"), default="batch",
                    help="our successor engine (batch; falls back to interp when batch is not available)")
    ap.add_argument("--repeat", type=int, default=1, metavar="K", help="runs per tool and N; medians are printed")
    ap.add_argument("--spin-script", type=Path, default=DEFAULT_SPIN, help=f"default {DEFAULT_SPIN}")
    ap.add_argument("--allow-slow", action="store_true",
                    help=f"also run N >= {SLOW_INTERP_N} with the interp backend (minutes per run)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds allowed for one run of either tool")
    ap.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write every run as JSON")
    a = ap.parse_args(argv)
    if a.repeat < 1:
        ap.error("--repeat must be at least 1")

    missing = [t for t in ("spin", "gcc") if shutil.which(t) is None]
    if missing:
        print(f"{' and '.join(missing)} not found: Spin comes from Debian's package, install it with\n"
              f"    apt-get install -y spin gcc", file=sys.stderr)
        return 2
    if not a.spin_script.exists():
        print(f"{a.spin_script} not found: this script expects shared/ beside the project root "
              f"(or pass --spin-script PATH)", file=sys.stderr)
        return 2

    # Which backend really runs? Probe on a tiny N: batch may not be accepted, or may fall back itself.
    backend = a.backend
    probe = run_ours(2, backend, a.timeout)
    note = ""
    if "usage_error" in probe:
        note = f"backend {backend!r} is not accepted ({probe['usage_error'].splitlines()[0]}); using interp"
        backend = "interp"
    elif probe["backend"] != backend:
        note = f"backend {backend!r} was asked for but the engine ran {probe['backend']!r}; measuring interp"
        backend = "interp"
    ns = list(a.n)
    if backend == "interp" and not a.allow_slow:
        slow = [n for n in ns if n >= SLOW_INTERP_N]
        ns = [n for n in ns if n < SLOW_INTERP_N]
        if slow:
            note += ("; " if note else "") + (f"skipping N = {' '.join(map(str, slow))} with interp "
                                              f"(minutes per run; --allow-slow runs them)")

    print(machine())
    print(f"explorer backend: {backend}   repeats: {a.repeat} ({'medians' if a.repeat > 1 else 'single runs'})"
          f"   spin: {a.spin_script}")
    if note:
        print(f"NOTE: {note}")
    print()
    header = ("| N | states | transitions ours+init / Spin | ours s | Spin s | ours/Spin | ours states/s "
              "| Spin states/s | ours peak RSS MiB | ours B/state | Spin RSS MiB |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))

    runs: list[dict] = []
    bad = False
    for n in ns:
        ours_runs, spin_runs = [], []
        for k in range(a.repeat):
            order = ("spin", "ours") if k % 2 == 0 else ("ours", "spin")
            for tool in order:
                if tool == "spin":
                    spin_runs.append(run_spin(n, a.spin_script, a.timeout))
                else:
                    ours_runs.append(run_ours(n, backend, a.timeout))
        o, s = ours_runs[-1], spin_runs[-1]
        problems = []
        want_states, want_gen = closed_form(n)
        if len({(r["states"], r["transitions"]) for r in ours_runs}) > 1:
            problems.append("our counts differ between repeats")
        if o["states"] != s["states"]:
            problems.append(f"distinct states differ: ours {o['states']:,}, Spin {s['states']:,}")
        if o["transitions"] + o["initial"] != s["transitions"]:
            problems.append(f"transitions differ: ours {o['transitions']:,} + {o['initial']} initial "
                            f"= {o['transitions'] + o['initial']:,}, Spin {s['transitions']:,}")
        if (s["states"], s["transitions"]) != (want_states, want_gen):
            problems.append(f"Spin's counts are not the closed form ({want_states:,} states, {want_gen:,} generated)")
        if o["violations"] or not o["complete"]:
            problems.append(f"our run is not a clean complete search: violations {o['violations']}, "
                            f"complete {o['complete']}")
        t_ours = statistics.median(r["seconds"] for r in ours_runs)
        t_spin = statistics.median(r["seconds"] for r in spin_runs)
        peak = statistics.median(r["peak_mb"] for r in ours_runs)
        delta = statistics.median(r["peak_mb"] - r["base_mb"] for r in ours_runs)
        spin_rss = statistics.median(r["rss_mb"] for r in spin_runs)
        bps = delta * 2**20 / o["states"] if o["states"] else float("nan")
        ratio = t_ours / t_spin if t_spin > 0 else float("inf")
        sps = o["states"] / t_ours if t_ours > 0 else float("inf")
        spin_sps = s["states"] / t_spin if t_spin > 0 else float("inf")
        print(f"| {n} | {o['states']:,} | {o['transitions'] + o['initial']:,} / {s['transitions']:,} "
              f"| {t_ours:.3f} | {t_spin:.3f} | {ratio:.2f}x | {sps:,.0f} | {spin_sps:,.0f} "
              f"| {peak:.1f} | {bps:.0f} | {spin_rss:.1f} |", flush=True)
        for p in problems:
            bad = True
            print(f"!!! MISMATCH at N={n}: {p.upper()} !!!", flush=True)
        runs.append({"n": n, "backend": backend, "ours": ours_runs, "spin": spin_runs, "problems": problems,
                     "median": {"ours_s": t_ours, "spin_s": t_spin, "ratio": ratio, "ours_peak_mb": peak,
                                "ours_bytes_per_state": bps, "spin_rss_mb": spin_rss}})
    print()
    print("ours s = Result.elapsed_s (search alone); Spin s = ./pan wall time (no spin -a, no gcc); "
          "ours/Spin > 1 means we are slower.")
    print("transitions: Spin counts generated states = our transitions + initial states (TLC's rule).")
    if a.json:
        a.json.write_text(json.dumps({"machine": machine(), "note": note, "runs": runs}, indent=1))
        print(f"wrote {a.json}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
