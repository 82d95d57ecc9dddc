"""explorer: a model checker for distributed protocols, written as small Python classes.

    from explorer import Spec, action, invariant, require, choose, param

Data flow: a spec file -> `dsl` (a Spec; `actors` compile onto it) -> `engine` (explores it) ->
`Result` with `Trace`s -> `trace` (renders them) -> `cli` (prints, picks the exit code).
"""
from .actors import Message, Node, Protocol, durable, on, timer
from .api import boundary, check, load_model
from .dsl import (
    Spec,
    action,
    action_invariant,
    always_eventually,
    choose,
    eventually,
    invariant,
    leads_to,
    param,
    reachable,
    require,
)
from .engine import Options, Result, Violation
from .errors import ActionError, ExplorerError, NonDeterminismError, SpecError, UsageError

__version__ = "0.1.0"

__all__ = [
    "ActionError", "ExplorerError", "Message", "Node", "NonDeterminismError", "Options", "Protocol", "Result",
    "Spec", "SpecError", "UsageError", "Violation", "action", "action_invariant", "always_eventually", "boundary",
    "check",
    "choose", "durable", "eventually", "invariant", "leads_to", "load_model", "on", "param", "reachable",
    "require", "timer",
]
