"""Partial-order reduction (`--por`): expand a stubborn subset of a state's successors when it is safe.

Steps of different nodes often commute: delivering a message to A and one to B give the same state
in either order. Exploring both orders only multiplies states. At each state the reducer looks for
a set N of nodes whose enabled steps may be explored alone (a strong stubborn set, Valmari; the
"ample set" of Peled / Clarke-Grumberg-Peled with conditions C0-C3):

- C0: the subset is empty only when the state has no successor at all (deadlocks are kept).
- C1 (dependency): the model's `independence` object computes N so that nothing outside N can
  change what N's steps read, or enable a step of N (no node outside N may send to N before N
  moves), and steps of N only add messages to others (which commutes). The engine knows nothing
  about actors; the actor layer (`explorer/actors/independence.py`) supplies that object.
- C2 (visibility): every step in the subset leaves unchanged the fields that invariants and
  @reachable properties read (recorded on every state checked; see `Reducer.visible`).
- C3 (cycles, the BFS proviso): the subset is used only when all its successors are new states
  (not yet visited), so every cycle of the reduced graph has a fully expanded state.

Otherwise the state is fully expanded. What is preserved: every invariant and @reachable verdict and
deadlocks; counts shrink; a counterexample may be longer than without --por (it is still minimised).

With --symmetry (Emerson, Jha and Peled's combination): states are stored by the fingerprint of their
orbit's canonical representative, and the stubborn set is computed on the real state being expanded,
so C0 and C1 hold there as without symmetry; C3 asks that every successor's orbit be new. What needs
more is C2: a counterexample the full search finds may be reached here only through a permuted image,
so the visible set is closed under the symmetry group (a property that reads p1.state makes
p2.state visible too, p1 and p2 interchangeable); properties are symmetric already (symmetry
reduction requires it). See docs/design.md.

Not combined with --depth: a reduced search may reach a state only by a longer path than the full
breadth-first search, so a depth bound could hide a violation the full search finds within it.

Two engines: `run_por` here (interpreted, one state at a time; `--backend interp`) and
`batch_por.run_batch_por` (the default: the same choice made per parent on the batched engine's
candidates, with C3 against the visited set as of the level's start; its docstring says why that is
sound and why its counts may differ from this one's).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PorStats:
    """How often the reduction applied (reported in Result.options["por"])."""

    reduced: int = 0  # states expanded with a proper subset
    full: int = 0  # states fully expanded
    pruned: int = 0  # successors not explored

    def as_dict(self) -> dict[str, int]:
        return {"reduced_states": self.reduced, "full_states": self.full, "pruned_successors": self.pruned}


@dataclass
class Reducer:
    """Chooses which successors of a state to explore under partial-order reduction."""

    model: Any
    independence: Any  # groups(state, succs) -> {node: [succ index]} | None; closure(state, node, enabled) -> set
    fields: tuple[str, ...]
    visible: set[int] = field(default_factory=set)  # indices of fields a property has read
    images: dict[int, tuple[int, ...]] = field(default_factory=dict)  # --symmetry: a field -> its images
    grew_after_reduction: bool = False  # a property read a new field after a reduction used the old set
    stats: PorStats = field(default_factory=PorStats)

    @classmethod
    def for_model(cls, model: Any, independence: Any, seed_visible: set[int] | None = None,
                  symmetry: bool = False) -> Reducer:
        r = cls(model, independence, tuple(model.fields))
        if symmetry:
            r.images = field_images(model)
        if seed_visible:
            r.visible |= seed_visible
        return r

    # ------------------------------------------------------------------ visibility
    def observe(self, read: Any) -> None:
        """Adds the fields a property read (names) to the visible set."""
        index = self._index()
        for name in read:
            i = index.get(name)
            if i is not None and i not in self.visible:
                self.visible.update(self.images.get(i, (i,)))  # with --symmetry, its images too
                if self.stats.reduced:
                    self.grew_after_reduction = True

    def observe_state(self, state: tuple) -> None:
        """Records the fields the @reachable properties read on `state` (invariants report theirs)."""
        m = self.model
        props = getattr(m, "reachable_props", ())
        if not props:
            return
        for p in props:
            self.observe(m._eval(p, m.view(state)).read)

    def _index(self) -> dict[str, int]:
        idx = self.__dict__.get("_idx")
        if idx is None:
            idx = {f: i for i, f in enumerate(self.fields)}
            self.__dict__["_idx"] = idx
        return idx

    # ------------------------------------------------------------------ the choice
    def ample(self, state: tuple, fp: int, succs: list, fingerprint: Callable[[int, tuple, tuple], int],
              visited: Any) -> list:
        """Returns the successors to explore: a safe proper subset of `succs`, or `succs` itself."""
        groups = self.independence.groups(state, succs)  # also audits every step (actors: sends)
        if not groups or len(groups) < 2:
            self.stats.full += 1
            return succs
        enabled = set(groups)
        visible = self.visible
        fine: dict[str, bool] = {}  # node -> its steps here are invisible (C2) and reach new states (C3)

        def fine_node(n: str) -> bool:
            ok = fine.get(n)
            if ok is None:
                ok = True
                for i in groups[n]:
                    nxt = succs[i][0]
                    if any(nxt[f] is not state[f] and nxt[f] != state[f] for f in visible):
                        ok = False  # C2: a step that changes what a property reads
                        break
                    nfp = fingerprint(fp, state, nxt)
                    if nfp == fp or nfp in visited:
                        ok = False  # C3: the BFS proviso (only new states via a reduced expansion)
                        break
                fine[n] = ok
            return ok

        key = getattr(self.independence, "is_key", None)
        best: list | None = None
        for node in sorted(groups, key=lambda n: (len(groups[n]), n)):
            if not fine_node(node) or (best is not None and len(groups[node]) >= len(best)):
                continue
            members = self.independence.closure(state, node, enabled)
            if enabled <= members:
                continue
            present = [n for n in members if n in groups]
            idx = sorted(i for n in present for i in groups[n])
            if best is not None and len(idx) >= len(best):
                continue
            if not all(fine_node(n) for n in present):
                continue
            if key is not None and not any(key(state, succs[i][1]) for i in idx):
                continue  # no step in it that the others cannot disable
            best = idx
        if best is None:
            self.stats.full += 1
            return succs
        self.stats.reduced += 1
        self.stats.pruned += len(succs) - len(best)
        return [succs[i] for i in best]


class _Observed:
    """The model, seen by a PorSearch: property checks also report the fields they read."""

    def __init__(self, model: Any, reducer: Reducer):
        self._model = model
        self._reducer = reducer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def check_invariants(self, state: tuple):
        for name, res in self._model.check_invariants(state):
            self._reducer.observe(res.read)
            yield name, res

    def check_reachables(self, state: tuple):
        m = self._model
        if not hasattr(m, "_eval"):  # not a SpecModel: evaluate twice rather than guess
            self._reducer.observe_state(state)
            return m.check_reachables(state)
        out = []
        for p in m.reachable_props:  # SpecModel.check_reachables, keeping what each one read
            res = m._eval(p, m.view(state))
            self._reducer.observe(res.read)
            if res.holds:
                out.append(p.name)
        return out


def field_images(model: Any) -> dict[int, tuple[int, ...]]:
    """Maps each actor field (`p1.state`) to its images under the declared symmetry (`p2.state`, ...).

    A permutation of interchangeable nodes moves each node's fields to the other's (explorer/engine/
    symmetry.py) and leaves the shared fields (network, crashed, ...) in place, where it renames ids
    inside values; so a shared field is its own image.
    """
    from .symmetry import symmetry_groups

    fields = tuple(model.fields)
    index = {f: i for i, f in enumerate(fields)}
    group_of = {nid: g for g in symmetry_groups(model) for nid in g}
    images: dict[int, tuple[int, ...]] = {}
    for i, f in enumerate(fields):
        nid, dot, attr = f.partition(".")
        g = group_of.get(nid) if dot else None
        if g:
            images[i] = tuple(sorted(index[f"{o}.{attr}"] for o in g if f"{o}.{attr}" in index))
    return images


def check_por_options(model: Any, opts: Any) -> None:
    """Refuses --por with what it cannot be combined with (exit 2, saying why); called by api.run_model."""
    from ..errors import UsageError

    if getattr(model, "interpreted_only", False) and "timers" in model.fields:
        raise UsageError(f"--por: {model.name} is a timed spec: steps of different nodes do not commute once "
                         "their times are constrained (the zone depends on their order)", hint="run without --por")
    if opts.strategy != "bfs":
        raise UsageError(f"--por: works with --strategy bfs only (got {opts.strategy})",
                         hint="the cycle proviso it uses is the breadth-first one")
    if opts.depth is not None:
        raise UsageError("--por: not with --depth: a reduced search may reach a state only by a longer path than "
                         "the full search, so a depth bound could hide a violation the full search finds within it",
                         hint="run without --depth (the reduced search is complete), or without --por")
    if getattr(opts, "workers", 1) > 1 or getattr(opts, "cluster", None):
        raise UsageError("--por: not with --workers/--cluster: the reduction runs in one process (its visible "
                         "set and statistics are kept there; workers would expand their ranges without them)",
                         hint="drop --workers/--cluster, or --por")
    if getattr(opts, "checkpoint", None) or getattr(opts, "resume", None):
        raise UsageError("--por: not with --checkpoint/--resume (the reduction's visibility set is not saved)",
                         hint="drop --checkpoint/--resume, or --por")
    if getattr(model, "action_invariants", None):
        raise UsageError("--por: action invariants look at every step, which the reduction skips",
                         hint="run without --por")


def run_por(model: Any, opts: Any, independence: Any, **kw: Any):
    """A breadth-first search that expands stubborn subsets; returns its Result (see `run_until_settled`)."""
    from .search import Search

    check_por_options(model, opts)

    class PorSearch(Search):
        reducer: Reducer

        def _expand(self, state: tuple, fp: int):
            succs = super()._expand(state, fp)
            return self.reducer.ample(state, fp, succs, self.fpr.update, self.parents)

    def run_once(reducer: Reducer):
        search = PorSearch(_Observed(model, reducer), opts, **kw)
        search.reducer = reducer
        search.result.backend = "interp"
        return search.run()

    return run_until_settled(model, opts, independence, run_once)


STOPPED = ("interrupted", "time_limit", "max_states", "max_memory")  # Result.stop_reason of a cut run


def run_until_settled(model: Any, opts: Any, independence: Any, run_once: Callable[[Reducer], Any]):
    """Runs the reduced search until no property reads a field first after a reduction was made.

    When a property reads a field for the first time after some reduction was made with a smaller
    visible set, the search runs again from the start with the larger set, so that every reduction
    was made knowing every field a property reads in the states explored. A run cut short (Ctrl-C,
    --time-limit, --max-states, --max-memory) is not run again: Ctrl-C must stop, and a limit must
    bound the whole command; it says in a warning that its reductions used a smaller visible set.
    """
    seed: set[int] = set()
    for _attempt in range(len(model.fields) + 1):
        reducer = Reducer.for_model(model, independence, seed, symmetry=opts.symmetry)
        result = run_once(reducer)
        if not reducer.grew_after_reduction:
            break
        if result.stop_reason in STOPPED:
            result.warnings.append(
                f"--por: the search stopped ({result.stop_reason}) after a property read a field for the first "
                "time, when some reductions were already made without it; a complete run would start again "
                "with it visible, so states that differ only in that field may be missing from this partial run")
            break
        seed = set(reducer.visible)
    result.options["por"] = {**reducer.stats.as_dict(), "runs": _attempt + 1}
    return result
