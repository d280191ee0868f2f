"""Opening a `DatasetRef`'s training and held-out splits as supervised datasets."""

from __future__ import annotations

from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.ports import DatasetStore
from cookbook_runtime.train.data._supervised import SupervisedDataset, ToDatum

__all__ = ["open_supervised_splits"]


def open_supervised_splits(
    store: DatasetStore,
    ref: DatasetRef,
    to_datum: ToDatum,
    *,
    batch_size: int,
    seed: int = 0,
    test_batch_size: int | None = None,
) -> tuple[SupervisedDataset, SupervisedDataset | None]:
    """The training dataset and, when the ref names one, the held-out dataset.

    A `test_split` is opened as-is; otherwise `test_size` rows are carved off the
    training split after a shuffle by `seed`, so the held-out rows never train.
    """
    train_rows = store.open(ref, ref.split)
    test_rows = None
    test_split = ref.test_split
    if test_split is not None:
        test_rows = store.open(ref, test_split)
    elif ref.test_size > 0:
        base = train_rows.shuffle(seed)
        test_rows, train_rows = base.take(ref.test_size), base.skip(ref.test_size)
        test_split = f"{ref.split}[:{ref.test_size}]"
    train = SupervisedDataset(
        train_rows,
        to_datum,
        batch_size=batch_size,
        name=ref.name,
        split=ref.split,
        messages_field=ref.messages_field,
        skip_malformed=ref.skip_malformed,
        seed=seed,
    )
    test = None
    if test_rows is not None:
        test = SupervisedDataset(
            test_rows,
            to_datum,
            batch_size=test_batch_size or batch_size,
            name=ref.name,
            split=test_split or "test",
            messages_field=ref.messages_field,
            skip_malformed=ref.skip_malformed,
            shuffle=False,
            drop_last=False,
            )
    return train, test
