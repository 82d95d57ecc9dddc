#!/usr/bin/env python3
"""TwoPhase with 1 and 2 worker processes (`--workers`) and Spin, side by side in one run.

    python bench/workers.py                    # N = 8, workers 1 and 2, Spin; 3 rounds, medians
    python bench/workers.py --n 7 --rounds 1   # quicker
    python bench/workers.py --workers 1 2 3    # more worker counts
    python bench/workers.py --profile          # also CPU seconds per phase, parent and workers
    python bench/workers.py --profile --one-core   # every process on one CPU: CPU figures without contention

CPU-time figures do not depend on the load the way wall-clock ones do. For each worker count the
table gives the CPU seconds of all processes; with --profile, also the parent's serial CPU (what it
does while the workers wait: adopting their answers, joining the ranges, the small levels, the
checks) and the critical path estimated from CPU time: per split level the longer of the parent's
concurrent part and the slowest worker's range, plus the serial part. The serial fraction is the
serial CPU over the 1-worker run's CPU.

--one-core runs every process of ours on one CPU (sched_setaffinity; the workers inherit it), so that
the processes take turns instead of running together. Wall-clock figures then mean nothing, but the
CPU figures leave out what two processes running at once cost each other (memory bandwidth, caches)
and what other jobs on a shared machine add to the run that overlaps them: the critical path is
then what the split itself costs. Compare it with a run without the flag to see the contention.

Each round runs every configuration once, in a rotating order (so a burst of load on the shared
machine does not always hit the same one), each in its own Python process. Ours is
`explorer.check("specs/lamport_twophase.py", params={"n": N}, workers=W).elapsed_s`, the search
alone; Spin is `../shared/peers/spin/run_spin.sh N` (./pan only). The 1-minute load average is
printed before and after every round: on a 2-core machine a speed-up over 1 worker needs the second
core free, so figures taken at load > 1 understate it. Counts must be identical for every worker
count and equal the closed form (and Spin's); any mismatch is printed in capitals, exit status 1.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from twophase_vs_spin import DEFAULT_SPIN, ROOT, SPEC, closed_form, machine, run_spin  # noqa: E402

CHILD = r"""
import glob, json, os, sys, tempfile, time
n, workers, spec = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
where = tempfile.mkdtemp(prefix="explorer-profile-")
os.environ["EXPLORER_POOL_PROFILE"] = os.path.join(where, "p")  # pool.py writes CPU per phase there
import explorer
from explorer.engine.batch import BatchSearch
search_cpu = []
run = BatchSearch.run
def timed(self):
    t = time.process_time()
    try:
        return run(self)
    finally:
        search_cpu.append(time.process_time() - t)
BatchSearch.run = timed  # the search alone (the pool's parent times the same span)
t0 = os.times()
r = explorer.check(spec, params={"n": n}, workers=workers)
t1 = os.times()
cpu = (t1.user + t1.system + t1.children_user + t1.children_system) - (t0.user + t0.system)
profiles = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(where, "p.*.json")))]
print(json.dumps({"states": r.distinct_states, "transitions": r.transitions, "initial": r.initial_states,
                  "depth": r.depth, "seconds": r.elapsed_s, "cpu_s": cpu, "backend": r.backend,
                  "complete": r.complete, "violations": [v.property for v in r.violations],
                  "peak_mb": r.peak_rss_mb, "profiles": profiles, "search_cpu": search_cpu[-1]}))
