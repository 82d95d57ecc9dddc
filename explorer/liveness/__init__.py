"""Liveness under fairness: the whole state graph, fair strongly connected components, lasso traces.

`check_liveness(model, options, result)` is what `explorer.check()` calls after the safety search;
docs/liveness.md states the semantics (tasks, weak and strong fairness, stuttering).
"""
from .check import check_liveness, refusal
from .fairness import Fairness

__all__ = ["check_liveness", "refusal", "Fairness"]
