"""`shuffled_order(seed, n)`: the one row order every dataset store and loop shuffles by."""

from __future__ import annotations

import random

import pytest
from cookbook_runtime.ports import shuffled_order, shuffled_positions
from cookbook_runtime.testing import FakeRows
from cookbook_runtime.train.data import SupervisedDataset


@pytest.mark.parametrize("n", [0, 1, 2, 17, 1000])
def test_a_seeded_permutation_of_range_n(n: int) -> None:
    for seed in (0, 1, 99):
        order = shuffled_order(seed, n)
        assert sorted(order) == list(range(n)), f"seed {seed}, n {n}: not a permutation"
        assert list(order) == list(shuffled_order(seed, n)), f"seed {seed}, n {n}: not deterministic"


def test_pinned_values() -> None:
    """Changing the permutation would silently change every run's batches and held-out split."""
    assert list(shuffled_order(0, 10)) == [7, 8, 1, 5, 3, 4, 2, 0, 9, 6]
    assert list(shuffled_order(42, 6)) == [3, 1, 2, 4, 0, 5]


def test_seeds_differ() -> None:
    assert list(shuffled_order(1, 50)) != list(shuffled_order(2, 50))


def test_positions_follow_the_same_order() -> None:
    positions = [p * 3 + 5 for p in range(40)]
    for seed in (0, 7, 123):
        assert list(shuffled_positions(seed, positions)) == [positions[i] for i in shuffled_order(seed, 40)]
        assert list(shuffled_positions(seed, range(40))) == list(shuffled_order(seed, 40))


def test_negative_count_is_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        shuffled_order(0, -1)


def test_epoch_order_and_the_fake_store_use_it() -> None:
    rows = FakeRows([{"id": i} for i in range(30)])
    assert [r["id"] for r in rows.shuffle(5)] == list(shuffled_order(5, 30))
    dataset = SupervisedDataset(rows, lambda m: None, batch_size=4, name="x", seed=3)  # type: ignore[arg-type,return-value]
    assert list(dataset.epoch_order(2)) == list(shuffled_order(5, 30))
    assert list(shuffled_order(3, 30)) != list(shuffled_order(5, 30))
    order = list(range(30))
    random.Random(3 + 2).shuffle(order)
    assert list(dataset.epoch_order(2)) == order, "epoch orders changed: resumed runs would lose their place"