"""


def run_ours(n: int, workers: int, timeout: float, one_core: bool = False) -> dict:
    cpus = sorted(os.sched_getaffinity(0))[-1:] if one_core else None
    p = subprocess.run([sys.executable, "-c", CHILD, str(n), str(workers), SPEC], cwd=ROOT, capture_output=True,
                       text=True, timeout=timeout, preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    if p.returncode != 0 or not p.stdout.strip():
        sys.exit(f"explorer failed on N={n}, workers={workers} (exit {p.returncode}):\n{p.stderr.strip()}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def critical_path(run: dict) -> dict | None:
    """CPU-time figures of one pool run (None for 1 worker): serial CPU, the critical path, phases."""
    parent = [p for p in run.get("profiles", []) if not p["worker"]]
    if not parent:
        return None
    p = parent[0]
    levels = p["levels"]  # (frontier, parent's share, parent CPU while workers work, slowest worker's CPU)
    concurrent = sum(lv[2] for lv in levels) + p["phases"].get("send tasks", 0.0)
    serial = p["phases"]["parent total"] - concurrent
    return {"serial": serial, "path": serial + sum(max(lv[2], lv[3]) for lv in levels), "phases": p["phases"],
            "workers": [q["phases"] for q in run["profiles"] if q["worker"]]}


def print_profiles(runs: dict, counts: list[int]) -> None:
    one = statistics.median(r["search_cpu"] for r in runs[counts[0]]) if counts[0] == 1 else None
    print()
    print("| workers | search CPU s, parent | parent serial CPU s | serial fraction | critical path s (CPU) | "
          "1-worker search CPU / critical path |")
    print("|---|---|---|---|---|---|")
    for c in counts:
        cps = [cp for cp in (critical_path(r) for r in runs[c]) if cp]
        cpu = statistics.median(r["search_cpu"] for r in runs[c])
        if not cps:
            print(f"| {c} | {cpu:.2f} | {cpu:.2f} | 100% | {cpu:.2f} | 1.00x |")
            continue
        serial = statistics.median(cp["serial"] for cp in cps)
        path = statistics.median(cp["path"] for cp in cps)
        frac = f"{serial / one:.1%}" if one else "-"
        ratio = f"{one / path:.2f}x" if one else "-"
        print(f"| {c} | {cpu:.2f} | {serial:.2f} | {frac} | {path:.2f} | {ratio} |")
    for c in counts:
        for cp in (critical_path(r) for r in runs[c][-1:]):
            if cp:
                print(f"\n{c} workers, last round, CPU s per phase: parent " + ", ".join(
                    f"{k} {v:.3f}" for k, v in cp["phases"].items()))
                for w in cp["workers"]:
                    print("  worker " + ", ".join(f"{k.removeprefix('worker: ')} {v:.3f}" for k, v in w.items()))


def load() -> float:
    return os.getloadavg()[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=8, help="resource managers (8)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (1 2)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds; medians are printed (3)")
    ap.add_argument("--no-spin", action="store_true", help="skip Spin")
    ap.add_argument("--spin-script", type=Path, default=DEFAULT_SPIN)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--json", type=Path, default=None, metavar="FILE")
    ap.add_argument("--profile", action="store_true", help="print CPU seconds per phase (parent and workers)")
    ap.add_argument("--one-core", action="store_true",
                    help="run ours on one CPU: CPU figures without the contention between processes (wall-clock meaningless)")
    a = ap.parse_args(argv)
    if a.rounds < 1 or min(a.workers) < 1:
        ap.error("--rounds and --workers must be at least 1")
    configs: list[str | int] = list(a.workers) + ([] if a.no_spin else ["spin"])
    runs: dict[str | int, list[dict]] = {c: [] for c in configs}
    loads = []
    print(machine() + ("; --one-core: every process of ours on one CPU" if a.one_core else ""))
    for k in range(a.rounds):
        before = load()
        order = configs[k % len(configs):] + configs[:k % len(configs)]
        for c in order:
            runs[c].append(run_spin(a.n, a.spin_script, a.timeout) if c == "spin" else run_ours(a.n, c, a.timeout, a.one_core))
        loads.append((before, load()))
        print(f"round {k + 1}: load {before:.2f} -> {loads[-1][1]:.2f}; " + ", ".join(
            f"{c}: {runs[c][-1]['seconds']:.2f}s" for c in configs), flush=True)
    states, generated = closed_form(a.n)
    problems = []
    for c in a.workers:
        for r in runs[c]:
            if (r["states"], r["transitions"] + r["initial"]) != (states, generated) or r["violations"]:
                problems.append(f"workers={c}: {r['states']:,} states, {r['transitions']:,} transitions, "
                                f"violations {r['violations']} (closed form {states:,}, {generated - 1:,})")
    if not a.no_spin:
        for r in runs["spin"]:
            if (r["states"], r["transitions"]) != (states, generated):
                problems.append(f"Spin: {r['states']:,} states, {r['transitions']:,} generated")
    med = {c: statistics.median(r["seconds"] for r in runs[c]) for c in configs}
    one = med[a.workers[0]]
    spin_s = med.get("spin")
    print()
    print("| N | workers | states | ours s | speed-up over 1 | CPU s (all processes) | ours/Spin | Spin s |")
    print("|---|---|---|---|---|---|---|---|")
    for c in a.workers:
        cpu = statistics.median(r["cpu_s"] for r in runs[c])
        ratio = f"{med[c] / spin_s:.2f}x" if spin_s else "-"
        print(f"| {a.n} | {c} | {runs[c][-1]['states']:,} | {med[c]:.2f} | {one / med[c]:.2f}x | {cpu:.2f} "
              f"| {ratio} | {spin_s:.2f} |" if spin_s else
              f"| {a.n} | {c} | {runs[c][-1]['states']:,} | {med[c]:.2f} | {one / med[c]:.2f}x | {cpu:.2f} | - | - |")
    print()
    print(f"load (1 min) per round, before -> after: {', '.join(f'{b:.2f}->{e:.2f}' for b, e in loads)}")
    if a.profile:
        print_profiles(runs, a.workers)
    for p in problems:
        print(f"!!! MISMATCH: {p.upper()} !!!")
    if a.json:
        a.json.write_text(json.dumps({"machine": machine(), "runs": {str(c): v for c, v in runs.items()},
                                      "loads": loads, "problems": problems}, indent=1))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
