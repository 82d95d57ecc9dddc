"""The `explore` command (DESIGN section 8). Thin: parses flags into Options, calls the library,
prints, and maps the result to an exit code. Every error a user can cause ends in one message and
exit code 2 (usage) or 3 (spec), never a traceback.
"""
from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from .api import load_model, run_model
from .engine.options import STRATEGIES, Options
from .engine.result import Result
from .errors import ExplorerError, UsageError


class _DefaultToRun(click.Group):
    """`explore SPEC.py ...` means `explore run SPEC.py ...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultToRun, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="explorer-mc", prog_name="explore")
def main() -> None:
    """Model-check a distributed protocol written as a Python class.

    \b
      explore SPEC.py [--depth N] [--param name=value] [--faults loss=1,crash=1] ...
      explore check PATH...        run every spec's declared checks (a CI gate)
      explore replay TRACE.json    re-run a saved counterexample against the spec
      explore render TRACE.json    draw a saved counterexample
      explore boundary SPEC.py     find with Z3 when the invariants hold, over symbolic parameters
    """


def _params(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in pairs:
        name, eq, value = p.partition("=")
        if not eq or not name.strip():
            raise UsageError(f"--param {p!r}: expected name=value, e.g. --param n=4")
        out[name.strip()] = value.strip()
    return out


def _fail(e: ExplorerError, as_json: bool = False) -> NoReturn:  # type: ignore[name-defined]  # noqa: F821
    if as_json:
        click.echo(json.dumps({"result": "error", "error": e.render(), "exit_code": e.exit_code}))
    click.echo(f"error: {e.render()}", err=True)
    trace = getattr(e, "trace", None)
    if trace is not None and not as_json:
        from .trace.text import render_text

        click.echo("\nThe steps that lead to it:\n" + render_text(trace, color=_color(sys.stderr)), err=True)
    sys.exit(e.exit_code)


def _color(stream: Any) -> bool:
    return hasattr(stream, "isatty") and stream.isatty() and not os.environ.get("NO_COLOR")


def _guard(fn):
    """Turns ExplorerErrors into messages + exit codes, and internal errors into a short report."""
    import functools

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        as_json = bool(kw.get("as_json"))
        try:
            return fn(*a, **kw)
        except ExplorerError as e:
            _fail(e, as_json)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except BrokenPipeError:  # `explore ... | head`: the reader left; stop quietly, as Unix tools do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
        except Exception as e:  # noqa: BLE001 - a bug in explorer itself
            click.echo(f"internal error in explorer: {type(e).__name__}: {e}\n"
                       "This is a bug in explorer, not in your spec; please report it with this output:", err=True)
            traceback.print_exc()
            sys.exit(1)

    return wrapper


@main.command("run")
@click.argument("spec", metavar="SPEC.py")
@click.option("--depth", type=int, default=None, help="Explore states reachable in at most N steps.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Set a spec parameter (repeatable).")
@click.option("--faults", default=None, metavar="SPEC",
              help="Fault budgets: loss=N,dup=N,partition=N,crash=N,restart=N, 'all' (each 1) or 'none'.")
@click.option("--strategy", type=click.Choice(STRATEGIES), default="bfs", show_default=True)
@click.option("--max-states", type=int, default=None, help="Stop after this many distinct states.")
@click.option("--time-limit", type=float, default=None, metavar="S", help="Stop the search after S seconds.")
@click.option("--workers", type=int, default=1, show_default=True,
              help="Processes expanding each BFS level (batched engine); the counts do not change.")
@click.option("--symmetry/--no-symmetry", default=False, help="Symmetry reduction over interchangeable nodes.")
@click.option("--por", is_flag=True, help="Partial-order reduction of actor specs (BFS; docs/performance.md).")
@click.option("--deadlock", is_flag=True, help="Report states where no action is enabled.")
@click.option("--max-violations", type=int, default=1, show_default=True,
              help="Keep searching until K distinct violations are found.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Write each counterexample here as text, JSON, ITF, DOT (and SVG when a renderer exists).")
@click.option("--raw-trace", is_flag=True,
              help="Show the engine's trace as found, without minimising it (fewest faults, no needless steps).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result on stdout.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random strategy.")
@click.option("--engine", type=click.Choice(["explicit", "bmc", "induction"]), default="explicit", show_default=True)
@click.option("--backend", type=click.Choice(["auto", "interp", "batch"]), default="auto", show_default=True,
              help="Successor generation: per state (interp) or over the whole frontier (batch).")
@click.option("--checkpoint", default=None, metavar="FILE",
              help="Save the BFS to FILE every --checkpoint-every seconds and when stopped (Ctrl-C, limits).")
@click.option("--checkpoint-every", type=float, default=60.0, show_default=True, metavar="S",
              help="Seconds between two checkpoints.")
@click.option("--resume", default=None, metavar="FILE", help="Go on from a checkpoint written by --checkpoint FILE.")
@click.option("--max-memory", default=None, metavar="SIZE",
              help="Stop cleanly, with partial results, before resident memory reaches SIZE (2G, 500M).")
@click.option("--cluster", default=None, metavar="ADDRESS",
              help="Expand each BFS level on a Dask cluster (tcp://host:8786; needs explorer[dask]).")
@click.option("--disk", default=None, metavar="DIR",
              help="Keep the visited states in files under DIR (batched BFS): runs larger than memory.")
@click.option("--progress/--no-progress", default=True, help="A progress line on stderr during long runs.")
@_guard
def run_cmd(spec: str, depth, params, faults, strategy, max_states, time_limit, workers, symmetry, por, deadlock,
            max_violations, out_dir, raw_trace, as_json, seed, engine, backend, checkpoint, resume, max_memory,
            cluster, progress, checkpoint_every=60.0, disk=None) -> None:
    """Explore every interleaving of SPEC.py and check its properties."""
    opts = Options(depth=depth, max_states=max_states, time_limit=time_limit, strategy=strategy,
                   deadlock=deadlock, max_violations=max_violations, seed=seed, backend=backend,
                   progress=progress, symmetry=symmetry, workers=workers, cluster=cluster, por=por)
    model, spec_file = load_model(spec, _params(params), faults)
    tty = sys.stderr.isatty()
    every = 2.0 if tty else 10.0
    opts = opts.but(progress_every_s=every, checkpoint=checkpoint, resume=resume, checkpoint_every_s=checkpoint_every,
                    max_memory=max_memory, disk=disk)
    if engine != "explicit" and (checkpoint or resume):
        raise UsageError(f"--checkpoint/--resume: the {engine} engine has no checkpoints",
                         hint="checkpoints cover the explicit breadth-first search")
    prog = (lambda line: click.echo(line, err=True)) if progress else None
    if not as_json:
        click.echo(_header(model, opts), err=False)
    if engine == "explicit":
        result = run_model(model, opts, spec_file=spec_file, progress=prog)
    else:  # bmc | induction (explorer/symbolic, Z3)
        from .symbolic import run_symbolic

        result = run_symbolic(model, engine, opts, spec_file=spec_file, progress=prog)
    if not raw_trace:
        from .minimize import minimize_result

        try:
            minimize_result(model, result, shortest=opts.strategy == "bfs")
        except KeyboardInterrupt:  # keep the long run's results: show the traces as found
            click.echo("minimisation interrupted (Ctrl-C): the traces are shown as found", err=True)
    _write_files(result, out_dir, spec, model)
    for w in result.warnings:  # on stderr, so a piped report or --json stays clean (JSON keeps its own list)
        click.echo(f"warning: {w}", err=True)
    if as_json:
        click.echo(json.dumps(result.summary(), default=str))
    else:
        _print_result(result, out_dir)
    _checkpoint_note(result, checkpoint, resume)
    sys.exit(result.exit_code)


def _checkpoint_note(result: Result, checkpoint: str | None, resume: str | None) -> None:
    """Says on stderr where the search went on from, and how to go on after an early stop."""
    if resume:
        click.echo(f"resumed from checkpoint {resume}", err=True)
    if checkpoint and result.stop_reason in ("interrupted", "time_limit", "max_memory") and Path(checkpoint).exists():
        click.echo(f"checkpoint saved: {checkpoint}\nto go on, run the same command with --resume {checkpoint} "
                   f"(keep --checkpoint {checkpoint} to go on saving)", err=True)


def _header(model: Any, opts: Options) -> str:
    faults = getattr(model, "faults_text", None) or "none"
    depth = f"depth <= {opts.depth}" if opts.depth is not None else "no depth bound"
    return f"Exploring {model.describe()}  faults: {faults}  {depth}  strategy: {opts.strategy}"


def _write_files(result: Result, out_dir: str | None, spec: str, model: Any = None) -> None:
    if not out_dir:
        return
    from .trace.render import write_outputs

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for i, v in enumerate(result.violations, start=1):
        if v.trace is None:
            continue
        stem = v.property if len(result.violations) == 1 else f"{i:02d}-{v.property}"
        v.files = {k: str(p) for k, p in write_outputs(v.trace, out, stem, model=model,
                                                          stats=run_stats(result)).items()}


def run_stats(r: Result) -> dict[str, Any]:
    """The run's figures a saved trace keeps for its HTML report."""
    s = r.summary()
    return {k: s[k] for k in ("distinct_states", "transitions", "depth", "complete", "elapsed_s", "states_per_s",
                              "backend") if k in s} | {"options": {k: v for k, v in r.options.items() if v}}


