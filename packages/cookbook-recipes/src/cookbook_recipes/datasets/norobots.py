"""NoRobots (`HuggingFaceH4/no_robots`): 9.5k human-written instruction conversations.

Rows hold `prompt`, `prompt_id`, `category` and `messages` (system/user/assistant
turns); the hub offers `train` and `test` splits. As in tinker-cookbook, every
assistant message carries loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.train.renderers import TrainOnWhat

from cookbook_recipes.datasets.conversations import normalize_messages

__all__ = ["NAME", "TRAIN_ON_WHAT", "normalize_row", "norobots_ref"]

NAME = "HuggingFaceH4/no_robots"
TRAIN_ON_WHAT = TrainOnWhat.ALL_ASSISTANT_MESSAGES


def norobots_ref(*, name: str = NAME, revision: str | None = None, streaming: bool = False) -> DatasetRef:
    """The NoRobots train split, evaluated on its test split.

    `name` may point at a local copy (a folder holding `train`/`test` files in the
    hub's schema) for offline runs.
    """
    return DatasetRef(
        name=name,
        split="train",
        test_split="test",
        revision=revision,
        streaming=streaming,
        messages_field="messages",
    )


def normalize_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """`{"messages": [...], "category": ...}`: the conversation plus its task category."""
    return {"messages": normalize_messages(row["messages"]), "category": row.get("category")}
