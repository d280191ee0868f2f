"""The unbiased pass@k estimator against values worked out by hand."""

from __future__ import annotations

import itertools

import pytest
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.train.eval import pass_at_k


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 1, 1, 1.0),
        (1, 0, 1, 0.0),
        (10, 3, 1, 0.3),  # pass@1 is the fraction correct
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (5, 2, 4, 1.0),  # n - c = 3 < k: every 4-subset holds a correct one
        (6, 0, 3, 0.0),
        (10, 1, 10, 1.0),
    ],
)
def test_hand_values(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected), (n, c, k)


def test_equals_the_mean_over_all_k_subsets() -> None:
    outcomes = [True, False, False, True, False, False, False]
    k = 3
    subsets = list(itertools.combinations(outcomes, k))
    brute = sum(any(s) for s in subsets) / len(subsets)
    assert pass_at_k(len(outcomes), sum(outcomes), k) == pytest.approx(brute)


@pytest.mark.parametrize(("n", "c", "k"), [(3, 1, 4), (3, 1, 0), (3, 4, 1), (3, -1, 1)])
def test_bad_counts_are_config_errors(n: int, c: int, k: int) -> None:
    with pytest.raises(ConfigError):
        pass_at_k(n, c, k)
