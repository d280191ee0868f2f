"""Tulu 3 SFT mixture (`allenai/tulu-3-sft-mixture`): about 940k conversations from many sources.

Rows hold `id`, `source` and `messages`; the hub has only a `train` split, so, as
in tinker-cookbook, 1024 rows are held out for evaluation after a seeded shuffle
and only the last assistant message of each conversation carries loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.train.renderers import TrainOnWhat

from cookbook_recipes.datasets.conversations import normalize_messages

__all__ = ["NAME", "TEST_SIZE", "TRAIN_ON_WHAT", "normalize_row", "tulu3_ref"]

NAME = "allenai/tulu-3-sft-mixture"
TEST_SIZE = 1024
TRAIN_ON_WHAT = TrainOnWhat.LAST_ASSISTANT_MESSAGE


def tulu3_ref(
    *,
    name: str = NAME,
    test_size: int = TEST_SIZE,
    revision: str | None = None,
    streaming: bool = False,
) -> DatasetRef:
    """The Tulu 3 train split with `test_size` rows carved off for evaluation.

    The mixture is large (several GB): map-style reads memory-map it; `streaming=True`
    avoids preparing it on disk first, at the cost of a buffered (approximate) shuffle.
    """
    return DatasetRef(
        name=name,
        split="train",
        test_size=test_size,
        revision=revision,
        streaming=streaming,
        messages_field="messages",
    )


def normalize_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """`{"messages": [...], "source": ...}`: the conversation plus the sub-dataset it came from."""
    return {"messages": normalize_messages(row["messages"]), "source": row.get("source")}
