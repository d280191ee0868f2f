"""A preference dataset: rows -> comparisons -> interleaved (chosen, rejected) datums, per batch.

Like the supervised dataset, rows stay behind the `Rows` port and are converted one
batch at a time, and epoch `e` visits them in a permutation drawn from `seed + e`, so
a resumed run rebuilds the order it stopped in. A batch of `batch_size` rows yields
one pair per row, minus ties and (with `skip_malformed`) bad rows, which are counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cookbook_runtime.errors import ConfigError, DataError
from cookbook_runtime.ports import Rows, shuffled_order
from cookbook_runtime.train.preference.formats import ComparisonFormat
from cookbook_runtime.train.preference.types import Comparison
from cookbook_runtime.types import Datum

__all__ = ["PairBatch", "PreferenceDataset", "ToDatums"]

logger = logging.getLogger(__name__)

ToDatums = Callable[[Comparison], tuple[Datum, Datum]]


@dataclass(frozen=True, slots=True)
class PairBatch:
    """One batch: datums `[chosen_0, rejected_0, chosen_1, ...]` and what was left out."""

    epoch: int
    index: int
    data: list[Datum]
    ties: int = 0
    skipped: int = 0

    @property
    def num_pairs(self) -> int:
        return len(self.data) // 2


class PreferenceDataset:
    """Batches of pairs over a `Rows` view, in a deterministic order per epoch."""

    def __init__(
        self,
        rows: Rows,
        row_format: ComparisonFormat,
        to_datums: ToDatums,
        *,
        batch_size: int,
        name: str,
        split: str = "train",
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = True,
        skip_malformed: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        self._rows = rows
        self._format = row_format
        self._to_datums = to_datums
        self.batch_size = batch_size
        self.name = name
        self.split = split
        self.seed = seed
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.skip_malformed = skip_malformed
        try:
            self.num_rows = len(rows)
        except TypeError:
            raise ConfigError(
                f"dataset {name!r} split {split!r} has no known length; DPO needs one: set streaming=false"
            ) from None

    @property
    def num_batches(self) -> int:
        full, rest = divmod(self.num_rows, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def _order(self, epoch: int) -> list[int]:
        if self.shuffle:
            return list(shuffled_order(self.seed + epoch, self.num_rows))
        return list(range(self.num_rows))

    def batches(self, epoch: int, start_batch: int = 0) -> Iterator[PairBatch]:
        """Batches `start_batch..` of `epoch`, converted lazily."""
        end = min(self.num_batches * self.batch_size, self.num_rows)
        order = self._order(epoch)
        for index in range(start_batch, self.num_batches):
            indices = order[index * self.batch_size : min((index + 1) * self.batch_size, end)]
            data: list[Datum] = []
            ties = skipped = 0
            for row_index, row in zip(indices, self._rows.select(indices), strict=True):
                try:
                    pair = self.convert(row, row_index)
                except DataError:
                    if not self.skip_malformed:
                        raise
                    skipped += 1
                    continue
                if pair is None:
                    ties += 1
                else:
                    data.extend(pair)
            yield PairBatch(epoch, index, data, ties, skipped)

    def convert(self, row: object, index: int) -> tuple[Datum, Datum] | None:
        """One row's (chosen, rejected) datums, None for a tie; `DataError` names the row."""
        try:
            comparison = self._format(row)  # type: ignore[arg-type]
            return None if comparison is None else self._to_datums(comparison)
        except DataError as exc:
            if self.skip_malformed:
                logger.warning("skipping malformed row %d of %s/%s: %s", index, self.name, self.split, exc)
            raise DataError(f"dataset {self.name!r} split {self.split!r} row {index}: {exc}") from exc

    def check_first_rows(self, n: int = 4) -> None:
        """Convert the first `n` rows in file order, raising on the first malformed one."""
        for index, row in enumerate(self._rows.take(n)):
            self.convert(row, index)
