"""Between inspect-ai's chat types and the runtime renderer's messages.

Inspect messages become renderer `Message` dicts: text parts are joined, an
assistant's reasoning parts become its `thinking`, its tool calls become the
renderer's `ToolCall`s (arguments as a JSON string), and a tool result keeps the
id of the call it answers and the function's name. Offered tools are declared to
the model in the system turn, as JSON function specs (the runtime's renderers
have no tool-declaration turn of their own); the renderer's `parse_response`
then finds the calls in the reply, in its own format (`<tool_call>` JSON for
Qwen3, DeepSeek's markers, gpt-oss channels), and they go back as inspect
`ToolCall`s. A renderer that parses no tool calls (`role_colon`) returns the
reply as text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cookbook_runtime.errors import DataError
from cookbook_runtime.train.renderers import Message, ToolCall, UnparsedToolCall
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageTool,
    Content,
    ContentReasoning,
    ContentText,
)
from inspect_ai.tool import ToolCall as InspectToolCall
from inspect_ai.tool import ToolChoice, ToolFunction, ToolInfo

__all__ = [
    "TOOLS_PREAMBLE",
    "declare_tools",
    "inspect_tool_calls",
    "reply_content",
    "reply_text",
    "to_renderer_messages",
]

TOOLS_PREAMBLE = (
    "You may call the following functions. To call one, reply with a tool call naming the function "
    'and giving its arguments as a JSON object, e.g. {"name": "<function>", "arguments": {...}}.\n'
    "Functions:\n"
)


def _text_and_reasoning(content: str | list[Content], role: str) -> tuple[str, str]:
    if isinstance(content, str):
        return content, ""
    text: list[str] = []
    reasoning: list[str] = []
    for part in content:
        if isinstance(part, ContentText):
            text.append(part.text)
        elif isinstance(part, ContentReasoning):
            reasoning.append(part.reasoning)
        else:
            raise DataError(
                f"a {role!r} message has {type(part).__name__} content, which the cookbook model provider "
                "cannot render: it takes text (and reasoning) only"
            )
    return "".join(text), "".join(reasoning)


def _tool_call(call: InspectToolCall) -> ToolCall:
    return ToolCall(call.function, json.dumps(call.arguments, separators=(",", ":")), call.id)


def to_renderer_messages(messages: Sequence[ChatMessage]) -> list[Message]:
    """The renderer's conversation for inspect `messages`."""
    out: list[Message] = []
    for m in messages:
        text, reasoning = _text_and_reasoning(m.content, m.role)
        message: Message = {"role": m.role, "content": text}
        if isinstance(m, ChatMessageAssistant):
            if reasoning:
                message["thinking"] = reasoning
            if m.tool_calls:
                message["tool_calls"] = [_tool_call(c) for c in m.tool_calls]
        elif isinstance(m, ChatMessageTool):
            if m.error is not None and not text:
                message["content"] = f"error: {m.error.message}"
            if m.tool_call_id is not None:
                message["tool_call_id"] = m.tool_call_id
            if m.function is not None:
                message["name"] = m.function
        out.append(message)
    return out


def _offered(tools: Sequence[ToolInfo], tool_choice: ToolChoice) -> list[ToolInfo]:
    if tool_choice == "none":
        return []
    if isinstance(tool_choice, ToolFunction):
        chosen = [t for t in tools if t.name == tool_choice.name]
        if not chosen:
            raise DataError(f"tool_choice names {tool_choice.name!r}, which is not among the tools offered")
        return chosen
    return list(tools)


def declare_tools(messages: list[Message], tools: Sequence[ToolInfo], tool_choice: ToolChoice) -> list[Message]:
    """`messages` with the offered tools declared in the system turn (added first if there is none)."""
    offered = _offered(tools, tool_choice)
    if not offered:
        return messages
    specs = "\n".join(
        json.dumps(
            {"name": t.name, "description": t.description, "parameters": t.parameters.model_dump(exclude_none=True)},
            sort_keys=True,
        )
        for t in offered
    )
    declaration = TOOLS_PREAMBLE + specs
    if tool_choice == "any" or isinstance(tool_choice, ToolFunction):
        declaration += "\nCall a function in this reply."
    if messages and messages[0]["role"] == "system":
        system = messages[0]
        first = system["content"] if isinstance(system["content"], str) else ""
        head: Message = {"role": "system", "content": f"{first}\n\n{declaration}" if first else declaration}
        return [head, *messages[1:]]
    return [{"role": "system", "content": declaration}, *messages]


def reply_text(message: Message) -> str:
    """The visible text of a parsed reply."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(str(p["text"]) for p in content if p["type"] == "text")  # type: ignore[typeddict-item]


def _reply_reasoning(message: Message) -> str:
    reasoning = [message.get("thinking", "")]
    content = message["content"]
    if not isinstance(content, str):
        reasoning.extend(str(p["thinking"]) for p in content if p["type"] == "thinking")  # type: ignore[typeddict-item]
    return "".join(r for r in reasoning if r)


def reply_content(message: Message, text: str) -> str | list[Content]:
    """Inspect content for a parsed reply whose visible text is `text` (reasoning first, when any)."""
    reasoning = _reply_reasoning(message)
    if not reasoning:
        return text
    return [ContentReasoning(reasoning=reasoning), ContentText(text=text)]


def _arguments(raw: str) -> tuple[dict[str, Any], str | None]:
    try:
        decoded = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {}, f"arguments are not JSON: {exc.msg}"
    if not isinstance(decoded, dict):
        return {}, f"arguments are a JSON {type(decoded).__name__}, not an object"
    return decoded, None


def inspect_tool_calls(message: Message, *, choice: int) -> list[InspectToolCall] | None:
    """The reply's parsed (and unparsable) tool calls as inspect `ToolCall`s; None when it made none."""
    calls: list[ToolCall] = list(message.get("tool_calls") or [])
    failed: list[UnparsedToolCall] = list(message.get("unparsed_tool_calls") or [])
    if not calls and not failed:
        return None
    out: list[InspectToolCall] = []
    for index, call in enumerate(calls):
        arguments, error = _arguments(call.arguments)
        out.append(InspectToolCall(id=call.id or f"call_{choice}_{index}", function=call.name,
                                   arguments=arguments, parse_error=error))
    for index, bad in enumerate(failed, start=len(calls)):
        out.append(InspectToolCall(id=f"call_{choice}_{index}", function="unparsed_tool_call",
                                   arguments={"raw_text": bad.raw_text}, parse_error=bad.error))
    return out

