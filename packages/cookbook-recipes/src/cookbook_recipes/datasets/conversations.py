"""Conversation JSONL files, and turning chat rows of any common shape into `{"messages": [...]}`.

The training core reads one field of each row as a list of `{"role", "content"}`
messages. Files in that shape need only `conversations_ref`. Rows in another
shape (ShareGPT's `{"from": "human", "value": ...}` turns, or messages carrying
extra keys) go through `normalize_row`, lazily over a whole split with
`open_normalized`, or once into a clean file with `write_normalized_jsonl`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from cookbook_runtime.atomic import atomic_writer
from cookbook_runtime.errors import DataError
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.ports import DatasetStore, Rows

__all__ = [
    "SHAREGPT_ROLES",
    "MappedRows",
    "conversations_ref",
    "normalize_messages",
    "normalize_row",
    "open_normalized",
    "write_normalized_jsonl",
]

SHAREGPT_ROLES: dict[str, str] = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "bot": "assistant",
    "tool": "tool",
    "function_call": "assistant",
    "observation": "tool",
}
"""ShareGPT `from` values -> chat roles."""

_CONVERSATION_FIELDS = ("messages", "conversations", "conversation")

RowFn = Callable[[dict[str, Any]], dict[str, Any]]


def conversations_ref(
    path: str | Path,
    *,
    test_split: str | None = None,
    test_size: int = 0,
    messages_field: str = "messages",
    streaming: bool = False,
    skip_malformed: bool = False,
) -> DatasetRef:
    """A JSONL file, or a folder of split files (`train.jsonl`, `test.jsonl`), of conversations.

    Name a folder's held-out split with `test_split`; otherwise `test_size` rows are
    held out of the training rows after a seeded shuffle, as tinker-cookbook's
    conversation-file builder does. Nothing is read here.
    """
    return DatasetRef(
        name=str(path),
        format="jsonl",
        split="train",
        test_split=test_split,
        test_size=0 if test_split else test_size,
        messages_field=messages_field,
        streaming=streaming,
        skip_malformed=skip_malformed,
    )


def _content(value: Any, where: str) -> str | list[Any]:
    if value is None:
        return ""
    if isinstance(value, str | list):
        return value
    raise DataError(f"{where}: content must be a string or a list of parts, got {type(value).__name__}")


def normalize_messages(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """`{"role", "content"}` messages from OpenAI-style or ShareGPT-style turns.

    Extra keys on OpenAI-style messages are dropped, except `thinking`, `tool_calls`,
    `tool_call_id` and `name`, which renderers understand; a `None` content becomes "".
    """
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            raise DataError(f"message {i} is a {type(message).__name__}, not an object")
        if "role" in message:
            clean: dict[str, Any] = {
                "role": str(message["role"]),
                "content": _content(message.get("content"), f"message {i}"),
            }
            for key in ("thinking", "tool_calls", "tool_call_id", "name"):
                if message.get(key) is not None:
                    clean[key] = message[key]
            out.append(clean)
        elif "from" in message:
            speaker = str(message["from"]).lower()
            if speaker not in SHAREGPT_ROLES:
                raise DataError(f"message {i} is from {speaker!r}; known speakers: {sorted(SHAREGPT_ROLES)}")
            out.append(
                {"role": SHAREGPT_ROLES[speaker], "content": _content(message.get("value"), f"message {i}")}
            )
        else:
            raise DataError(f"message {i} has neither 'role' nor 'from' (keys: {sorted(message)})")
    return out


def normalize_row(row: Mapping[str, Any], messages_field: str = "messages") -> dict[str, Any]:
    """`{"messages": [...]}` from a row keeping its conversation in `messages_field`,
    'messages', 'conversations' or 'conversation' (the first present)."""
    for field in (messages_field, *_CONVERSATION_FIELDS):
        if field in row and isinstance(row[field], list):
            return {"messages": normalize_messages(row[field])}
    raise DataError(f"row has no conversation field (looked for {messages_field!r}; fields: {sorted(row)})")


class MappedRows:
    """A `Rows` view applying a function to each row as it is read; transforms stay lazy."""

    def __init__(self, rows: Rows, fn: RowFn) -> None:
        self.rows = rows
        self.fn = fn

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self.rows:
            yield self.fn(row)

    def __len__(self) -> int:
        return len(self.rows)

    def shuffle(self, seed: int) -> MappedRows:
        return MappedRows(self.rows.shuffle(seed), self.fn)

    def take(self, n: int) -> MappedRows:
        return MappedRows(self.rows.take(n), self.fn)

    def skip(self, n: int) -> MappedRows:
        return MappedRows(self.rows.skip(n), self.fn)

    def select(self, indices: Sequence[int]) -> MappedRows:
        return MappedRows(self.rows.select(indices), self.fn)


def open_normalized(
    store: DatasetStore, ref: DatasetRef, split: str | None = None, fn: RowFn | None = None
) -> MappedRows:
    """Rows of `split` as `{"messages": [...]}`, converted lazily with `fn` (default `normalize_row`)."""
    field = ref.messages_field
    return MappedRows(store.open(ref, split), fn or (lambda row: normalize_row(row, field)))


def write_normalized_jsonl(
    store: DatasetStore, ref: DatasetRef, dest: str | Path, split: str | None = None, fn: RowFn | None = None
) -> int:
    """Stream a split through `fn` into a JSONL file (written atomically); return the row count."""
    count = 0
    with atomic_writer(Path(dest).expanduser()) as f:
        for row in open_normalized(store, ref, split, fn):
            f.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
            count += 1
    return count
