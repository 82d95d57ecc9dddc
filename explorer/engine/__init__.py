"""The explicit-state engine: state fingerprints, search strategies, results."""
from .options import Options
from .result import Result, Violation
from .search import Search

__all__ = ["Options", "Result", "Search", "Violation"]
