"""Counterexample traces and their renderings (text, JSON, Graphviz)."""
from .model import Trace, TraceStep

__all__ = ["Trace", "TraceStep"]
