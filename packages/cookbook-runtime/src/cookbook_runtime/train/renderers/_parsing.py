"""Helpers that turn decoded sample text back into message parts and tool calls.

They mirror tinker-cookbook's parsing rules (what counts as a thinking block, a
tool call, a malformed one), so a response parses to the same message with either
library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from cookbook_runtime.errors import DataError
from cookbook_runtime.train.renderers._messages import (
    ContentPart,
    Message,
    Termination,
    ToolCall,
    UnparsedToolCall,
)
from cookbook_runtime.types import Tokenizer

__all__ = [
    "detect_unterminated_tool_block",
    "parse_content_blocks",
    "parse_think_blocks",
    "split_at_stop_token",
]

_DETAIL_MAX_CHARS = 16384
UNTERMINATED = "unterminated tool block"
_THINK_OR_TOOL = re.compile(r"<think>(.*?)</think>|<tool_call>(.*?)</tool_call>", re.DOTALL)
_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL)


def split_at_stop_token(
    tokens: Sequence[int], tokenizer: Tokenizer, stop_token: int
) -> tuple[Message, Termination]:
    """The text before the one stop token; malformed when the sample never reached it.

    More than one stop token means sampling ignored the stop sequences, which is a
    caller bug worth an error rather than a silently wrong message.
    """
    count = tokens.count(stop_token) if isinstance(tokens, list) else list(tokens).count(stop_token)
    if count == 0:
        return {"role": "assistant", "content": str(tokenizer.decode(list(tokens)))}, "malformed"
    if count > 1:
        raise DataError(
            f"response holds {count} stop tokens ({stop_token}) where one is expected: "
            "sample with this renderer's get_stop_sequences()"
        )
    end = list(tokens).index(stop_token)
    return {"role": "assistant", "content": str(tokenizer.decode(list(tokens[:end])))}, "stop"


def _tool_call_from_json(payload: str, raw_text: str) -> ToolCall | UnparsedToolCall:
    try:
        obj = json.loads(payload.strip())
    except json.JSONDecodeError as e:
        return UnparsedToolCall(raw_text, f"Invalid JSON: {e}")
    if not isinstance(obj, dict):
        return UnparsedToolCall(raw_text, "Tool call is not a JSON object")
    name = obj.get("name")
    arguments = obj.get("arguments")
    call_id = obj.get("id")
    if not isinstance(name, str):
        return UnparsedToolCall(raw_text, "Missing or invalid 'name' field")
    if not isinstance(arguments, dict):
        return UnparsedToolCall(raw_text, "Missing or invalid 'arguments' field")
    return ToolCall(name, json.dumps(arguments), call_id if isinstance(call_id, str) else None)


def parse_content_blocks(
    content: str,
) -> tuple[list[ContentPart], list[ToolCall | UnparsedToolCall]] | None:
    """Split `<think>` and `<tool_call>` blocks out of text; None when there are none.

    Text between blocks is kept byte for byte; empty thinking blocks are dropped.
    """
    if "<think>" not in content and "<tool_call>" not in content:
        return None
    parts: list[ContentPart] = []
    calls: list[ToolCall | UnparsedToolCall] = []
    pos = 0
    for match in _THINK_OR_TOOL.finditer(content):
        before = content[pos : match.start()]
        if before:
            parts.append({"type": "text", "text": before})
        thinking = match.group(1)
        if thinking is not None:
            if thinking:
                parts.append({"type": "thinking", "thinking": thinking})
        else:
            calls.append(_tool_call_from_json(match.group(2), match.group(0)))
        pos = match.end()
    rest = content[pos:]
    if rest:
        parts.append({"type": "text", "text": rest})
    return parts, calls


def parse_think_blocks(content: str) -> list[ContentPart] | None:
    """Split `<think>` blocks out of text; None when there are none."""
    if "<think>" not in content:
        return None
    parts: list[ContentPart] = []
    pos = 0
    for match in _THINK.finditer(content):
        before = content[pos : match.start()]
        if before:
            parts.append({"type": "text", "text": before})
        if match.group(1):
            parts.append({"type": "thinking", "thinking": match.group(1)})
        pos = match.end()
    rest = content[pos:]
    if rest:
        parts.append({"type": "text", "text": rest})
    return parts


def detect_unterminated_tool_block(
    content: str, open_marker: str, close_marker: str
) -> UnparsedToolCall | None:
    """An entry for a tool block opened more often than closed, or None."""
    opens = content.count(open_marker)
    if opens == 0 or opens <= content.count(close_marker):
        return None
    return UnparsedToolCall(
        content[content.rfind(open_marker) :][:_DETAIL_MAX_CHARS],
        f"{UNTERMINATED}: '{open_marker}' opened without a matching '{close_marker}'",
    )


def add_tool_results(
    message: Message, results: Sequence[ToolCall | UnparsedToolCall]
) -> None:
    """Store parsed calls under `tool_calls` and failures under `unparsed_tool_calls`."""
    calls = [r for r in results if isinstance(r, ToolCall)]
    failed = [r for r in results if isinstance(r, UnparsedToolCall)]
    if calls:
        message["tool_calls"] = calls
    if failed:
        message["unparsed_tool_calls"] = failed