def _print_result(r: Result, out_dir: str | None) -> None:
    from .trace.text import render_text

    color = _color(sys.stdout)
    if r.symbolic is not None:
        from .symbolic import summary_line

        click.echo(summary_line(r))
    else:
        click.echo(f"{r.distinct_states:,} distinct states, {r.transitions:,} transitions, depth {r.depth}, "
                   f"{r.elapsed_s:.2f}s ({r.states_per_s:,.0f} states/s)")
    if r.depth_bound_hit:
        click.echo("The depth bound was reached: states deeper than it were not explored.")
    if r.stop_reason:
        click.echo(f"Stopped early ({r.stop_reason.replace('_', ' ')}): the search is incomplete.")
    if r.unchecked:
        # liveness left unchecked says why in a warning on stderr (random walks, a safety violation first,
        # a search stopped early); the z3 engines check invariants only
        why = " (the warnings on stderr say why)" if r.warnings else ""
        click.echo(f"not checked in this run: {', '.join(r.unchecked)}{why}")
    if r.collision_probability > 0:  # as TLC, after every run: distinct x (generated - distinct) / 2^64
        click.echo(f"fingerprint collision probability (TLC's estimate): {r.collision_probability:.1e}")
    for v in r.violations:
        click.echo("")
        if v.trace is not None:
            click.echo(render_text(v.trace, color=color))
        else:
            click.echo(f"{v.kind}: {v.property}: {v.reason}")
        for kind, path in v.files.items():
            click.echo(f"  wrote {kind}: {path}")
        if v.files and "svg" not in v.files:
            from .trace.render import renderer_hint

            hint = renderer_hint()
            if hint:
                click.echo(f"  hint: {hint}")
    if r.violations and not out_dir and any(v.trace for v in r.violations):
        click.echo("\n(add --out DIR to save the trace as JSON and a sequence diagram)")
    verdict = {"ok": "No violation found.", "incomplete": "No violation found in the part explored.",
               "violation": f"Violation: {', '.join(v.property for v in r.violations)}.",
               "deadlock": "Deadlock found."}[r.result]
    click.echo(verdict)


