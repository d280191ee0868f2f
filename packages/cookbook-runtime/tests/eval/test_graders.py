"""The exact, numeric and boxed graders, and the grader registry."""

from __future__ import annotations

import pytest
from cookbook_runtime.errors import UnknownNameError
from cookbook_runtime.train.eval import extract_boxed, get_grader


@pytest.mark.parametrize(
    ("name", "completion", "references", "expected"),
    [
        ("exact", " a  b ", ["a b"], True),
        ("exact", "a b c", ["a b"], False),
        ("exact", "z", ["x", "z"], True),
        ("numeric", "The answer is 42.", ["42"], True),
        ("numeric", "12 + 30 = 42", ["42"], True),
        ("numeric", "first 42, then 41", ["42"], False),  # the last number counts
        ("numeric", "It costs $1,234.50", ["1234.5"], True),
        ("numeric", "-7", ["-7"], True),
        ("numeric", "3/4", ["0.75"], True),
        ("numeric", "no number here", ["1"], False),
        ("numeric", "2.0", ["2"], True),
        ("boxed", "so \\boxed{12}", ["12"], True),
        ("boxed", "\\boxed{1} then \\boxed{\\frac{1}{2}}", ["\\frac{1}{2}"], True),
        ("boxed", "\\boxed{ 0.50 }", ["1/2"], True),
        ("boxed", "12", ["12"], False),  # no box, no credit
        ("boxed", "\\boxed{13}", ["12"], False),
    ],
)
def test_grader_cases(name: str, completion: str, references: list[str], expected: bool) -> None:
    assert get_grader(name)(completion, references) is expected, (name, completion, references)


def test_extract_boxed_balances_braces_and_reports_unclosed() -> None:
    assert extract_boxed("x \\boxed{a{b}c} y") == "a{b}c"
    assert extract_boxed("\\boxed{open") is None
    assert extract_boxed("none") is None


def test_unknown_grader_lists_the_known_ones() -> None:
    with pytest.raises(UnknownNameError, match="known: boxed, exact, numeric"):
        get_grader("exactly")
