"""GPT-OSS (OpenAI Harmony) formats: `gpt_oss_no_sysprompt`, `gpt_oss_{low,medium,high}_reasoning`.

    <|start|>user<|message|>Hi<|end|>
    <|start|>assistant<|channel|>analysis<|message|>reasoning<|end|>
    <|start|>assistant<|channel|>final<|message|>Hello<|return|>

Reasoning goes to the `analysis` channel, answers to `final`, tool calls to
`commentary` addressed `to=functions.NAME`. A user's system message becomes a
`developer` message under "# Instructions". The `*_reasoning` variants prepend
OpenAI's system prompt naming the reasoning effort and today's date. The last
assistant message ends with `<|return|>`, earlier ones with `<|end|>`, and a tool
call with `<|call|>`; sampling stops on `<|return|>` or `<|call|>`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from datetime import datetime

from cookbook_runtime.errors import DataError
from cookbook_runtime.train.renderers._base import (
    ChatRenderer,
    RenderContext,
    Rendered,
    content_parts,
    ensure_text,
    tool_calls_of,
)
from cookbook_runtime.train.renderers._messages import (
    ContentPart,
    Message,
    Termination,
    ToolCall,
    UnparsedToolCall,
)
from cookbook_runtime.train.renderers._parsing import UNTERMINATED
from cookbook_runtime.types import Tokenizer

__all__ = ["GptOssRenderer"]

logger = logging.getLogger(__name__)

_SYSTEM_ROLE = "_gptoss_internal_system"
_SYSTEM_PROMPT = (
    "You are ChatGPT, a large language model trained by OpenAI.\n"
    "Knowledge cutoff: 2024-06\n"
    "Current date: {current_date}\n\n"
    "Reasoning: {reasoning_effort}\n\n"
    "# Valid channels: analysis, commentary, final. Channel must be included for every message."
)
_CHANNEL = re.compile(r"<\|channel\|>([^<\s]+)")
_RECIPIENT = re.compile(r"to=([^\s<]+)")
_END_MARKERS = ("<|end|>", "<|call|>", "<|return|>")


class GptOssRenderer(ChatRenderer):
    """Harmony format; `reasoning_effort` set means OpenAI's system prompt is prepended."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        *,
        reasoning_effort: str | None = None,
        current_date: str | None = None,
    ) -> None:
        super().__init__(tokenizer)
        self.reasoning_effort = reasoning_effort
        self.current_date = current_date
        self._return = self._single("<|return|>")
        self._call = self._single("<|call|>")

    def _prepare(self, messages: Sequence[Message]) -> Sequence[Message]:
        if self.reasoning_effort is None:
            return messages
        if messages and messages[0]["role"] == "system":
            logger.warning(
                "messages start with a system message and the renderer adds its own system "
                "prompt; use gpt_oss_no_sysprompt to keep only yours"
            )
        date = self.current_date or datetime.now().strftime("%Y-%m-%d")
        system: Message = {
            "role": _SYSTEM_ROLE,
            "content": _SYSTEM_PROMPT.format(current_date=date, reasoning_effort=self.reasoning_effort),
        }
        return [system, *messages]

    def render_message(self, message: Message, ctx: RenderContext) -> Rendered:
        role = message["role"]
        if role == "tool":
            return self._render_tool_result(message)
        wire_role = "system" if role == _SYSTEM_ROLE else "developer" if role == "system" else role
        header = self._fixed(f"<|start|>{wire_role}")
        calls: list[ToolCall] = []
        if role == "assistant":
            parts = content_parts(message)
            text = "".join(p["text"] for p in parts if p["type"] == "text")
            thinking = "".join(p["thinking"] for p in parts if p["type"] == "thinking")
            calls = tool_calls_of(message)
            out = ""
            if thinking:
                out += f"<|channel|>analysis<|message|>{thinking}<|end|><|start|>assistant"
            if calls:
                if text:
                    out += f"<|channel|>commentary<|message|>{text}<|end|><|start|>assistant"
                out += "<|start|>assistant".join(
                    f" to=functions.{c.name}<|channel|>commentary <|constrain|>json<|message|>"
                    f"{c.arguments}<|call|>"
                    for c in calls
                )
            else:
                out += f"<|channel|>final<|message|>{text}"
                out += "<|return|>" if ctx.is_last else "<|end|>"
        elif role == "system":
            out = f"<|message|># Instructions\n\n{ensure_text(message)}\n\n<|end|>"
        else:
            out = f"<|message|>{ensure_text(message)}<|end|>"
        return Rendered(header, self._encode(out))

    def _render_tool_result(self, message: Message) -> Rendered:
        name = message.get("name", "")
        if not name:
            logger.warning(
                "a tool message has no 'name'; GPT-OSS addresses tool results by function "
                "name, so it is rendered as functions.unknown: add the called function's name"
            )
            name = "unknown"
        if not name.startswith("functions."):
            name = f"functions.{name}"
        header = self._fixed(f"<|start|>{name} to=assistant")
        output = self._encode(f"<|channel|>commentary<|message|>{ensure_text(message)}<|end|>")
        return Rendered(header, output)

    def get_stop_sequences(self) -> list[int]:
        return [self._return, self._call]

    def parse_response(self, tokens: Sequence[int]) -> tuple[Message, Termination]:
        """Harmony channels back into thinking, text and tool calls, up to `<|return|>`/`<|call|>`."""
        ids = list(tokens)
        calls_n = ids.count(self._call)
        returns_n = ids.count(self._return)
        if calls_n == 0 and returns_n == 0:
            return {"role": "assistant", "content": str(self.tokenizer.decode(ids))}, "malformed"
        if calls_n > 1 or returns_n > 1:
            raise DataError(
                f"response holds {calls_n} <|call|> and {returns_n} <|return|> tokens where one "
                "stop is expected: sample with this renderer's get_stop_sequences()"
            )
        stops = [ids.index(t) for t, n in ((self._return, returns_n), (self._call, calls_n)) if n]
        text = str(self.tokenizer.decode(ids[: min(stops)]))
        parts, calls, failed = _parse_channels(text)
        if text.count("to=functions.") > len(calls) + len(failed):
            start = text.rfind("<|start|>")
            failed.append(
                UnparsedToolCall(
                    text[start:] if start != -1 else text,
                    f"{UNTERMINATED}: 'to=functions.' tool-call header without a parsable arguments payload",
                )
            )
        message: Message = {"role": "assistant", "content": parts if parts else text}
        if calls:
            message["tool_calls"] = calls
        if failed:
            message["unparsed_tool_calls"] = failed
        return message, "stop"


