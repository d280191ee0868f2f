"""`Rows` views over `datasets.Dataset` (memory-mapped) and `datasets.IterableDataset` (streamed).

Every transform returns a new view and reads nothing: map-style views use Arrow
index mappings, streamed views chain the library's lazy iterators.

Memory at a million rows: an epoch's order becomes an index mapping built straight
from the `array('q')` the runtime draws (8 bytes a row, no copy), not through
`Dataset.select`, which turns any index array into a Python list (~40 bytes a row,
a Python int or numpy scalar each) and hashes it for a fingerprint. Mapped views are
read a batch of rows at a time: `datasets` reads an index-mapped view row by row
otherwise, one Arrow query per row.
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
    import pyarrow as pa
    from datasets.fingerprint import generate_random_fingerprint
    from datasets.table import InMemoryTable
except ModuleNotFoundError as exc:  # pragma: no cover - only without the extra
    raise AdapterUnavailable("hf", exc.name or "datasets", "hf") from exc

__all__ = ["HFRows"]

SHUFFLE_BUFFER = 10_000
"""Rows a streamed shuffle holds at once (shards are shuffled too)."""

READ_BATCH = 512
"""Rows a map-style view reads from Arrow at once while iterating."""


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
        rows = _iter_rows(self.data)
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
            return self._wrap(_with_indices(self.data, shuffled_order(seed, self.data.num_rows)))
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
            if isinstance(indices, range) and indices.step == 1 and indices.start >= 0:
                return self._wrap(self.data.select(indices))  # a contiguous slice, no index mapping
            return self._wrap(_with_indices(self.data, indices))
        return _Selected(self, list(indices))


def _iter_rows(data: datasets.Dataset | datasets.IterableDataset) -> Iterator[dict[str, Any]]:
    """Rows of `data`; a map-style view is read `READ_BATCH` rows at a time, in order."""
    if not isinstance(data, datasets.Dataset):
        yield from data
        return
    for batch in data.iter(batch_size=READ_BATCH):
        columns = list(batch)
        for values in zip(*(batch[c] for c in columns), strict=True):
            yield dict(zip(columns, values, strict=True))


def _with_indices(data: datasets.Dataset, indices: Sequence[int]) -> datasets.Dataset:
    """`data` viewed through `indices` (row `i` of the view is row `indices[i]` of `data`).

    What `Dataset.select` does for a non-contiguous selection, without its copies: an
    `array('q')` is handed to Arrow as a zero-copy view, and an existing mapping is
    composed with one `take`. Out-of-range indices raise `IndexError`.
    """
    if (isinstance(indices, array) and indices.typecode == "q") or (
        isinstance(indices, memoryview) and indices.format == "q"
    ):
        positions = np.frombuffer(indices, dtype=np.int64)
    else:
        positions = np.fromiter(indices, dtype=np.int64, count=len(indices))
    size = data.num_rows
    if len(positions) and (int(positions.min()) < 0 or int(positions.max()) >= size):
        bad = int(positions.min()) if int(positions.min()) < 0 else int(positions.max())
        raise IndexError(f"index {bad} is out of range for a dataset of {size} rows")
    mapping = pa.array(positions.view(np.uint64))
    if data._indices is not None:  # a view of a view: compose the two mappings
        mapping = data._indices.column(0).take(mapping)
    view = datasets.Dataset(
        data.data,
        info=data.info.copy(),
        split=data.split,
        indices_table=InMemoryTable(pa.Table.from_arrays([mapping], names=["indices"])),
        fingerprint=generate_random_fingerprint(),
    )
    fmt = data.format
    if fmt["type"] is not None:
        view.set_format(fmt["type"], columns=fmt["columns"], output_all_columns=fmt["output_all_columns"], **fmt["format_kwargs"])
    return view


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
