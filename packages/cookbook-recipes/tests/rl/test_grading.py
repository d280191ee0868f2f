"""Answer extraction and grading for the math envs."""

from __future__ import annotations

import pytest
from cookbook_recipes.rl_envs._grading import (
    extract_boxed,
    extract_gsm8k_answer,
    grade_answer,
    last_number,
)


def test_extract_boxed_takes_the_last_balanced_box() -> None:
    assert extract_boxed(r"first \boxed{1} then \boxed{\frac{3}{4}} done") == r"\frac{3}{4}"
    assert extract_boxed("no box here") is None
    assert extract_boxed(r"\boxed{unclosed") is None


def test_gsm8k_answer_follows_the_hashes() -> None:
    assert extract_gsm8k_answer("She pays 3*4=<<3*4=12>>12.\n#### 1,200") == "1200"
    with pytest.raises(ValueError, match="####"):
        extract_gsm8k_answer("no final answer")


@pytest.mark.parametrize(
    ("given", "reference", "expected"),
    [
        ("1,200", "1200", True),
        ("$18", "18", True),
        (r"\frac{3}{4}", "0.75", True),
        ("3/4", r"\dfrac{3}{4}", True),
        ("12 dollars", "12", True),
        ("-5", "5", False),
        (r"\text{(B)}", "(B)", True),
        ("x+1", "x + 1", True),
        (None, "3", False),
        ("", "", False),
    ],
)
def test_grade_answer(given: str | None, reference: str, expected: bool) -> None:
    assert grade_answer(given, reference) is expected, (given, reference)


def test_last_number() -> None:
    assert last_number("17 + 75 = 92") == "92"
    assert last_number("no digits") is None
