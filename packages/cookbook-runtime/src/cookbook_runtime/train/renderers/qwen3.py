"""Qwen3 chat formats: `qwen3` (thinking), `qwen3_disable_thinking`, `qwen3_instruct` (2507).

    <|im_start|>user\\nWhat is 2+2?<|im_end|>
    <|im_start|>assistant\\n<think>\\nreasoning\\n</think>\\n\\n4<|im_end|>

Messages are separated by a newline after `<|im_end|>`. The thinking renderers
follow Qwen's template: the turn being produced (after the last user message)
always carries a `<think>` block, empty if it did not reason, and reasoning is
dropped from earlier assistant turns. Tool calls are JSON inside `<tool_call>`
tags; tool results are user turns wrapped in `<tool_response>` tags. Message text
is encoded with special-token spellings kept literal, so a user typing
`<|im_end|>` cannot end a turn.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from cookbook_runtime.errors import DataError
from cookbook_runtime.train.renderers._base import (
    ChatRenderer,
    RenderContext,
    Rendered,
    tool_calls_of,
)
from cookbook_runtime.train.renderers._messages import ContentPart, Message, Termination
from cookbook_runtime.train.renderers._parsing import (
    add_tool_results,
    detect_unterminated_tool_block,
    parse_content_blocks,
    split_at_stop_token,
)
from cookbook_runtime.types import Tokenizer

__all__ = ["Qwen3DisableThinkingRenderer", "Qwen3InstructRenderer", "Qwen3Renderer"]


def _frame(reasoning: str) -> str:
    """A thinking block padded the way Qwen's template writes it on the produced turn."""
    return "<think>\n" + reasoning.strip("\n") + "\n</think>\n\n"


def _has_thinking(message: Message) -> bool:
    content = message["content"]
    if message.get("thinking"):
        return True
    if isinstance(content, list):
        return any(p["type"] == "thinking" for p in content)
    return "<think>" in content


def _unframe(parts: list[ContentPart]) -> list[ContentPart]:
    """Undo `_frame` on parsed parts so parse(render(x)) gives x back."""
    out: list[ContentPart] = []
    after_block = False
    for part in parts:
        if part["type"] == "thinking":
            reasoning = part["thinking"].strip("\n")
            if reasoning:
                out.append({"type": "thinking", "thinking": reasoning})
            after_block = True
        elif part["type"] == "text":
            out.append({"type": "text", "text": part["text"].lstrip("\n") if after_block else part["text"]})
            after_block = False
        else:
            out.append(part)
            after_block = False
    return out


class Qwen3Renderer(ChatRenderer):
    """Qwen3 with thinking on (Qwen's template with enable_thinking=True).

    `strip_thinking_from_history=False` keeps earlier reasoning, which gives the
    extension property multi-turn RL wants, at the cost of differing from Qwen's template.
    """

    frames_thinking = True

    def __init__(self, tokenizer: Tokenizer, *, strip_thinking_from_history: bool = True) -> None:
        super().__init__(tokenizer)
        self.strip_thinking_from_history = strip_thinking_from_history
        self._im_end = self._single("<|im_end|>")

    @property
    def has_extension_property(self) -> bool:
        return not self.strip_thinking_from_history

    def _frames_turn(self, message: Message, ctx: RenderContext) -> bool:
        """Whether this message gets the produced turn's padded thinking block."""
        if not self.frames_thinking or message["role"] != "assistant" or ctx.last_user_index < 0:
            return False
        return ctx.is_last or not self.strip_thinking_from_history

    def render_message(self, message: Message, ctx: RenderContext) -> Rendered:
        role = message["role"]
        header = self._fixed(
            ("\n" if ctx.idx > 0 else "") + "<|im_start|>" + ("user" if role == "tool" else role) + "\n"
        )
        content = message["content"]
        if message.get("thinking"):
            content = [{"type": "thinking", "thinking": message["thinking"]}, *(
                [{"type": "text", "text": content}] if isinstance(content, str) else content
            )]
        frames = self._frames_turn(message, ctx)
        reasons = _has_thinking(message)
        if isinstance(content, list):
            strip = self.strip_thinking_from_history and role == "assistant" and not ctx.is_last
            pieces: list[str] = []
            after_block = False
            for part in content:
                if part["type"] == "thinking":
                    if strip:
                        continue
                    pieces.append(_frame(part["thinking"]) if frames else f"<think>{part['thinking']}</think>")
                    after_block = frames
                elif part["type"] == "text":
                    pieces.append(part["text"].lstrip("\n") if after_block else part["text"])
                    after_block = False
            text = "".join(pieces)
        elif frames and "</think>" in content:
            reasoning, _, rest = content.partition("</think>")
            text = _frame(reasoning.rpartition("<think>")[2]) + rest.lstrip("\n")
        else:
            text = content
        has_text = bool(text)
        if frames and not reasons:
            text = _frame("") + text.lstrip("\n")
        if role == "tool":
            text = f"<tool_response>\n{text}\n</tool_response>"
        if "tool_calls" in message:
            calls = "\n".join(
                "<tool_call>\n"
                + json.dumps({"name": c.name, "arguments": json.loads(c.arguments)})
                + "\n</tool_call>"
                for c in tool_calls_of(message)
            )
            text += ("\n" if has_text else "") + calls
        output = self._encode_literal(text)
        output.append(self._im_end)
        return Rendered(header, output)

    def get_stop_sequences(self) -> list[int]:
        return [self._im_end]

    def parse_response(self, tokens: Sequence[int]) -> tuple[Message, Termination]:
        """Text up to `<|im_end|>`, with thinking blocks and tool calls split out."""
        message, termination = split_at_stop_token(tokens, self.tokenizer, self._im_end)
        if termination == "malformed":
            return message, termination
        text = message["content"]
        assert isinstance(text, str)
        parsed = parse_content_blocks(text)
        if parsed is not None:
            parts, results = parsed
            message["content"] = _unframe(parts) if self.frames_thinking else parts
            add_tool_results(message, results)
        dangling = detect_unterminated_tool_block(text, "<tool_call>", "</tool_call>")
        if dangling is not None:
            message["unparsed_tool_calls"] = [*message.get("unparsed_tool_calls", []), dangling]
        return message, termination


class Qwen3DisableThinkingRenderer(Qwen3Renderer):
    """Qwen3 with thinking off: the prompt ends in an empty, closed `<think>` block."""

    disables_thinking = True

    def render_message(self, message: Message, ctx: RenderContext) -> Rendered:
        if (
            message["role"] == "assistant"
            and ctx.is_last
            and message.get("content")
            and ctx.last_user_index < 0
        ):
            raise DataError(
                "qwen3_disable_thinking needs a user message before the trained assistant turn "
                "(Qwen's template writes no empty think block without one): add a user message"
            )
        return super().render_message(message, ctx)

    def _generation_suffix(self, role: str, ctx: RenderContext) -> Sequence[int]:
        newline = "\n" if ctx.idx > 0 else ""
        return self._fixed(f"{newline}<|im_start|>{role}\n<think>\n\n</think>\n\n")


class Qwen3InstructRenderer(Qwen3Renderer):
    """Qwen3 2507 Instruct models, which never think: no `<think>` block is written for them."""

    frames_thinking = False

    @property
    def has_extension_property(self) -> bool:
        return True
