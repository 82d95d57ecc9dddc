"""Writes the diagrams docs/tutorial.md embeds: `python docs/make_images.py` (from the repository root)."""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = {
    "twopc_no_durable_log": ["specs/twopc.py", "--param", "variant=no_durable_log", "--faults", "crash=1"],
    "quorum_one": ["specs/quorum.py", "--param", "preset=one"],
    "raft_quorum_seed": ["specs/raft.py", "--param", "n=4", "--param", "quorum=seed"],
}

for name, args in RUNS.items():
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "explorer.cli", *args, "--out", out], cwd=ROOT, capture_output=True)
        svgs = sorted(Path(out).glob("*.svg"))
        if not svgs:
            sys.exit(f"{name}: no SVG written (is a Graphviz renderer installed?)")
        shutil.copy(svgs[0], ROOT / "docs" / "img" / f"{name}.svg")
        print(f"docs/img/{name}.svg")
