"""Z3 engines (DESIGN section 6): bounded model checking, k-induction and symbolic parameters.

The spec's own Python actions are the transition relation: `relation.SymbolicModel` runs each action
on Z3 terms and forks on every symbolic branch (the decision oracle of DESIGN section 3).
"""
from .engine import bmc, induction
from .relation import SymbolicModel

__all__ = ["SymbolicModel", "bmc", "induction"]


def run_symbolic(model, engine: str, options, *, spec_file=None, progress=None):
    """Runs `engine` ("bmc" or "induction") on a built model with the explicit engine's Options.

    `--depth` is the BMC bound (required) or the largest k tried by k-induction (default 1).
    """
    from ..errors import UsageError

    if options.strategy != "bfs":
        raise UsageError(f"--strategy {options.strategy} applies to the explicit engine, not --engine {engine}")
    if engine == "bmc":
        if options.depth is None:
            raise UsageError("--engine bmc needs a bound: --depth K", hint="e.g. explore SPEC.py --engine bmc --depth 20")
        return bmc(model, options.depth, spec_file=spec_file, progress=progress, time_limit=options.time_limit)
    if engine == "induction":
        k = options.depth if options.depth is not None else 1
        if k < 1:
            raise UsageError(f"--engine induction --depth {k}: k must be at least 1")
        return induction(model, k, spec_file=spec_file, progress=progress)
    raise UsageError(f"unknown engine {engine!r} (explicit, bmc or induction)")


__all__ += ["run_symbolic"]


def summary_line(r) -> str:
    """Returns the one-line outcome of a symbolic run, for the terminal (what `distinct states` is to BFS)."""
    s = r.symbolic or {}
    size = f"{s.get('leaves', 0)} Z3 variables per state, {s.get('paths', 0)} action paths"
    if s.get("engine") == "bmc":
        if r.violations:
            what = f"counterexample at depth {r.depth}"
        elif r.complete:
            what = f"no violation in any state reachable in <= {s.get('depth_checked')} steps"
        else:
            what = f"checked up to depth {s.get('proved_up_to_depth')} ({r.stop_reason})"
        return f"bmc: {what}; {size}, {r.elapsed_s:.2f}s"
    if s.get("proved"):
        what = f"proved by {r.depth}-induction: the invariants hold in every reachable state"
    elif r.violations and r.violations[0].kind == "not_inductive":
        what = f"not proved: the invariants are not {r.depth}-inductive (a counterexample to induction follows)"
    elif r.violations:
        what = f"violated within the base case (depth {r.depth})"
    else:
        what = f"not proved ({r.stop_reason})"
    return f"induction: {what}; {size}, {r.elapsed_s:.2f}s"


__all__ += ["summary_line"]