def _parse_channels(
    text: str,
) -> tuple[list[ContentPart], list[ToolCall], list[UnparsedToolCall]]:
    """Walk the Harmony messages in `text`: analysis is thinking, final/commentary text, `to=functions.X` calls."""
    parts: list[ContentPart] = []
    calls: list[ToolCall] = []
    failed: list[UnparsedToolCall] = []
    idx = 0
    while True:
        message_at = text.find("<|message|>", idx)
        if message_at == -1:
            break
        header_start = text.rfind("<|start|>", idx, message_at)
        if header_start == -1:
            header_start = idx
        header = text[header_start:message_at]
        body_start = message_at + len("<|message|>")
        end_at, end_marker = len(text), ""
        for marker in _END_MARKERS:
            found = text.find(marker, body_start)
            if found != -1 and found < end_at:
                end_at, end_marker = found, marker
        body = text[body_start:end_at]
        raw = text[header_start : end_at + len(end_marker)] if end_marker else text[header_start:]
        idx = end_at + len(end_marker)
        if not body.strip():
            continue
        recipient_match = _RECIPIENT.search(header)
        recipient = recipient_match.group(1) if recipient_match else None
        if recipient and recipient.startswith("functions."):
            try:
                json.loads(body)
            except json.JSONDecodeError as e:
                failed.append(UnparsedToolCall(raw, f"Invalid JSON: {e}"))
            else:
                calls.append(ToolCall(recipient.split("functions.", 1)[1], body.strip()))
            continue
        channel_match = _CHANNEL.search(header)
        channel = channel_match.group(1) if channel_match else None
        if channel == "analysis":
            parts.append({"type": "thinking", "thinking": body})
        elif channel in ("final", "commentary"):
            parts.append({"type": "text", "text": body})
    return parts, calls, failed
