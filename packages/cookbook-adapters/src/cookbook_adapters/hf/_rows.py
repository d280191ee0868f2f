"""`Rows` views over `datasets.Dataset` (memory-mapped) and `datasets.IterableDataset` (streamed).

Every transform returns a new view and reads nothing: map-style views use Arrow
index mappings, streamed views chain the library's lazy iterators.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from typing import Any

from cookbook_runtime.errors import AdapterUnavailable, DataError
from cookbook_runtime.ports import Rows, shuffled_order, shuffled_positions

try:
    import datasets
    import numpy as np
except ModuleNotFoundError as exc:  # pragma: no cover - only without the extra
    raise AdapterUnavailable("hf", exc.name or "datasets", "hf") from exc

__all__ = ["HFRows"]

SHUFFLE_BUFFER = 10_000
"""Rows a streamed shuffle holds at once (shards are shuffled too)."""


class HFRows:
    """Rows of one split. `len()` of a streamed view raises `TypeError`, as the port allows."""

    def __init__(
        self,
        data: datasets.Dataset | datasets.IterableDataset,
        *,
        shuffle_buffer: int = SHUFFLE_BUFFER,
        label: str = "dataset",
    ) -> None:
        self.data = data
        self.shuffle_buffer = shuffle_buffer
        self.label = label

    @property
    def streaming(self) -> bool:
        return isinstance(self.data, datasets.IterableDataset)

    def _wrap(self, data: datasets.Dataset | datasets.IterableDataset) -> HFRows:
        return HFRows(data, shuffle_buffer=self.shuffle_buffer, label=self.label)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Rows as plain dicts; a file that turns out malformed mid-stream raises `DataError`."""
        rows = iter(self.data)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception as exc:
                text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise DataError(f"cannot read rows of {self.label}: {text[:160]}") from exc
            yield dict(row)

    def __len__(self) -> int:
        if isinstance(self.data, datasets.Dataset):
            return int(self.data.num_rows)
        raise TypeError("a streamed dataset has no length; iterate it, or open it with streaming=False")

    def shuffle(self, seed: int) -> HFRows:
        """Map-style: the runtime's `shuffled_order(seed, n)`, as every store orders rows,
        applied as an Arrow index mapping (no row is read). Streamed (no length): shards
        reordered, then a buffered shuffle, which no other store can match."""
        if isinstance(self.data, datasets.Dataset):
            return self._wrap(self.data.select(_index_array(shuffled_order(seed, self.data.num_rows))))
        return self._wrap(self.data.shuffle(seed=seed, buffer_size=self.shuffle_buffer))

    def take(self, n: int) -> HFRows:
        if isinstance(self.data, datasets.Dataset):
            return self._wrap(self.data.select(range(min(max(n, 0), self.data.num_rows))))
        return self._wrap(self.data.take(max(n, 0)))

    def skip(self, n: int) -> HFRows:
        if isinstance(self.data, datasets.Dataset):
            start = min(max(n, 0), self.data.num_rows)
            return self._wrap(self.data.select(range(start, self.data.num_rows)))
        return self._wrap(self.data.skip(max(n, 0)))

    def select(self, indices: Sequence[int]) -> Rows:
        if isinstance(self.data, datasets.Dataset):
            return self._wrap(self.data.select(_index_array(indices)))
        return _Selected(self, list(indices))


def _index_array(indices: Sequence[int]) -> Any:
    """Indices in the cheapest form `Dataset.select` takes: a range stays a range (a
    contiguous slice, no index mapping); an `array('q')` of a whole epoch's order is
    viewed by numpy without copying, instead of becoming a million Python ints."""
    if isinstance(indices, range):
        return indices
    if isinstance(indices, array) and indices.typecode == "q":
        return np.frombuffer(indices, dtype=np.int64)
    return np.fromiter(indices, dtype=np.int64, count=len(indices))


class _Selected:
    """Chosen rows of a streamed view, in the order asked for.

    Iterating reads the stream up to the largest index and keeps only the chosen
    rows, so memory grows with the selection, not with the dataset.
    """

    def __init__(self, source: HFRows, indices: list[int]) -> None:
        if any(i < 0 for i in indices):
            raise IndexError("a streamed dataset cannot be selected with negative indices")
        self.source = source
        self.indices = indices

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if not self.indices:
            return
        wanted = set(self.indices)
        last = max(wanted)
        found: dict[int, dict[str, Any]] = {}
        for i, row in enumerate(self.source):
            if i in wanted:
                found[i] = row
            if i >= last:
                break
        missing = wanted - found.keys()
        if missing:
            raise IndexError(f"index {min(missing)} is past the end of the streamed dataset")
        for i in self.indices:
            yield found[i]

    def __len__(self) -> int:
        return len(self.indices)

    def shuffle(self, seed: int) -> _Selected:
        return _Selected(self.source, list(shuffled_positions(seed, self.indices)))

    def take(self, n: int) -> _Selected:
        return _Selected(self.source, self.indices[: max(n, 0)])

    def skip(self, n: int) -> _Selected:
        return _Selected(self.source, self.indices[max(n, 0) :])

    def select(self, indices: Sequence[int]) -> _Selected:
        return _Selected(self.source, [self.indices[i] for i in indices])
