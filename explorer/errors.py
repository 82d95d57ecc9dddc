"""One hierarchy for every error a user can cause, each with a stable exit code.

The CLI maps these to exit codes (DESIGN section 8): 2 for usage errors, 3 for spec errors.
A message names the file and line where it can, and says what to do.
"""
from __future__ import annotations


class ExplorerError(Exception):
    """Base of every error explorer raises on purpose."""

    exit_code = 3

    def __init__(self, message: str, *, hint: str | None = None, where: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where  # "file.py:12" when known

    def render(self) -> str:
        head = f"{self.where}: {self.message}" if self.where else self.message
        return head + (f"\n  hint: {self.hint}" if self.hint else "")

    def __str__(self) -> str:
        return self.render()


class UsageError(ExplorerError):
    """A bad flag, parameter value or fault budget (exit code 2)."""

    exit_code = 2


class SpecError(ExplorerError, TypeError):
    """The spec does not load, is malformed, or cannot be explored (exit code 3)."""

    exit_code = 3


class ActionError(SpecError):
    """An action or property raised an exception while it ran; carries the trace that led there."""

    def __init__(self, message: str, *, trace=None, **kw):
        super().__init__(message, **kw)
        self.trace = trace


class NonDeterminismError(SpecError):
    """Running one action twice with the same choices gave different states."""


class TraceFileError(UsageError):
    """A saved trace file is unreadable or belongs to another spec."""
