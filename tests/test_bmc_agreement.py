"""BMC and the explicit engine agree on every catalog spec small enough for both (issue 6, section 3).

Agreement: the same verdict, and for a violation the same property and the same shortest length
(BFS explores level by level, BMC asks Z3 depth by depth); BMC to the explicit search's depth (the
diameter, when it is complete) proves what BFS proves, and one step short of a counterexample it
finds nothing. Specs the symbolic engines cannot map are refused with a message naming the field
or construct: timed specs (zones), specs whose opaque fields explode into thousands of symbolic
paths (Paxos's `msgs`), and actor specs whose handlers fail on the over-approximated states
(quorum's history). Actor specs are mapped otherwise (the network as a sparse dict of counters);
tests/test_bmc_catalog.py checks the agreement on chosen small configurations.

The catalog is read at collection time, so a spec added to specs/ is checked here too: as a plain
spec it must agree or be refused by name (slow, it may take a while), as a timed spec it must be
refused at once; an actor spec, like a plain one, agrees or is refused by name (slow).
"""
from __future__ import annotations

import pytest

import explorer
from explorer.actors import Protocol
from explorer.dsl.loader import load_module, spec_classes
from explorer.errors import SpecError
from explorer.timed.spec import TimedSpec

from .conftest import SPECS, explore

MAPPED = {"lamport_twophase"}  # plain specs whose fields map to Z3: full agreement checks, fast
TOO_BRANCHY = {"paxos": "msgs", "raft": "log["}  # refused after the path guard: the opaque field named


def _catalog() -> list[tuple[str, type, object]]:
    out = []
    for path in sorted(SPECS.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:  # a spec being written may not load yet: tests/test_catalog_consistency.py reports that
            classes = spec_classes(load_module(path))
        except Exception:  # noqa: BLE001
            continue
        for cls in classes:
            for chk in getattr(cls, "checks", None) or [None]:
                out.append((path.stem, cls, chk))
    return out


CATALOG = _catalog()


def _id(item) -> str:
    stem, cls, chk = item
    return f"{stem}:{chk.name or chk.describe()}" if chk is not None else stem


def _kind(stem: str, cls: type) -> str:
    if issubclass(cls, Protocol):
        return "actor"
    if issubclass(cls, TimedSpec):
        return "timed"
    return "mapped" if stem in MAPPED else "plain"


def _run(cls, chk, **kw):
    params = dict(chk.params) if chk is not None else {}
    faults = chk.faults if chk is not None else None
    return explorer.check(cls, params=params, faults=faults, **kw)


def _agree(cls, chk) -> None:
    bfs = _run(cls, chk, depth=chk.depth if chk is not None else None)
    safety = [v for v in bfs.violations if v.kind != "liveness"]  # BMC checks safety; a lasso is not its job
    if safety:
        v = safety[0]
        bmc = _run(cls, chk, engine="bmc", depth=v.length)
        assert [(w.property, w.kind, w.length) for w in bmc.violations] == [(v.property, v.kind, v.length)]
        shorter = _run(cls, chk, engine="bmc", depth=v.length - 1)
        assert shorter.result == "ok", "BMC found a counterexample shorter than BFS's shortest"
    else:
        assert bfs.complete and all(v.kind == "liveness" for v in bfs.violations)
        bmc = _run(cls, chk, engine="bmc", depth=bfs.depth)
        assert bmc.result == "ok" and bmc.symbolic["proved_up_to_depth"] == bfs.depth


def _params():
    out = []
    for item in CATALOG:
        stem, cls, chk = item
        kind = _kind(stem, cls)
        marks = [pytest.mark.slow] if kind in ("plain", "actor") else []
        out.append(pytest.param(stem, cls, chk, kind, marks=marks, id=_id(item)))
    return out


@pytest.mark.parametrize(("stem", "cls", "chk", "kind"), _params())
def test_bmc_agrees_with_the_explicit_engine_or_refuses_the_spec_by_name(stem, cls, chk, kind):
    if kind == "mapped":
        _agree(cls, chk)
        return
    if kind in ("plain", "actor"):  # it may map (then it must agree) or be refused naming a field or action
        try:  # the refusal comes while deriving the relation, from the first seed states or deeper ones
            _run(cls, chk, engine="bmc", depth=1)
            _agree(cls, chk)
        except SpecError as e:
            text = str(e)
            if "timed spec" in text and "zones" in text:  # a timed mode of it (raft timing=true, timed actors)
                return
            if kind == "plain":
                named = TOO_BRANCHY.get(stem, "field") in text
            else:  # an actor spec is refused naming the handler that forks, or a field (cap's network)
                named = "action" in text or "field" in text
            assert named and ("paths" in text or "field" in text or "action" in text), text
        return
    with pytest.raises(SpecError) as e:
        _run(cls, chk, engine="bmc", depth=3)
    text = str(e.value)
    assert "timed spec" in text and "zones" in text


def test_the_catalog_has_the_spec_kinds_this_file_expects():
    kinds = {stem: _kind(stem, cls) for stem, cls, _ in CATALOG}
    assert kinds["lamport_twophase"] == "mapped" and kinds["quorum"] == "actor" and kinds["twopc"] == "actor"
    assert {kinds[s] for s in TOO_BRANCHY if s in kinds} <= {"plain"}


def test_an_actor_spec_bmc_cannot_map_exits_3_naming_the_handler_and_no_traceback():
    # quorum's client indexes its history: on an over-approximated state (an Ack with no write begun)
    # the handler raises, so the spec is refused, naming the line and the state
    run = explore(SPECS / "quorum.py", "--engine", "bmc", "--depth", "4", "--no-progress")
    assert run.code == 3 and "quorum.py:77" in run.err and "c.history" in run.err, run
    assert "Traceback" not in run.err, run
    run = explore(SPECS / "quorum.py", "--engine", "induction", "--json")
    assert run.code == 3 and "symbolic values" in run.err and "Traceback" not in run.err, run