@main.command("check")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--junit", default=None, metavar="FILE", help="Write a JUnit XML report.")
@click.option("--save", "save_dir", default=None, metavar="DIR",
              help="Write the counterexample of every expected violation under DIR/<spec>/<variant>/.")
@click.option("--json", "as_json", is_flag=True, help="Print the gate results as JSON.")
@click.option("--coverage", "show_coverage", is_flag=True,
              help="Print, per check, how often each action, handler and timer was enabled and taken.")
@_guard
def check_cmd(paths, junit, save_dir, as_json, show_coverage) -> None:
    """Run every spec's declared checks; exit 0 only when each gives its expected verdict."""
    from .gate import run_gate

    ok = run_gate([Path(p) for p in paths], junit=junit, save_dir=save_dir, as_json=as_json,
                  show_coverage=show_coverage, echo=lambda s: click.echo(s, err=as_json))
    sys.exit(0 if ok else 1)


@main.command("replay")
@click.argument("trace_file", metavar="TRACE.json")
@click.option("--spec", default=None, metavar="SPEC.py", help="Replay against this spec file instead.")
@_guard
def replay_cmd(trace_file, spec) -> None:
    """Re-execute a saved trace against the current spec: does it still fail?"""
    from .replay import replay_file

    code, message = replay_file(trace_file, spec)
    click.echo(message)
    sys.exit(code)


