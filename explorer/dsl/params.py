"""Spec parameters: named, typed, defaulted values a user sets with `--param name=value`."""
from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError


@dataclass
class param:  # noqa: N801 - reads as a declaration in a spec: `n = param(3)`
    """Declares a spec parameter with a default; `choices` restricts its values.

    `symmetric=True` declares the param's values interchangeable ids (its elements, or range(n) for an
    int n): `--symmetry` then keeps one state per orbit of their permutations.
    `symbolic=True` (an int param, with inclusive `bounds=(lo, hi)`) lets `explore boundary` treat it
    as an unknown and find, with Z3, the formula over such params that says when the invariants
    hold; every other engine uses its value as usual (docs/symbolic.md).
    """

    default: Any
    help: str = ""
    choices: Sequence[Any] | None = None
    name: str = ""
    symmetric: bool = False
    symbolic: bool = False
    bounds: tuple[int, int] | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return obj._params[self.name]

    def parse(self, text: str) -> Any:
        """Converts a command-line string to this parameter's type, or says why it cannot."""
        d = self.default
        try:
            if isinstance(d, bool):
                low = text.strip().lower()
                if low in ("1", "true", "yes", "on"):
                    value: Any = True
                elif low in ("0", "false", "no", "off"):
                    value = False
                else:
                    raise ValueError
            elif isinstance(d, int):
                value = int(text)
            elif isinstance(d, float):
                value = float(text)
            elif isinstance(d, str) or d is None:
                value = text
            elif isinstance(d, (tuple, list, frozenset, set)):
                try:
                    value = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    value = tuple(x.strip() for x in text.split(",") if x.strip())
                if not isinstance(value, (tuple, list, set, frozenset)):
                    value = (value,)
                value = type(d)(value)
            else:
                value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise UsageError(
                f"--param {self.name}={text}: expected {_kind(d)}, got {text!r}",
                hint=f"for example --param {self.name}={d!r}" if not isinstance(d, str) else None,
            ) from None
        self.validate(value)
        return value

    def validate(self, value: Any) -> None:
        if self.choices is not None and value not in self.choices:
            raise UsageError(
                f"--param {self.name}={value}: not one of {', '.join(map(str, self.choices))}"
            )


def _kind(d: Any) -> str:
    if isinstance(d, bool):
        return "true or false"
    if isinstance(d, int):
        return "an integer"
    if isinstance(d, float):
        return "a number"
    if isinstance(d, (tuple, list)):
        return "a comma-separated list"
    return f"a value like {d!r}"
