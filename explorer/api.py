"""The library entry point the CLI, tests and notebooks share: `explorer.check(...) -> Result`."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .dsl.loader import load_spec
from .dsl.spec import Spec
from .engine.options import Options
from .engine.result import Result
from .engine.search import Search


def load_model(spec: str | Path | type[Spec], params: dict[str, Any] | None = None, faults: Any = None):
    """Returns (model, spec_file) for a spec path, `path::Class`, or a Spec class."""
    if isinstance(spec, (str, Path)):
        cls = load_spec(spec)
        spec_file = str(spec).split("::")[0]
    else:
        cls = spec
        spec_file = None
    return cls.build_model(params or {}, faults), spec_file


def check(spec: str | Path | type[Spec], *, params: dict[str, Any] | None = None, faults: Any = None,
          options: Options | None = None, progress: Callable[[str], None] | None = None,
          engine: str = "explicit", **opts: Any) -> Result:
    """Explores a spec and returns its Result.

    `opts` are Options fields: depth, max_states, time_limit, strategy, deadlock, max_violations, seed.
    `engine="bmc"` (needs `depth`) or `"induction"` checks the invariants with Z3 (explorer.symbolic).
    >>> check("specs/lamport_twophase.py", params={"n": 3}).distinct_states
    288
    """
    o = (options or Options()).but(**opts) if opts else (options or Options())
    model, spec_file = load_model(spec, params, faults)
    if engine != "explicit":
        from .symbolic import run_symbolic

        return run_symbolic(model, engine, o, spec_file=spec_file, progress=progress)
    return run_model(model, o, spec_file=spec_file, progress=progress)


def boundary(spec: str | Path | type[Spec], *, params: dict[str, Any] | None = None,
             bounds: dict[str, tuple[int, int]] | None = None, over: dict[str, Any] | None = None,
             depth: int | None = None, method: str = "explicit", max_nodes: int | None = None,
             unknowns: tuple[str, ...] | None = None, prop: str | None = None):
    """Finds with Z3 the formula over the spec's symbolic parameters that says when its invariants hold.

    Returns an `explorer.symbolic.boundary.Boundary`: the formula (e.g. "r + w > n"), the safe and
    unsafe points, a witness on each side and a counterexample trace at the unsafe one
    (docs/symbolic.md). `bounds` replaces the declared symbolic parameters and their bounds.
    `method="timing"`: a timed spec's `unknowns` (ttl, max_pause, ...) as real Z3 unknowns, `prop` its invariant.
    """
    from .symbolic.boundary import find_boundary

    cls = load_spec(spec) if isinstance(spec, (str, Path)) else spec
    spec_file = str(spec).split("::")[0] if isinstance(spec, (str, Path)) else None
    return find_boundary(cls, params=params, bounds=bounds, over=over, depth=depth, spec_file=spec_file,
                         method=method, max_nodes=max_nodes, unknowns=unknowns, prop=prop)


def run_model(model: Any, options: Options, *, spec_file: str | None = None,
              progress: Callable[[str], None] | None = None) -> Result:
    """Explores an already-built model."""
    faults = getattr(model, "faults_text", None)
    kw = dict(faults=faults, spec_file=spec_file, progress=progress)
    if options.por:  # before --workers' checks, so that --por --workers says why por refuses it
        from .engine.por import check_por_options

        check_por_options(model, options)
    if options.workers > 1 or options.cluster:
        from .engine.parallel import check_parallel_options

        check_parallel_options(model, options)
    if options.disk:
        from .engine.diskstore import check_disk_options

        check_disk_options(model, options)
    if options.por:  # partial-order reduction: BFS over stubborn subsets (engine/batch_por.py, engine/por.py)
        from .actors.independence import for_model
        from .engine.batch_por import run_batch_por
        from .engine.por import run_por

        run = run_por if options.backend == "interp" else run_batch_por
        result = run(model, options, for_model(model), **kw)
    elif _resumes_batch(options) if options.resume else _use_batch(model, options):
        from .engine.batch import run_batch_or_fallback

        result = run_batch_or_fallback(model, options, **kw)
    else:
        from .liveness.memo import remembering  # the liveness graph reuses this search's successors

        result = Search(model, options, memo=remembering(model, options), **kw).run()
        if options.backend == "batch" and getattr(model, "interpreted_only", False) and not options.resume:
            result.warnings.append(f"batched engine not used: {model.name} is a timed spec (time passes after "
                                   "each step, in zones), which only the interpreted engine runs")
    if getattr(model, "liveness", None):
        from .liveness import check_liveness

        try:
            check_liveness(model, options, result, faults=faults, spec_file=spec_file)
        except KeyboardInterrupt:  # Ctrl-C while the liveness graph is built: keep the safety results
            result.complete = False
            result.stop_reason = "interrupted"
            result.warnings.append("liveness not checked: interrupted (Ctrl-C) while its graph was built")
    return result


def _use_batch(model: Any, options: Options) -> bool:
    """The batched engine pays off on plain specs and actor specs alike (a delivery's memo entry reads one
    message: `choose_present`); not on timed specs, or with action invariants."""
    if options.backend == "interp" or options.strategy != "bfs":
        return False
    if getattr(model, "interpreted_only", False):  # e.g. timed specs (explorer.timed): time passes after each step
        return False
    if options.backend == "batch" or options.workers > 1 or options.cluster or options.disk:
        return True  # parallel search and --disk are the batched engine's
    return not getattr(model, "action_invariants", None)


def _resumes_batch(options: Options) -> bool:
    """A resumed run goes on with the engine that wrote the checkpoint (its header says which)."""
    from .engine.checkpoint import checkpoint_engine

    return checkpoint_engine(options.resume) == "batch"