@main.command("render")
@click.argument("trace_file", metavar="TRACE.json")
@click.option("--format", "fmt", type=click.Choice(["svg", "png", "dot", "text", "itf", "mermaid", "html", "graph",
                                                   "graph-dot", "all"]), default="svg", show_default=True,
              help="graph: the whole state graph (small specs only) with the trace highlighted; all: every format.")
@click.option("-o", "--output", default=None, help="Output file (default: next to the trace).")
@click.option("--spec", default=None, metavar="SPEC.py", help="The spec file, if not the one the trace names.")
@_guard
def render_cmd(trace_file, fmt, output, spec) -> None:
    """Draw a saved trace (re-executed against its spec): SVG, PNG, DOT, text, ITF, Mermaid, HTML or its state graph."""
    from .replay import render_file

    path = render_file(trace_file, fmt, output, spec)
    click.echo(f"wrote {path}")


@main.command("boundary")
@click.argument("spec", metavar="SPEC.py")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Set a concrete spec parameter.")
@click.option("--range", "ranges", multiple=True, metavar="NAME=LO..HI",
              help="Bounds of a symbolic parameter (an int parameter not declared symbolic becomes one).")
@click.option("--over", "overs", multiple=True, metavar="NAME=V1,V2,...",
              help="Sweep a concrete parameter over these values; it becomes a variable of the formula.")
@click.option("--depth", type=int, default=None, help="Only runs of at most N steps (required by --method bmc).")
@click.option("--method", type=click.Choice(["explicit", "bmc", "sweep", "timing"]), default="explicit",
              show_default=True,
              help="explicit: concrete states, parameters as Z3 unknowns (untimed specs); bmc: Z3 unrolling (plain "
              "specs); sweep: the explicit engine at every point (any spec, no Z3); timing: real-valued delays of a "
              "timed spec as Z3 unknowns (--unknown).")
@click.option("--unknown", "unknowns", multiple=True, metavar="NAME",
              help="--method timing: a delay parameter (ttl, max_pause, drift) to treat as a real Z3 unknown.")
@click.option("--property", "prop", default=None, metavar="NAME",
              help="--method timing: the invariant to bound (default: the spec's only invariant).")
