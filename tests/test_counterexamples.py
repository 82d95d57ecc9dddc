"""The committed counterexamples (counterexamples/, written by `explore check specs/ --save counterexamples/`).

Every saved trace must replay against the current spec to the verdict it records, and every folder
must hold each format a student may open. When a spec changes so that a trace no longer replays,
regenerate the folder (counterexamples/README.md) rather than editing it.
"""
from __future__ import annotations

import json

import pytest

from explorer.engine.result import EXIT_DEADLOCK, EXIT_LIVENESS, EXIT_SAFETY
from explorer.replay import replay_file
from explorer.trace.dot import find_renderer

from .conftest import ROOT, explore

FOLDER = ROOT / "counterexamples"
TRACES = sorted(p for p in FOLDER.glob("*/*/*.json") if not p.name.endswith(".itf.json"))
IDS = [str(p.relative_to(FOLDER)) for p in TRACES]
EXPECTED_EXIT = {"invariant": EXIT_SAFETY, "action_invariant": EXIT_SAFETY, "deadlock": EXIT_DEADLOCK,
                 "liveness": EXIT_LIVENESS}


def test_the_folder_has_a_readme_and_at_least_the_twopc_bug():
    assert (FOLDER / "README.md").exists()
    assert (FOLDER / "twopc" / "no_durable_log" / "atomicity.json").exists()


@pytest.mark.parametrize("path", TRACES, ids=IDS)
def test_every_saved_trace_replays_to_the_violation_it_records(path):
    data = json.loads(path.read_text())
    code, message = replay_file(str(path), str(ROOT / data["spec_file"]))
    assert code == EXPECTED_EXIT[data["kind"]], message
    if data["kind"] == "liveness":
        assert message.startswith(f"still violates {data['property']}"), message
    elif data["kind"] != "deadlock":
        assert message.startswith(f"still violates {data['property']} at step {len(data['steps'])}"), message


@pytest.mark.parametrize("path", [p for p in TRACES if json.loads(p.read_text())["kind"] == "liveness"],
                         ids=lambda p: str(p.relative_to(FOLDER)))
def test_every_saved_lasso_still_replays_step_by_step(path):
    from explorer.replay import load_and_replay

    data = json.loads(path.read_text())
    _model, _data, trace, _states, failed_at = load_and_replay(str(path), str(ROOT / data["spec_file"]))
    assert failed_at is None and trace.length == len(data["steps"])


@pytest.mark.parametrize("path", TRACES, ids=IDS)
def test_every_folder_holds_every_format(path):
    stem = path.name[:-5]
    want = [".txt", ".json", ".itf.json", ".dot", ".mmd", ".html"]
    if find_renderer():
        want += [".svg", ".png"]
    for suffix in want:
        assert (path.parent / f"{stem}{suffix}").stat().st_size > 0, suffix
    itf = json.loads((path.parent / f"{stem}.itf.json").read_text())
    assert itf["#meta"]["format"] == "ITF" and len(itf["states"]) == len(json.loads(path.read_text())["steps"]) + 1


def test_the_folder_names_are_the_ones_the_gate_writes(tmp_path):
    from explorer.counterexamples import folder_names
    from explorer.dsl.loader import load_module, spec_classes

    expected = set()
    for spec in sorted((ROOT / "specs").glob("*.py")):
        try:
            classes = spec_classes(load_module(spec))
        except Exception:  # noqa: BLE001 - a spec another test reports as broken
            continue
        for cls in classes:
            expected |= {f"{spec.stem}/{n}" for n in folder_names(list(cls.checks or [])) if n}
    saved = {f"{p.parent.parent.name}/{p.parent.name}" for p in TRACES}
    assert saved <= expected, f"folders no check would write: {sorted(saved - expected)}"


@pytest.mark.slow
def test_regenerating_the_twopc_counterexamples_gives_the_committed_traces(tmp_path):
    run = explore("check", ROOT / "specs" / "twopc.py", "--save", tmp_path)
    for new in tmp_path.glob("*/*/*.json"):
        if new.name.endswith(".itf.json"):
            continue
        old = FOLDER / new.relative_to(tmp_path)
        assert old.exists(), f"{new.relative_to(tmp_path)} is not committed: regenerate counterexamples/"
        steps = lambda p: [(s["action"], s["decisions"]) for s in json.loads(p.read_text())["steps"]]  # noqa: E731
        assert steps(new) == steps(old), new
    assert run.code in (0, 1), run


def test_folder_names_are_the_name_the_variant_or_the_parameters_and_never_clash():
    from explorer.counterexamples import folder_names
    from explorer.dsl.expect import holds, violates

    checks = [violates("a", params={"variant": "x"}), violates("b", params={"variant": "x"}),
              violates("a", params={"r": 1, "n": 2}), holds(), violates("a", name="named"),
              violates("a", params={"script": ("w", "rr")}), violates("a", params={"script": ("w", "rr")})]
    assert folder_names(checks) == ["x-a", "x-b", "n=2-r=1", None, "named", "script=w,rr-a", "script=w,rr-a-2"]


@pytest.mark.parametrize("path", TRACES, ids=IDS)
def test_every_saved_trace_matches_the_published_json_schema(path):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "docs" / "trace.schema.json").read_text())
    jsonschema.validate(json.loads(path.read_text()), schema)
