"""The spec language: `Spec`, actions, `require`/`choose`, parameters and properties."""
from .choice import choose, require
from .decorators import action, action_invariant, always_eventually, eventually, invariant, leads_to, reachable
from .params import param
from .spec import Spec

__all__ = ["Spec", "action", "action_invariant", "always_eventually", "choose", "eventually", "invariant",
           "leads_to", "param", "reachable", "require"]