@click.option("--max-states", type=int, default=None, help="Stop each search after N (state, condition) pairs.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Write the counterexample at the unsafe witness here (as --out of explore SPEC.py).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the boundary on stdout.")
@_guard
def boundary_cmd(spec, params, ranges, overs, depth, method, unknowns, prop, max_states, out_dir, as_json) -> None:
    """Find with Z3 when SPEC.py's invariants hold, as a formula over its symbolic parameters."""
    from .api import boundary
    from .dsl.loader import load_spec
    from .symbolic.boundary import render_boundary, render_timing, symbolic_params_of, timing_route

    cls = load_spec(spec)
    given = _params(params)
    if method == "timing":
        data, trace = timing_route(cls, given, unknowns, prop, spec_file=str(spec).split("::")[0])
        if out_dir and trace is not None:
            from .trace.render import write_outputs

            data["files"] = {k: str(p) for k, p in write_outputs(trace, Path(out_dir), "unsafe_witness").items()}
        click.echo(json.dumps({"spec": cls.__name__, **data}, default=str) if as_json else
                   render_timing(data, cls, trace, color=_color(sys.stdout)))
        sys.exit(0)
    bounds = {k: v for k, v in symbolic_params_of(cls).items() if k not in given}  # --param fixes a symbolic one
    bounds.update(_int_ranges(ranges, "--range"))
    over = {k: list(range(lo, hi + 1)) for k, (lo, hi) in _int_ranges(
        [o for o in overs if ".." in o], "--over").items()}
    for o in (o for o in overs if ".." not in o):
        name, _, values = o.partition("=")
        try:
            over[name.strip()] = [int(v) for v in values.split(",") if v.strip()]
        except ValueError:
            raise UsageError(f"--over {o!r}: expected NAME=V1,V2,... or NAME=LO..HI with integers") from None
    b = boundary(spec, params=given, bounds=bounds, over=over, depth=depth, method=method, max_nodes=max_states)
    data = b.as_json()
    if out_dir and b.unsafe_trace is not None:
        from .trace.render import write_outputs

        data["files"] = {k: str(p) for k, p in write_outputs(b.unsafe_trace, Path(out_dir), "unsafe_witness").items()}
    if as_json:
        click.echo(json.dumps({"spec": cls.__name__, **data}, default=str))
    else:
        click.echo(render_boundary(b, cls, color=_color(sys.stdout)))
        for kind, path in data.get("files", {}).items():
            click.echo(f"  wrote {kind}: {path}")
    sys.exit(0)


def _int_ranges(items, flag: str) -> dict[str, tuple[int, int]]:
    out = {}
    for item in items:
        name, eq, text = item.partition("=")
        lo, dots, hi = text.partition("..")
        try:
            if not eq or not dots or not name.strip():
                raise ValueError
            out[name.strip()] = (int(lo), int(hi))
        except ValueError:
            raise UsageError(f"{flag} {item!r}: expected NAME=LO..HI with integers, e.g. {flag} r=1..5") from None
        if out[name.strip()][0] > out[name.strip()][1]:
            raise UsageError(f"{flag} {item!r}: the range is empty (LO > HI)")
    return out


@main.command("serve")
@click.argument("spec", metavar="SPEC.py", required=False)
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Set a spec parameter (repeatable).")
@click.option("--faults", default=None, metavar="SPEC", help="Fault budgets, as for explore SPEC.py.")
@click.option("--port", type=int, default=8765, show_default=True, help="Port to listen on (0 picks a free one).")
@click.option("--host", default=None, metavar="H", help="Interface to listen on (default 127.0.0.1 only).")
@click.option("--no-browser", is_flag=True, help="Do not open the page in the default browser.")
@click.option("--trace", "trace_file", default=None, metavar="TRACE.json", help="Open a saved trace to step through.")
@_guard
def serve_cmd(spec, params, faults, port, host, no_browser, trace_file) -> None:
    """Step through SPEC.py in the browser: take actions, inject faults, search, open saved traces."""
    from .serve.command import make_server, serve

    server = make_server(spec, _params(params), faults, trace=trace_file, host=host, port=port)
    serve(server, open_browser=not no_browser, echo=click.echo)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
