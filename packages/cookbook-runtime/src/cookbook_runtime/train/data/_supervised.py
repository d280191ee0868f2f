"""A supervised dataset: rows of conversations, shuffled per epoch, converted per batch.

Rows stay behind the `Rows` port and are turned into `Datum`s one batch at a time, so
memory holds one batch of datums whatever the dataset's size. The order of epoch `e`
is a permutation drawn from `seed + e` over row indices, which keeps the original
index of every row (for error messages) and lets a resumed run rebuild exactly the
order it was interrupted in.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from cookbook_runtime.errors import ConfigError, DataError
from cookbook_runtime.ports import Rows, shuffled_order
from cookbook_runtime.train.data._conversations import conversation_from_row
from cookbook_runtime.types import Datum

__all__ = ["Batch", "SupervisedDataset", "ToDatum"]

logger = logging.getLogger(__name__)

ToDatum = Callable[[list[dict[str, Any]]], Datum]
"""Turns one conversation into a training datum (a renderer bound to its settings)."""


@dataclass(frozen=True, slots=True)
class Batch:
    """One batch of one epoch: its position and its datums (malformed rows left out)."""

    epoch: int
    index: int
    data: list[Datum]
    skipped: int = 0


class SupervisedDataset:
    """Batches of datums over a `Rows` view, in a deterministic order per epoch."""

    def __init__(
        self,
        rows: Rows,
        to_datum: ToDatum,
        *,
        batch_size: int,
        name: str,
        split: str = "train",
        messages_field: str = "messages",
        skip_malformed: bool = False,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        self._rows = rows
        self._to_datum = to_datum
        self.batch_size = batch_size
        self.name = name
        self.split = split
        self.messages_field = messages_field
        self.skip_malformed = skip_malformed
        self.seed = seed
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.skipped = 0
        """Malformed rows skipped so far, counted on every visit (only when `skip_malformed`)."""
        self._num_rows: int | None = None

    @property
    def num_rows(self) -> int:
        """Rows in the split; asks the port once."""
        if self._num_rows is None:
            try:
                self._num_rows = len(self._rows)
            except TypeError:
                raise ConfigError(
                    f"dataset {self.name!r} split {self.split!r} has no known length; "
                    "supervised training needs one: set streaming=false on the dataset"
                ) from None
        return self._num_rows

    @property
    def num_batches(self) -> int:
        """Batches per epoch (a last partial batch counts only without `drop_last`)."""
        full, rest = divmod(self.num_rows, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __len__(self) -> int:
        return self.num_batches

    def epoch_order(self, epoch: int) -> array[int]:
        """Row indices in the order epoch `epoch` visits them: `shuffled_order(seed + epoch, n)`,
        the order every dataset store shuffles by; 8 bytes a row."""
        if self.shuffle:
            return shuffled_order(self.seed + epoch, self.num_rows)
        return array("q", range(self.num_rows))

    def batches(self, epoch: int, start_batch: int = 0) -> Iterator[Batch]:
        """Batches `start_batch..` of `epoch`, converted lazily one at a time."""
        end = min(self.num_batches * self.batch_size, self.num_rows)
        # a view of the order, not a copy: 8 bytes a row saved each epoch
        indices = memoryview(self.epoch_order(epoch))[start_batch * self.batch_size : end]
        if not indices:
            return
        view = self._rows.select(indices) if self.shuffle else self._rows.skip(indices[0]).take(len(indices))
        batch_index = start_batch
        data: list[Datum] = []
        skipped = 0
        seen = 0
        for row_index, row in zip(indices, view, strict=False):
            datum = self._convert(row, row_index)
            if datum is None:
                skipped += 1
            else:
                data.append(datum)
            seen += 1
            if seen == self.batch_size:
                yield Batch(epoch, batch_index, data, skipped)
                batch_index += 1
                data, skipped, seen = [], 0, 0
        if seen:
            yield Batch(epoch, batch_index, data, skipped)

    def check_first_rows(self, n: int = 4) -> None:
        """Convert the first `n` rows in file order, raising on the first malformed one.

        A cheap check before a run starts (`preflight`): the rest are still checked
        lazily, each when its batch is built.
        """
        for index, row in enumerate(self._rows.take(n)):
            self._convert(row, index)

    def _convert(self, row: Any, index: int) -> Datum | None:
        try:
            messages = conversation_from_row(
                row, messages_field=self.messages_field, dataset=self.name, split=self.split, index=index
            )
            try:
                datum = self._to_datum(messages)
            except DataError as exc:
                raise DataError(f"dataset {self.name!r} split {self.split!r} row {index}: {exc}") from exc
            if not any(w > 0 for w in datum.weights()):
                raise DataError(
                    f"dataset {self.name!r} split {self.split!r} row {index} has no token that carries loss "
                    "(no assistant message, or all of it truncated); fix the row or set skip_malformed=true"
                )
            return datum
        except DataError as exc:
            if not self.skip_malformed:
                raise
            self.skipped += 1
            logger.warning("skipping malformed row %d of %s/%s: %s", index, self.name, self.split, exc)
            return None
