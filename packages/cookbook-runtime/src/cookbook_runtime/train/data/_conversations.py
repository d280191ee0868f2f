"""Reading one conversation out of a dataset row, with errors that point at the row.

A bad row deep in a large dataset is the kind of failure that wastes an hour, so the
message names the dataset, the split, the row's index in that split and what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cookbook_runtime.errors import DataError

__all__ = ["ROLES", "conversation_from_row"]

ROLES = frozenset({"system", "user", "assistant", "tool", "developer"})
"""Roles a chat message may have."""


def _problem(row: Any, messages_field: str) -> str | None:
    """What is wrong with `row` as a conversation, or None when it is usable."""
    if not isinstance(row, Mapping):
        return f"is a {type(row).__name__}, not an object"
    if messages_field not in row:
        return f"has no {messages_field!r} field (fields: {sorted(row)})"
    messages = row[messages_field]
    if not isinstance(messages, list) or not messages:
        return f"field {messages_field!r} must be a non-empty list of messages"
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping):
            return f"message {i} is not an object"
        role = message.get("role")
        if role not in ROLES:
            return f"message {i} has role {role!r}; expected one of {sorted(ROLES)}"
        content = message.get("content")
        if not isinstance(content, str | list):
            return f"message {i} content must be a string or a list of parts"
        if isinstance(content, list):
            for j, part in enumerate(content):
                problem = _part_problem(part)
                if problem is not None:
                    return f"message {i} content part {j} {problem}"
    return None


_PART_FIELDS = {"text": "text", "thinking": "thinking", "image": "image"}
"""Content part type -> the string field it carries (renderers' `ContentPart`)."""


def _part_problem(part: Any) -> str | None:
    if not isinstance(part, Mapping):
        return f"is a {type(part).__name__}, not an object like {{'type': 'text', 'text': '...'}}"
    kind = part.get("type")
    if kind not in _PART_FIELDS:
        return f"has type {kind!r}; expected one of {sorted(_PART_FIELDS)}"
    if not isinstance(part.get(_PART_FIELDS[kind]), str):
        return f"of type {kind!r} needs a string {_PART_FIELDS[kind]!r} field"
    return None


def conversation_from_row(
    row: Any, *, messages_field: str, dataset: str, split: str, index: int
) -> list[dict[str, Any]]:
    """The messages of `row`, or a `DataError` naming the dataset, split and row index."""
    problem = _problem(row, messages_field)
    if problem is not None:
        raise DataError(
            f"dataset {dataset!r} split {split!r} row {index} {problem}; "
            "fix the row or set skip_malformed=true on the dataset"
        )
    return [dict(m) for m in row[messages_field]]
