"""`FileRows`: a lazy view over a `Source`, as a range or a list of positions.

Transforms compose positions and never read rows: `shuffle`, `take`, `skip` and
`select` return new views; only iteration touches the file. Explicit positions are
an `array('q')` (8 bytes a row), never a list of Python ints (~36 bytes a row): a
training epoch selects every row in a new order, so a list would cost ~36 MB per
million rows each epoch.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator, Sequence
from typing import Any

from cookbook_runtime.ports import shuffled_positions

from cookbook_adapters.files._sources import Source

__all__ = ["FileRows"]


class FileRows:
    """Rows of one file; `order` is None (all rows in file order), a range or explicit positions."""

    def __init__(self, source: Source, order: range | array[int] | None = None) -> None:
        self._source = source
        self._order = order

    def _positions(self) -> range | array[int]:
        return self._order if self._order is not None else range(len(self._source))

    def _bounded_positions(self) -> range | array[int]:
        """The positions that hold rows (`take` may name a range past the end of the file)."""
        order = self._order
        if isinstance(order, range) and order.step == 1:
            total = len(self._source)
            return range(min(order.start, total), min(order.stop, total))
        return self._positions()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self._order is None:
            return self._source.iter_range(0, sys.maxsize)
        if isinstance(self._order, range) and self._order.step == 1:
            return self._source.iter_range(self._order.start, self._order.stop)
        return self._source.iter_indices(self._order)

    def __len__(self) -> int:
        return len(self._bounded_positions())

    def shuffle(self, seed: int) -> FileRows:
        return FileRows(self._source, shuffled_positions(seed, self._bounded_positions()))

    def take(self, n: int) -> FileRows:
        if self._order is None and n >= 0:
            return FileRows(self._source, range(0, n)) if n < sys.maxsize else self
        return FileRows(self._source, self._positions()[: max(n, 0)])

    def skip(self, n: int) -> FileRows:
        return FileRows(self._source, self._positions()[max(n, 0) :])

    def select(self, indices: Sequence[int]) -> FileRows:
        positions = self._positions()
        chosen = array("q", indices)
        if self._order is None and (not chosen or (min(chosen) >= 0 and max(chosen) < len(positions))):
            return FileRows(self._source, chosen)  # file order: the indices are the positions
        return FileRows(self._source, array("q", (positions[i] for i in chosen)))

    def __repr__(self) -> str:
        return f"FileRows({self._source!r})"
