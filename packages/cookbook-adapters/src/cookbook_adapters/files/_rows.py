"""`FileRows`: a lazy view over a `Source`, as a range or a list of positions.

Transforms compose positions and never read rows: `shuffle`, `take`, `skip` and
`select` return new views; only iteration touches the file.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from cookbook_adapters.files._sources import Source

__all__ = ["FileRows"]


class FileRows:
    """Rows of one file; `order` is None (all rows in file order), a range or explicit positions."""

    def __init__(self, source: Source, order: range | list[int] | None = None) -> None:
        self._source = source
        self._order = order

    def _positions(self) -> range | list[int]:
        return self._order if self._order is not None else range(len(self._source))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self._order is None:
            return self._source.iter_range(0, sys.maxsize)
        if isinstance(self._order, range) and self._order.step == 1:
            return self._source.iter_range(self._order.start, self._order.stop)
        return self._source.iter_indices(self._order)

    def __len__(self) -> int:
        order = self._order
        if isinstance(order, range) and order.step == 1:  # `take` may reach past the end
            total = len(self._source)
            return len(range(min(order.start, total), min(order.stop, total)))
        return len(self._positions())

    def shuffle(self, seed: int) -> FileRows:
        order = list(self._positions())
        random.Random(seed).shuffle(order)
        return FileRows(self._source, order)

    def take(self, n: int) -> FileRows:
        if self._order is None and n >= 0:
            return FileRows(self._source, range(0, n)) if n < sys.maxsize else self
        return FileRows(self._source, self._positions()[: max(n, 0)])

    def skip(self, n: int) -> FileRows:
        return FileRows(self._source, self._positions()[max(n, 0) :])

    def select(self, indices: Sequence[int]) -> FileRows:
        positions = self._positions()
        return FileRows(self._source, [positions[i] for i in indices])

    def __repr__(self) -> str:
        return f"FileRows({self._source!r})"
