from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from cookbook_runtime.errors import ConfigError, DataError
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.testing import FakeDatasetStore, FakeRows
from cookbook_runtime.train.data import SupervisedDataset, open_supervised_splits
from cookbook_runtime.train.types import Datum

from .conftest import byte_datum, chat_rows


def _dataset(rows: list[dict[str, Any]], **kw: Any) -> SupervisedDataset:
    return SupervisedDataset(FakeRows(rows), byte_datum, batch_size=kw.pop("batch_size", 4), name="chat", **kw)


def test_epoch_order_is_a_permutation_drawn_from_seed_plus_epoch() -> None:
    ds = _dataset(chat_rows(10), seed=7)
    expected = list(range(10))
    random.Random(7 + 2).shuffle(expected)
    assert list(ds.epoch_order(2)) == expected
    assert ds.epoch_order(0) != ds.epoch_order(1)


def test_same_seed_same_batches_and_resume_mid_epoch_matches() -> None:
    a = _dataset(chat_rows(12), seed=3)
    b = _dataset(chat_rows(12), seed=3)
    full = [[d.model_input.to_ints() for d in batch.data] for batch in a.batches(1)]
    assert full == [[d.model_input.to_ints() for d in batch.data] for batch in b.batches(1)]
    resumed = list(b.batches(1, start_batch=2))
    assert [batch.index for batch in resumed] == [2]
    assert [d.model_input.to_ints() for d in resumed[0].data] == full[2]


def test_batching_drops_the_last_partial_batch_unless_asked() -> None:
    assert _dataset(chat_rows(10), batch_size=4).num_batches == 2
    keep = _dataset(chat_rows(10), batch_size=4, drop_last=False, shuffle=False)
    assert keep.num_batches == 3
    assert [len(b.data) for b in keep.batches(0)] == [4, 4, 2]


class _CountingRows(FakeRows):
    """FakeRows that count how many rows have been read."""

    read = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in super().__iter__():
            _CountingRows.read += 1
            yield row

    def select(self, indices: Any) -> _CountingRows:
        return _CountingRows([self._rows[i] for i in indices])


def test_batches_are_converted_lazily_one_at_a_time() -> None:
    converted: list[int] = []

    def to_datum(messages: list[dict[str, Any]]) -> Datum:
        converted.append(1)
        return byte_datum(messages)

    _CountingRows.read = 0
    ds = SupervisedDataset(_CountingRows(chat_rows(1000)), to_datum, batch_size=8, name="big")
    first = next(iter(ds.batches(0)))
    assert len(first.data) == 8
    assert len(converted) == 8
    assert _CountingRows.read <= 9


@pytest.mark.parametrize(
    ("bad_row", "why"),
    [
        ({"text": "hi"}, "has no 'messages' field"),
        ({"messages": []}, "non-empty list"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "role 'robot'"),
        ({"messages": [{"role": "user", "content": 3}]}, "content must be"),
        ({"messages": ["hello"]}, "message 0 is not an object"),
    ],
)
def test_malformed_row_names_dataset_split_and_index(bad_row: dict[str, Any], why: str) -> None:
    rows = chat_rows(8)
    rows[5] = bad_row
    ds = _dataset(rows, shuffle=False)
    with pytest.raises(DataError, match=rf"dataset 'chat' split 'train' row 5 .*{why}"):
        list(ds.batches(0))


def test_malformed_rows_are_skipped_and_counted_when_asked() -> None:
    rows = chat_rows(8)
    rows[1] = {"text": "no messages"}
    rows[6] = {"messages": [{"role": "robot", "content": "x"}]}
    ds = _dataset(rows, skip_malformed=True, shuffle=False)
    batches = list(ds.batches(0))
    assert [len(b.data) for b in batches] == [3, 3]
    assert [b.skipped for b in batches] == [1, 1]
    assert ds.skipped == 2


def test_renderer_data_errors_are_tagged_with_the_row() -> None:
    def to_datum(messages: list[dict[str, Any]]) -> Datum:
        if messages[0]["content"] == "q2?":
            raise DataError("a datum needs at least 2 tokens")
        return byte_datum(messages)

    ds = SupervisedDataset(FakeRows(chat_rows(4)), to_datum, batch_size=4, name="chat", shuffle=False)
    with pytest.raises(DataError, match="dataset 'chat' split 'train' row 2: a datum needs"):
        list(ds.batches(0))


def test_test_split_or_carved_test_rows() -> None:
    store = FakeDatasetStore({"chat": {"train": chat_rows(20), "test": chat_rows(3, prefix="t")}})
    train, test = open_supervised_splits(
        store, DatasetRef(name="chat", test_split="test"), byte_datum, batch_size=4
    )
    assert (train.num_rows, test and test.num_rows) == (20, 3)
    assert test is not None and [len(b.data) for b in test.batches(0)] == [3]
    train, test = open_supervised_splits(store, DatasetRef(name="chat", test_size=5), byte_datum, batch_size=4, seed=1)
    assert test is not None and (train.num_rows, test.num_rows) == (15, 5)
    held = {bytes(d.model_input.to_ints()) for b in test.batches(0) for d in b.data}
    trained = {bytes(d.model_input.to_ints()) for e in (0, 1) for b in train.batches(e) for d in b.data}
    assert not held & trained
    _, none = open_supervised_splits(store, DatasetRef(name="chat"), byte_datum, batch_size=4)
    assert none is None


def test_unsized_rows_are_a_config_error() -> None:
    class Unsized(FakeRows):
        def __len__(self) -> int:
            raise TypeError("streaming")

    ds = SupervisedDataset(Unsized(chat_rows(3)), byte_datum, batch_size=2, name="stream")
    with pytest.raises(ConfigError, match="streaming=false"):
        _ = ds.num_batches
