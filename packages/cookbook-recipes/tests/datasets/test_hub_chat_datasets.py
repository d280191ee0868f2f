"""NoRobots and Tulu 3 builders, on small rows in each hub dataset's schema, through the training core."""

from __future__ import annotations

from typing import Any

import pytest
from cookbook_recipes.datasets import norobots, tulu3
from cookbook_runtime.errors import DataError
from cookbook_runtime.testing import FakeDatasetStore
from cookbook_runtime.train import Datum, ModelInput
from cookbook_runtime.train.data import open_supervised_splits


def _norobots_row(i: int) -> dict[str, Any]:
    """A row as `HuggingFaceH4/no_robots` stores it."""
    return {
        "prompt": f"Write a haiku about {i}.",
        "prompt_id": f"{i:064x}",
        "messages": [
            {"content": "You are a poet.", "role": "system"},
            {"content": f"Write a haiku about {i}.", "role": "user"},
            {"content": f"Haiku number {i}", "role": "assistant"},
        ],
        "category": "Generation",
    }


def _tulu_row(i: int) -> dict[str, Any]:
    """A row as `allenai/tulu-3-sft-mixture` stores it."""
    return {
        "id": f"oasst1_{i}",
        "messages": [
            {"content": f"question {i}", "role": "user"},
            {"content": f"answer {i}", "role": "assistant"},
            {"content": "and?", "role": "user"},
            {"content": f"more {i}", "role": "assistant"},
        ],
        "source": "ai2-adapt-dev/oasst1_converted",
    }


def _to_datum(messages: list[dict[str, Any]]) -> Datum:
    """Stands in for a renderer: one token per message, so batches can be counted."""
    return Datum(ModelInput.from_ints(list(range(len(messages)))), {})


def test_norobots_ref_matches_the_hub_dataset() -> None:
    ref = norobots.norobots_ref()
    assert (ref.name, ref.split, ref.test_split, ref.messages_field) == (
        "HuggingFaceH4/no_robots",
        "train",
        "test",
        "messages",
    )
    assert norobots.TRAIN_ON_WHAT == "all_assistant_messages"


def test_norobots_trains_on_train_and_evaluates_on_test() -> None:
    ref = norobots.norobots_ref()
    store = FakeDatasetStore(
        {ref.name: {"train": [_norobots_row(i) for i in range(10)], "test": [_norobots_row(100 + i) for i in range(3)]}}
    )
    train, test = open_supervised_splits(store, ref, _to_datum, batch_size=4)
    assert test is not None
    assert sum(len(b.data) for b in train.batches(0)) == 8  # two full batches of 4
    assert sum(len(b.data) for b in test.batches(0)) == 3
    assert all(d.model_input.length == 3 for b in test.batches(0) for d in b.data)


def test_tulu3_ref_matches_tinker_cookbook() -> None:
    ref = tulu3.tulu3_ref()
    assert (ref.name, ref.split, ref.test_split, ref.test_size) == ("allenai/tulu-3-sft-mixture", "train", None, 1024)
    assert tulu3.TRAIN_ON_WHAT == "last_assistant_message"


def test_tulu3_holds_out_test_rows_from_the_only_split() -> None:
    ref = tulu3.tulu3_ref(test_size=5)
    store = FakeDatasetStore({ref.name: {"train": [_tulu_row(i) for i in range(25)]}})
    seen: list[list[dict[str, Any]]] = []

    def record(messages: list[dict[str, Any]]) -> Datum:
        seen.append(messages)
        return _to_datum(messages)

    train, test = open_supervised_splits(store, ref, record, batch_size=4)
    assert test is not None
    list(test.batches(0))
    test_texts = {m[0]["content"] for m in seen}
    seen.clear()
    list(train.batches(0))
    train_texts = {m[0]["content"] for m in seen}
    assert len(test_texts) == 5 and len(train_texts) == 20
    assert not test_texts & train_texts, "held-out rows were also trained on"


@pytest.mark.parametrize(
    ("module", "row"),
    [(norobots, _norobots_row(1)), (tulu3, _tulu_row(1))],
    ids=["norobots", "tulu3"],
)
def test_normalize_row_keeps_only_the_conversation_and_its_label(module: Any, row: dict[str, Any]) -> None:
    out = module.normalize_row(row)
    assert out["messages"] == [{"role": m["role"], "content": m["content"]} for m in row["messages"]]
    assert set(out) == {"messages", "category" if module is norobots else "source"}


def test_local_copy_can_stand_in_for_the_hub() -> None:
    ref = norobots.norobots_ref(name="/data/no_robots")
    assert ref.name == "/data/no_robots" and ref.test_split == "test"


def test_malformed_row_names_the_dataset() -> None:
    ref = tulu3.tulu3_ref(test_size=0)
    bad = {"id": "x", "messages": [{"content": "hi", "role": "narrator"}], "source": "s"}
    store = FakeDatasetStore({ref.name: {"train": [_tulu_row(0), bad]}})
    train, _ = open_supervised_splits(store, ref, _to_datum, batch_size=1)
    with pytest.raises(DataError, match="tulu-3-sft-mixture"):
        for _ in train.batches(0):
            pass
