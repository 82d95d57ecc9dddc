"""`Spec`: a protocol written as a plain state machine (DESIGN section 3, level 1).

The state is the set of attributes `init` assigns. Actions are methods marked `@action`; inside them
`self.field` reads the current state (a mutable copy), assignments write the next state. The class is
scanned once, when it is defined; `Spec.model(**params)` (or `explorer.check`) turns it into the
`Model` the engine explores.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import SpecError
from .decorators import MARK, PROPERTY_KINDS, Mark
from .params import param


@dataclass(frozen=True)
class ActionDef:
    """One action of a spec: its name, the function that runs it, and its fairness."""

    name: str
    fn: Callable[..., Any]
    fair: bool | str = False
    where: str | None = None


@dataclass(frozen=True)
class PropertyDef:
    """One named property: invariant, action_invariant, reachable, or a liveness kind."""

    name: str
    kind: str
    fn: Callable[..., Any]
    extra: Any = None
    where: str | None = None


def where_of(fn: Callable) -> str | None:
    """Returns "file:line" of a function's definition, when Python knows it."""
    try:
        fn = inspect.unwrap(fn)
        return f"{inspect.getsourcefile(fn)}:{fn.__code__.co_firstlineno}"
    except (OSError, TypeError, AttributeError):
        return None


class Spec:
    """Base class of a plain state-machine spec: subclass it, define `init` and `@action` methods."""

    _actions: ClassVar[tuple[ActionDef, ...]] = ()
    _properties: ClassVar[tuple[PropertyDef, ...]] = ()
    _param_defs: ClassVar[dict[str, param]] = {}

    #: Checks `explore check` runs for this spec: a list of `Expect(...)` (see explorer.dsl.expect).
    checks: ClassVar[tuple] = ()

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        actions: dict[str, ActionDef] = {}
        props: dict[str, PropertyDef] = {}
        params: dict[str, param] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, param):
                    params[name] = value
                    continue
                fn = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
                mark: Mark | None = getattr(fn, MARK, None)
                if mark is None:  # a plain method overriding an inherited action or property
                    actions.pop(name, None)
                    props.pop(name, None)
                    continue
                if mark.kind == "action":
                    actions[name] = ActionDef(name, fn, mark.fair, where_of(fn))
                elif mark.kind in PROPERTY_KINDS:
                    props[name] = PropertyDef(name, mark.kind, fn, mark.extra, where_of(fn))
        cls._actions = tuple(actions.values())
        cls._properties = tuple(props.values())
        cls._param_defs = params

    # ------------------------------------------------------------------ the spec's own hooks
    def init(self) -> None:
        """Sets the initial state's fields. `choose` here gives several initial states."""
        raise SpecError(f"{type(self).__name__} does not define init()", hint="def init(self): self.x = 0")

    def terminal(self) -> bool:
        """Says whether a state with no enabled action is a proper end (not a deadlock)."""
        return False

    # ------------------------------------------------------------------ field access
    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: a state field not read yet in this step.
        d = self.__dict__
        ctx = d.get("_ctx")
        if ctx is None:
            raise AttributeError(name)
        i = ctx.field_index.get(name)
        if i is None:
            if ctx.fields is None:  # during init: reading a field before assigning it
                raise AttributeError(
                    f"{type(self).__name__}.{name} is read in init() before it is assigned"
                )
            raise AttributeError(f"{type(self).__name__} has no field or method {name!r}")
        value = d["_state"][i]
        if ctx.read is not None:  # a batched engine records which fields a step reads
            value = ctx.read(i, value)
        elif ctx.thaw is not None:
            value = ctx.thaw(value)
        d[name] = value
        return value

    @classmethod
    def model(cls, **params: Any):
        """Returns the explorable model of this spec with the given parameter values."""
        return cls.build_model(params)

    @classmethod
    def build_model(cls, params: dict[str, Any] | None = None, faults: Any = None):
        """Returns the model the engine explores; plain specs take no fault budget."""
        from ..actors.faults import parse_faults
        from ..errors import UsageError
        from .model import SpecModel

        if parse_faults(faults):
            raise UsageError(f"--faults applies to actor specs (explorer.Protocol); {cls.__name__} is a plain Spec",
                             hint="model faults as actions of the spec, or write it with Node and Protocol")
        return SpecModel(cls, params)

    def __repr__(self) -> str:
        d = self.__dict__
        ctx = d.get("_ctx")
        if ctx is None or ctx.fields is None:
            return f"<{type(self).__name__}>"
        vals = ", ".join(f"{f}={d['_state'][i]!r}" for i, f in enumerate(ctx.fields))
        return f"<{type(self).__name__} {vals}>"
