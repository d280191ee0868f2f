"""Run tinker-cookbook's renderers on cookbook-shaped messages and normalise what comes back."""

from __future__ import annotations

import copy
from typing import Any

from cookbook_runtime.train.renderers import Message, ToolCall
from tinker_cookbook import renderers as tk
from tinker_cookbook.supervised.data import conversation_to_datum as tk_conversation_to_datum

TERMINATION = {"stop_sequence": "stop", "eos": "eos", "malformed": "malformed"}


def to_tinker(messages: list[Message]) -> list[dict[str, Any]]:
    out = []
    for m in messages:
        t = copy.deepcopy(dict(m))
        if "tool_calls" in t:
            t["tool_calls"] = [
                tk.ToolCall(function=tk.ToolCall.FunctionBody(name=c.name, arguments=c.arguments), id=c.id)
                for c in m["tool_calls"]
            ]
        out.append(t)
    return out


def renderer(name: str, tokenizer: object) -> Any:
    return tk.get_renderer(name, tokenizer)


def normalise(message: dict[str, Any]) -> dict[str, Any]:
    """A plain-data view of a parsed message from either library."""
    out: dict[str, Any] = {"role": message["role"], "content": message["content"]}
    calls = message.get("tool_calls")
    if calls:
        out["tool_calls"] = [
            (c.name, c.arguments, c.id) if isinstance(c, ToolCall) else (c.function.name, c.function.arguments, c.id)
            for c in calls
        ]
    failed = message.get("unparsed_tool_calls")
    if failed:
        out["unparsed_tool_calls"] = [
            (c.raw_text, c.error) for c in failed
        ]
    return out


__all__ = ["TERMINATION", "normalise", "renderer", "tk_conversation_to_datum", "to_tinker"]
