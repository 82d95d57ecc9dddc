"""`SpecModel`: a `Spec` class with its parameters, in the shape the engine explores.

It runs the spec's Python methods under the decision oracle: every run of an action is one path
through its `choose` calls and yields at most one successor. Fields read by a step are thawed
copies; after the step they are frozen again and compared, so the source state never changes.
"""
from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine.model import PropertyResult, Step
from ..errors import ActionError, NonDeterminismError, SpecError, UsageError
from . import choice
from .choice import Disabled, Oracle
from .spec import ActionDef, PropertyDef, Spec
from .values import UnfreezableValue, freeze, show, thaw


@dataclass
class _Ctx:
    """How attribute reads on a spec instance find the state's fields."""

    fields: tuple[str, ...] | None
    field_index: dict[str, int]
    thaw: Callable[[Any], Any] | None
    read: Callable[[int, Any], Any] | None = None  # replaces thaw: records the read, returns the value


def user_frame(exc: BaseException, files: set[str]) -> str | None:
    """Returns "file:line" of the innermost traceback frame inside the spec's own files."""
    found = None
    for fs in traceback.extract_tb(exc.__traceback__):
        if fs.filename in files:
            found = f"{fs.filename}:{fs.lineno}"
    return found


class SpecModel:
    """A spec class bound to parameter values: initial states, successors and property checks."""

    def __init__(self, spec_cls: type[Spec], params: dict[str, Any] | None = None):
        self.spec_cls = spec_cls
        self.name = spec_cls.__name__
        self.params = self._resolve_params(spec_cls, dict(params or {}))
        self.actions: tuple[ActionDef, ...] = tuple(spec_cls._actions)
        if not self.actions:
            raise SpecError(
                f"{self.name} has no actions",
                where=_class_where(spec_cls),
                hint="mark at least one method with @action (or, for actors, define nodes())",
            )
        self._action_by_name = {a.name: a for a in self.actions}
        props = spec_cls._properties
        self.invariants = [p for p in props if p.kind == "invariant"]
        self.action_invariants = [p for p in props if p.kind == "action_invariant"]
        self.reachable_props = [p for p in props if p.kind == "reachable"]
        self.liveness = [p for p in props if p.kind in ("eventually", "always_eventually", "leads_to")]
        self._files = {f for f in (_file_of(spec_cls),) if f}
        self._base: dict[str, Any] = {"_params": self.params}
        self.fields: tuple[str, ...] = ()
        self._inits = self._run_init()
        self._ctx_rw = _Ctx(self.fields, {f: i for i, f in enumerate(self.fields)}, thaw)
        self._ctx_ro = _Ctx(self.fields, self._ctx_rw.field_index, None)

    # ------------------------------------------------------------------ parameters
    @staticmethod
    def _resolve_params(cls: type[Spec], given: dict[str, Any]) -> dict[str, Any]:
        defs = cls._param_defs
        unknown = [k for k in given if k not in defs]
        if unknown:
            avail = ", ".join(sorted(defs)) or "none"
            raise UsageError(
                f"{cls.__name__} has no parameter {unknown[0]!r} (parameters: {avail})",
            )
        out = {}
        for name, p in defs.items():
            if name in given:
                v = given[name]
                v = p.parse(v) if isinstance(v, str) and not isinstance(p.default, str) else v
                p.validate(v)
                out[name] = v
            else:
                out[name] = p.default
        return out

    # ------------------------------------------------------------------ instances
    def _instance(self, state: tuple | None, ctx: _Ctx) -> Spec:
        obj = object.__new__(self.spec_cls)
        d = obj.__dict__
        d.update(self._base)
        d["_ctx"] = ctx
        d["_state"] = state
        return obj

    def view(self, state: tuple) -> Spec:
        """Returns a read-only spec instance whose fields are `state`'s (what properties see)."""
        return self._instance(state, self._ctx_ro)

    def as_dict(self, state: tuple) -> dict[str, Any]:
        return dict(zip(self.fields, state, strict=True))

    def evaluate(self, p: PropertyDef, state: tuple) -> PropertyResult:
        """Evaluates one of the model's properties on a state: holds, the reason, the fields it read.

        For tools beside the engine (liveness, `explore serve`); raises ActionError if the property raises.
        """
        return self._eval(p, self.view(state))

    def blueprint(self) -> dict[str, type]:
        """Returns {node id: Node class} of an actor model, in nodes() order; {} for a plain spec."""
        return dict(self._base.get("_blueprint") or {})

    # ------------------------------------------------------------------ init
    def _run_init(self) -> list[tuple[tuple, Step]]:
        out: list[tuple[tuple, Step]] = []
        seen: set[tuple] = set()
        prefix: list[int] | None = []
        init_ctx = _Ctx(None, {}, None)
        while prefix is not None:
            oracle = Oracle(prefix)
            obj = self._instance(None, init_ctx)
            choice._current[0] = oracle
            try:
                obj.init()
            except Disabled:
                prefix = oracle.next_prefix()
                continue
            except SpecError:
                raise
            except UsageError as e:  # a parameter out of range, said by the spec: a usage error (exit 2)
                e.where = e.where or user_frame(e, self._files)
                raise
            except Exception as e:  # noqa: BLE001 - any error in user code becomes a spec error
                raise SpecError(
                    f"{self.name}.init() raised {type(e).__name__}: {e}",
                    where=user_frame(e, self._files) or _class_where(self.spec_cls),
                ) from e
            finally:
                choice._current[0] = None
            names = tuple(k for k in obj.__dict__ if not k.startswith("_"))
            if not names:
                raise SpecError(
                    f"{self.name}.init() sets no fields",
                    where=_class_where(self.spec_cls),
                    hint="assign the state in init(), e.g. self.count = 0",
                )
            if not self.fields:
                self.fields = names
            elif set(names) != set(self.fields):
                raise SpecError(
                    f"{self.name}.init() sets different fields on different choices: "
                    f"{sorted(self.fields)} and {sorted(names)}",
                    where=_class_where(self.spec_cls),
                )
            state = tuple(self._freeze_field(f, obj.__dict__[f], "init()") for f in self.fields)
            if state not in seen:
                seen.add(state)
                out.append((state, Step("init", tuple(oracle.taken), _label("init", oracle.labels))))
            prefix = oracle.next_prefix()
        if not out:
            raise SpecError(f"{self.name}.init() has no initial state (every run hit a false require)")
        return out

    def _freeze_field(self, name: str, value: Any, who: str) -> Any:
        try:
            return freeze(value)
        except UnfreezableValue as e:
            raise SpecError(
                f"{who} sets self.{name}{e.path} to a {type(e.value).__name__}, which cannot be part of a state",
                where=_class_where(self.spec_cls),
                hint="use int, str, bool, None, tuple, list, dict, set, an Enum or a frozen dataclass",
            ) from None

    def initial_states(self) -> list[tuple[tuple, Step]]:
        return list(self._inits)

    # ------------------------------------------------------------------ steps
    def _run(self, a: ActionDef, state: tuple, prefix: Sequence[int], exact: bool = False):
        """Runs one path of action `a`. Returns (new_state, step, oracle) or (None, None, oracle)."""
        oracle = Oracle(prefix)
        obj = self._instance(state, self._ctx_rw)
        choice._current[0] = oracle
        try:
            a.fn(obj)
        except Disabled:
            return None, None, oracle
        except SpecError:
            raise
        except Exception as e:  # noqa: BLE001
            label = _label(a.name, oracle.labels)
            raise ActionError(
                f"action {label} raised {type(e).__name__}: {e}",
                where=user_frame(e, self._files) or a.where,
                hint="an action must not raise; use require(...) to say when it is not enabled",
            ) from e
        finally:
            choice._current[0] = None
        if exact and oracle.pos < len(prefix):
            return None, None, oracle
        d = obj.__dict__
        new: list | None = None
        index = self._ctx_rw.field_index
        for k, v in d.items():
            if k[0] == "_":
                continue
            i = index.get(k)
            if i is None:
                raise SpecError(
                    f"action {a.name} assigns self.{k}, which is not a field of the state",
                    where=a.where,
                    hint=f"give {k} an initial value in init() (a parameter cannot be assigned)",
                )
            try:
                fv = freeze(v)
            except UnfreezableValue:
                fv = self._freeze_field(k, v, f"action {a.name}")
            old = state[i]
            if fv is old or (type(fv) is type(old) and fv == old):
                continue
            if new is None:
                new = list(state)
            new[i] = fv
        info = d.get("_step_info") or {}
        label = d.get("_step_label") or _label(a.name, oracle.labels)
        nxt = tuple(new) if new is not None else state
        return nxt, Step(a.name, tuple(oracle.taken), label, info), oracle

    def successors(self, state: tuple) -> list[tuple[tuple, Step]]:
        out: list[tuple[tuple, Step]] = []
        for a in self.actions:
            self._successors_of(a, state, out)
        return out

    def _successors_of(self, a: ActionDef, state: tuple, out: list) -> list[tuple[tuple, Step]]:
        """Appends the successors of one action (every path through its choices) to `out`."""
        prefix: list[int] | None = []
        run = self._run
        while prefix is not None:
            nxt, step, oracle = run(a, state, prefix)
            if nxt is not None:
                out.append((nxt, step))
            prefix = oracle.next_prefix()
        return out

    def replay(self, state: tuple, action: str, decisions: Sequence[int]) -> tuple[tuple, Step] | None:
        """Runs `action` with exactly `decisions`; None when it is not enabled (or has other choices now)."""
        a = self._action_by_name.get(action)
        if a is None:
            return None
        nxt, step, oracle = self._run(a, state, list(decisions), exact=True)
        if nxt is None or tuple(oracle.taken) != tuple(decisions):
            return None
        return nxt, step

    def check_deterministic(self, state: tuple, step: Step, result: tuple) -> None:
        """Re-runs a step; raises NonDeterminismError when it gives another state."""
        again = self.replay(state, step.action, step.decisions)
        if again is None or again[0] != result:
            a = self._action_by_name[step.action]
            raise NonDeterminismError(
                f"action {step.label} is not deterministic: the same step from the same state "
                + ("was not enabled the second time" if again is None else "gave a different state"),
                where=a.where,
                hint="an action may only read the state and its choose() values: not the time, "
                "random numbers, globals, or the iteration order of a plain set of strings",
            )

    # ------------------------------------------------------------------ properties
    def _eval(self, p: PropertyDef, obj: Spec, *args: Any) -> PropertyResult:
        try:
            r = p.fn(obj, *args)
        except Exception as e:  # noqa: BLE001
            raise ActionError(
                f"{p.kind} {p.name} raised {type(e).__name__}: {e}",
                where=user_frame(e, self._files) or p.where,
            ) from e
        read = tuple(k for k in obj.__dict__ if k[0] != "_")
        if r is True:
            return PropertyResult(True, None, read)
        if r is None:
            raise SpecError(
                f"{p.kind} {p.name} returned None",
                where=p.where,
                hint="return True when it holds, False (or a string saying why) when it does not",
            )
        if isinstance(r, str):
            return PropertyResult(False, r, read)
        return PropertyResult(bool(r), None, read)

    def check_invariants(self, state: tuple) -> Iterable[tuple[str, PropertyResult]]:
        for p in self.invariants:
            yield p.name, self._eval(p, self.view(state))

    def check_action_invariants(self, before: tuple, after: tuple, step: Step):
        for p in self.action_invariants:
            yield p.name, self._eval(p, self.view(after), self.view(before), step.label)

    def reachables(self) -> list[str]:
        return [p.name for p in self.reachable_props]

    def check_reachables(self, state: tuple) -> list[str]:
        return [p.name for p in self.reachable_props if self._eval(p, self.view(state)).holds]

    def is_terminal(self, state: tuple) -> bool:
        obj = self.view(state)
        try:
            return bool(obj.terminal())
        except Exception as e:  # noqa: BLE001
            raise ActionError(f"terminal() raised {type(e).__name__}: {e}", where=user_frame(e, self._files)) from e

    def describe(self) -> str:
        ps = ", ".join(f"{k}={show(v)}" for k, v in self.params.items())
        return f"{self.name}({ps})" if ps else self.name


def _label(name: str, labels: list) -> str:
    if not labels:
        return name
    parts = [f"{n}={show(v)}" if n else show(v) for n, v in labels]
    return f"{name}({', '.join(parts)})"


def _file_of(cls: type) -> str | None:
    mod = sys.modules.get(cls.__module__)
    f = getattr(mod, "__file__", None)
    return str(Path(f)) if f else None


def _class_where(cls: type) -> str | None:
    import inspect

    try:
        return f"{inspect.getsourcefile(cls)}:{inspect.getsourcelines(cls)[1]}"
    except (OSError, TypeError):
        return _file_of(cls)
