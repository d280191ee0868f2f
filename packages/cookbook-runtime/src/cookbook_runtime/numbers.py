"""Numbers no setting can mean: non-finite floats and integers beyond 64 bits.

Every config and spec passes through `check_numbers` before a run, so `inf`,
`Infinity`, `nan` or `1e999` given for any numeric field (of any recipe, including
third-party ones) is refused naming the field, and so is an integer too large for
the 64-bit types every backend uses, instead of starting a run that overflows later.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from cookbook_runtime.errors import ConfigError

__all__ = ["INT_LIMIT", "check_numbers"]

INT_LIMIT = 2**63 - 1
"""Largest integer magnitude any setting may hold."""


def _problem(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, got {value}"
    if isinstance(value, int) and abs(value) > INT_LIMIT:
        return f"is too large ({len(str(abs(value)))} digits; at most {INT_LIMIT})"
    return None


def check_numbers(values: Any, *, prefix: str = "") -> None:
    """Raise `ConfigError` naming the first non-finite float or oversized int in `values`."""
    stack: list[tuple[str, Any]] = [("", values)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in value.items())
        elif isinstance(value, list | tuple):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value))
        else:
            problem = _problem(value)
            if problem is not None:
                raise ConfigError(f"{prefix}{where or 'value'} {problem}")
