"""Answer extraction and grading for math envs: boxed answers, numbers, GSM8K's `####`.

Graders compare normalised strings and, where both sides are numbers (integers,
decimals, fractions, thousands separators, a trailing unit or dollar sign), their
values. That covers GSM8K and most MATH answers without a CAS; answers that need
symbolic equivalence (`\\frac{1}{2}` against `0.5` is handled, `x^2+2x` against
`x(x+2)` is not) count as wrong, which only under-rewards.
"""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = ["extract_boxed", "extract_gsm8k_answer", "grade_answer", "last_number", "parse_number"]

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def extract_boxed(text: str) -> str | None:
    """The content of the last `\\boxed{...}` (braces balanced), or None."""
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j].strip()
    return None


def extract_gsm8k_answer(solution: str) -> str:
    """The final answer of a GSM8K solution: what follows `####`."""
    _, sep, answer = solution.rpartition("####")
    if not sep:
        raise ValueError("a GSM8K solution without '####' has no final answer")
    return answer.strip().replace(",", "")


def last_number(text: str) -> str | None:
    """The last number written in `text`, or None."""
    found = _NUMBER.findall(text)
    return found[-1].replace(",", "") if found else None


def _strip(answer: str) -> str:
    s = answer.strip().strip("$").strip()
    s = re.sub(r"\\(?:text|mathrm|textbf)\{([^}]*)\}", r"\1", s)
    s = s.replace("\\!", "").replace("\\,", "").replace("\\ ", "").replace("\\left", "").replace("\\right", "")
    s = s.replace("dfrac", "frac").replace("tfrac", "frac").replace("^\\circ", "").replace("^{\\circ}", "")
    s = s.rstrip(".").replace(" ", "")
    return s


def parse_number(answer: str) -> Fraction | None:
    """The value of a numeric answer (`1,234`, `-3.5`, `\\frac{3}{4}`, `3/4`, `$5`, `12 dollars`), else None."""
    s = _strip(answer)
    frac = re.fullmatch(r"(-?)\\frac\{?(-?\d+)\}?\{?(-?\d+)\}?", s)
    if frac:
        sign = -1 if frac.group(1) else 1
        den = int(frac.group(3))
        return sign * Fraction(int(frac.group(2)), den) if den else None
    slash = re.fullmatch(r"(-?\d+)/(-?\d+)", s)
    if slash:
        den = int(slash.group(2))
        return Fraction(int(slash.group(1)), den) if den else None
    num = re.fullmatch(r"(-?\d[\d,]*(?:\.\d+)?|-?\.\d+)(?:[a-zA-Z%]*)", s)
    if num:
        try:
            return Fraction(num.group(1).replace(",", ""))
        except ValueError:
            return None
    return None


def grade_answer(given: str | None, reference: str) -> bool:
    """Whether `given` states the same answer as `reference` (numerically or as normalised text)."""
    if given is None:
        return False
    a, b = parse_number(given), parse_number(reference)
    if a is not None and b is not None:
        return a == b
    return _strip(given) == _strip(reference) and _strip(reference) != ""
