"""The one shuffled row order every `DatasetStore` uses: a function of (seed, row count).

`Rows.shuffle(seed)` on a view of `n` rows returns its rows in the order
`shuffled_order(seed, n)`, whichever adapter holds them, and the training loops draw
their epoch orders from the same function. So the same rows give the same held-out
split and the same batches on every store: a recipe run on the `tinker` manifest
(the `hf` store) trains on the examples a local run (the `files` store) trains on.

The permutation is the standard library's Fisher-Yates shuffle (`random.Random(seed)`)
of `0..n-1`, kept as an `array('q')` (8 bytes a row, not a list of Python ints), so it
is stable across Python versions and needs no numpy.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Sequence

__all__ = ["shuffled_order", "shuffled_positions"]


def shuffled_order(seed: int, n: int) -> array[int]:
    """A permutation of `range(n)` fixed by `seed` (position `i` of the shuffle reads row `order[i]`)."""
    if n < 0:
        raise ValueError(f"a row count cannot be negative, got {n}")
    order = array("q", range(n))
    random.Random(seed).shuffle(order)
    return order


def shuffled_positions(seed: int, positions: Sequence[int]) -> array[int]:
    """`positions` reordered by `shuffled_order(seed, len(positions))`, for views that are
    already a selection of positions: `result[i] == positions[order[i]]`."""
    chosen = array("q", positions)
    random.Random(seed).shuffle(chosen)  # the same swaps as shuffling range(len): Fisher-Yates depends only on n
    return chosen
