"""Conversation files and row normalisation, through the DatasetStore port (fake store)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cookbook_recipes.datasets.conversations import (
    conversations_ref,
    normalize_messages,
    normalize_row,
    open_normalized,
    write_normalized_jsonl,
)
from cookbook_runtime.errors import DataError
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.testing import FakeDatasetStore
from cookbook_runtime.train.data import conversation_from_row

SHAREGPT = [
    {"id": str(i), "conversations": [{"from": "human", "value": f"hi {i}"}, {"from": "gpt", "value": f"hello {i}"}]}
    for i in range(6)
]


def test_conversations_ref_for_a_single_file_holds_out_rows() -> None:
    ref = conversations_ref("data/chats.jsonl", test_size=50)
    assert (ref.name, ref.format, ref.split, ref.test_split, ref.test_size) == (
        "data/chats.jsonl",
        "jsonl",
        "train",
        None,
        50,
    )


def test_conversations_ref_for_a_folder_uses_its_test_split() -> None:
    ref = conversations_ref("data/chats", test_split="test", test_size=50)
    assert (ref.test_split, ref.test_size) == ("test", 0)


def test_sharegpt_turns_become_chat_messages() -> None:
    assert normalize_row(SHAREGPT[0]) == {
        "messages": [{"role": "user", "content": "hi 0"}, {"role": "assistant", "content": "hello 0"}]
    }


def test_extra_message_keys_are_dropped_but_renderer_keys_kept() -> None:
    got = normalize_messages(
        [
            {"role": "assistant", "content": None, "thinking": "hmm", "weight": 1, "tool_calls": None},
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        ]
    )
    assert got == [
        {"role": "assistant", "content": "", "thinking": "hmm"},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
    ]


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ({"text": "no conversation"}, "no conversation field"),
        ({"messages": [{"from": "narrator", "value": "x"}]}, "'narrator'"),
        ({"messages": [{"content": "x"}]}, "neither 'role' nor 'from'"),
        ({"messages": [{"role": "user", "content": 3}]}, "content must be"),
    ],
)
def test_bad_rows_say_what_is_wrong(row: dict[str, Any], needle: str) -> None:
    with pytest.raises(DataError, match=needle):
        normalize_row(row)


def test_open_normalized_is_lazy_and_keeps_transforms() -> None:
    store = FakeDatasetStore({"chats": {"train": SHAREGPT}})
    rows = open_normalized(store, DatasetRef(name="chats", messages_field="conversations"))
    assert len(rows) == 6
    firsts = [r["messages"][0]["content"] for r in rows.shuffle(3).skip(1).take(2)]
    assert len(firsts) == 2 and set(firsts) <= {f"hi {i}" for i in range(6)}
    assert [r["messages"][0]["content"] for r in rows.select([4, 0])] == ["hi 4", "hi 0"]


def test_write_normalized_jsonl_makes_a_file_the_training_core_reads(tmp_path: Path) -> None:
    store = FakeDatasetStore({"chats": {"train": SHAREGPT}})
    dest = tmp_path / "out" / "train.jsonl"
    count = write_normalized_jsonl(store, DatasetRef(name="chats"), dest)
    assert count == 6
    lines = [json.loads(line) for line in dest.read_text().splitlines()]
    ref = conversations_ref(dest)
    for i, row in enumerate(lines):
        messages = conversation_from_row(row, messages_field=ref.messages_field, dataset=ref.name, split="train", index=i)
        assert messages[1] == {"role": "assistant", "content": f"hello {i}"}
    assert [p.name for p in dest.parent.iterdir()] == ["train.jsonl"], "temporary file left behind"


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    store = FakeDatasetStore({"chats": {"train": [*SHAREGPT, {"oops": 1}]}})
    dest = tmp_path / "train.jsonl"
    with pytest.raises(DataError):
        write_normalized_jsonl(store, DatasetRef(name="chats"), dest)
    assert list(tmp_path.iterdir()) == []
