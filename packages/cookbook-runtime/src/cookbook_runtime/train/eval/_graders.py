"""Graders: does a completion give one of the reference answers?

- `exact`: the whole reply equals a reference once whitespace is collapsed.
- `numeric`: the last number in the reply equals a numeric reference (commas,
  a leading `$` and trailing zeros do not matter; fractions like `3/4` count).
- `boxed`: the content of the last `\\boxed{...}` equals a reference (numerically
  when both are numbers), as math benchmarks grade.

A grader is a plain function `(completion, references) -> bool`, looked up by name,
so a task file can name its grader and a typo is reported with the known names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from fractions import Fraction

from cookbook_runtime.errors import UnknownNameError

__all__ = ["GRADERS", "Grader", "extract_boxed", "get_grader", "grader_names", "parse_number"]

Grader = Callable[[str, Sequence[str]], bool]

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")


def _collapse(text: str) -> str:
    return " ".join(text.split())


def parse_number(text: str) -> Fraction | None:
    """`text` as an exact number (`1,234`, `-0.50`, `$3`, `3/4`), or None."""
    cleaned = text.strip().strip("$").replace(",", "").strip()
    if not cleaned:
        return None
    try:
        return Fraction(cleaned)
    except (ValueError, ZeroDivisionError):
        return None


def _last_number(text: str) -> Fraction | None:
    found = _NUMBER.findall(text)
    return parse_number(found[-1]) if found else None


def extract_boxed(text: str) -> str | None:
    """The content of the last `\\boxed{...}` (braces balanced), or None."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth = 0
    i = start + len("\\boxed{")
    for j in range(i, len(text)):
        ch = text[j]
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                return text[i:j]
            depth -= 1
    return None


def exact(completion: str, references: Sequence[str]) -> bool:
    reply = _collapse(completion)
    return any(reply == _collapse(r) for r in references)


def numeric(completion: str, references: Sequence[str]) -> bool:
    got = _last_number(completion)
    if got is None:
        return False
    return any(got == parse_number(r) for r in references)


def boxed(completion: str, references: Sequence[str]) -> bool:
    content = extract_boxed(completion)
    if content is None:
        return False
    value = parse_number(content)
    for ref in references:
        ref_value = parse_number(ref)
        if value is not None and ref_value is not None:
            if value == ref_value:
                return True
        elif _collapse(content).replace(" ", "") == _collapse(ref).replace(" ", ""):
            return True
    return False


GRADERS: dict[str, Grader] = {"exact": exact, "numeric": numeric, "boxed": boxed}


def grader_names() -> list[str]:
    return sorted(GRADERS)


def get_grader(name: str) -> Grader:
    """The grader called `name`, or `UnknownNameError` listing the known ones."""
    try:
        return GRADERS[name]
    except KeyError:
        raise UnknownNameError("grader", name, grader_names()) from None
