"""Supervised data: conversation rows to datums, shuffled per epoch and batched lazily."""

from cookbook_runtime.train.data._conversations import ROLES, conversation_from_row
from cookbook_runtime.train.data._splits import open_supervised_splits
from cookbook_runtime.train.data._supervised import (
    Batch,
    SupervisedDataset,
    ToDatum,
)

__all__ = [
    "ROLES",
    "Batch",
    "SupervisedDataset",
    "ToDatum",
    "conversation_from_row",
    "open_supervised_splits",
]
