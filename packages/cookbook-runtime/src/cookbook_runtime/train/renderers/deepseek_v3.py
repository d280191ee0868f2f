"""DeepSeek V3(.1) chat formats: `deepseekv3` / `deepseekv3_disable_thinking` and `deepseekv3_thinking`.

    <｜begin▁of▁sentence｜>system<｜User｜>question<｜Assistant｜></think>answer<｜end▁of▁sentence｜>

A system message at the start is written bare, without a role token. In
non-thinking mode every assistant turn opens with `</think>` in its header (the
model is told to skip reasoning) and reasoning in the data is dropped. In thinking
mode the generation prompt is prefilled with `<think>`, earlier assistant turns
lose their reasoning and open with `</think>`, and a trained turn that did not
reason gets an empty `<think></think>`. Tool calls use DeepSeek's own tokens; an
assistant turn right after a tool result has no role token.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from cookbook_runtime.errors import DataError
from cookbook_runtime.train.renderers._base import (
    ChatRenderer,
    RenderContext,
    Rendered,
    ensure_text,
    tool_calls_of,
)
from cookbook_runtime.train.renderers._messages import (
    Message,
    Termination,
    ToolCall,
    UnparsedToolCall,
)
from cookbook_runtime.train.renderers._parsing import (
    detect_unterminated_tool_block,
    parse_think_blocks,
    split_at_stop_token,
)
from cookbook_runtime.types import Tokenizer

__all__ = ["DeepSeekV3DisableThinkingRenderer", "DeepSeekV3ThinkingRenderer"]

_CALLS_BEGIN = "<｜tool▁calls▁begin｜>"
_CALLS_END = "<｜tool▁calls▁end｜>"
_CALL_BEGIN = "<｜tool▁call▁begin｜>"
_CALL_END = "<｜tool▁call▁end｜>"
_SEP = "<｜tool▁sep｜>"
_CALLS_SECTION = re.compile(re.escape(_CALLS_BEGIN) + "(.*?)" + re.escape(_CALLS_END), re.DOTALL)
_ONE_CALL = re.compile(re.escape(_CALL_BEGIN) + r"(\w+)" + re.escape(_SEP) + "(.*?)" + re.escape(_CALL_END), re.DOTALL)
_CALLS_WITH_SPACE = re.compile(r"\s*" + re.escape(_CALLS_BEGIN) + ".*?" + re.escape(_CALLS_END), re.DOTALL)
_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL)


class _DeepSeekV3Base(ChatRenderer):
    """What both DeepSeek V3 modes share: roles, tool calls, end of sentence, parsing."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        *,
        system_role_as_user: bool = False,
        strip_thinking_from_history: bool = True,
    ) -> None:
        super().__init__(tokenizer)
        self.system_role_as_user = system_role_as_user
        self.strip_thinking_from_history = strip_thinking_from_history
        self._bos = (self._single("<｜begin▁of▁sentence｜>"),)
        self._eos = self._single("<｜end▁of▁sentence｜>")
        self._user = (self._single("<｜User｜>"),)
        self._assistant = (self._single("<｜Assistant｜>"),)

    @property
    def has_extension_property(self) -> bool:
        return not self.strip_thinking_from_history

    @property
    def _bos_tokens(self) -> Sequence[int]:
        return self._bos

    def _assistant_text(self, message: Message, ctx: RenderContext) -> str:
        content = message["content"]
        if isinstance(content, str) and not message.get("thinking"):
            return content
        strip = (
            self.strip_thinking_from_history
            and not message.get("tool_calls")
            and not ctx.is_last
        )
        pieces: list[str] = []
        thinking = message.get("thinking")
        if thinking and not strip:
            pieces.append(f"<think>{thinking}</think>")
        for part in [] if isinstance(content, str) else content:
            if part["type"] == "thinking":
                if not strip:
                    pieces.append(f"<think>{part['thinking']}</think>")
            elif part["type"] == "text":
                pieces.append(part["text"])
        if isinstance(content, str):
            pieces.append(content)
        return "".join(pieces)

    def render_message(self, message: Message, ctx: RenderContext) -> Rendered:
        role = message["role"]
        header: Sequence[int]
        if role == "system":
            text = ensure_text(message)
            if ctx.idx == 0:
                header = ()
            elif self.system_role_as_user:
                header = self._user
            else:
                raise DataError(
                    "DeepSeek V3 takes a system message only first in the conversation: "
                    "move it there or build the renderer with system_role_as_user=True"
                )
        elif role == "user":
            header, text = self._user, ensure_text(message)
        elif role == "assistant":
            text = self._assistant_text(message, ctx)
            follows_tool = ctx.prev_message is not None and ctx.prev_message["role"] == "tool"
            header = () if follows_tool else self._assistant
        elif role == "tool":
            header = self._fixed("<｜tool▁output▁begin｜>")
            text = ensure_text(message) + "<｜tool▁output▁end｜>"
        else:
            raise DataError(f"DeepSeek V3 has no role {role!r}: use system, user, assistant or tool")
        calls = tool_calls_of(message)
        if calls:
            text += _CALLS_BEGIN + "".join(
                f"{_CALL_BEGIN}{c.name}{_SEP}{c.arguments}{_CALL_END}" for c in calls
            ) + _CALLS_END
        output = self._encode(text)
        if role == "assistant" and (message["content"] or message.get("thinking")):
            output.append(self._eos)
        return Rendered(header, output)

    def get_stop_sequences(self) -> list[int]:
        return [self._eos]

    def _restore_prefill(self, tokens: list[int]) -> list[int]:
        return tokens

    def parse_response(self, tokens: Sequence[int]) -> tuple[Message, Termination]:
        """Text up to end-of-sentence, with DeepSeek tool calls and thinking blocks split out."""
        ids = self._restore_prefill(list(tokens))
        message, termination = split_at_stop_token(ids, self.tokenizer, self._eos)
        if termination == "malformed":
            return message, termination
        text = message["content"]
        assert isinstance(text, str)
        calls: list[ToolCall] = []
        failed: list[UnparsedToolCall] = []
        section = _CALLS_SECTION.search(text)
        if section:
            for match in _ONE_CALL.finditer(section.group(1)):
                arguments = match.group(2).strip()
                try:
                    json.loads(arguments)
                except json.JSONDecodeError as e:
                    failed.append(UnparsedToolCall(match.group(0), f"Invalid JSON: {e}"))
                else:
                    calls.append(ToolCall(match.group(1), arguments))
        for open_marker, close_marker in ((_CALLS_BEGIN, _CALLS_END), (_CALL_BEGIN, _CALL_END)):
            dangling = detect_unterminated_tool_block(text, open_marker, close_marker)
            if dangling is not None:
                failed.append(dangling)
                break
        if calls:
            message["tool_calls"] = calls
        if failed:
            message["unparsed_tool_calls"] = failed
        if calls or failed:
            text = _CALLS_WITH_SPACE.sub("", text).strip()
        parts = parse_think_blocks(text)
        message["content"] = parts if parts is not None else text
        return message, termination


class DeepSeekV3ThinkingRenderer(_DeepSeekV3Base):
    """DeepSeek V3 in thinking mode: the generation prompt is prefilled with `<think>`."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        *,
        system_role_as_user: bool = False,
        strip_thinking_from_history: bool = True,
    ) -> None:
        super().__init__(
            tokenizer,
            system_role_as_user=system_role_as_user,
            strip_thinking_from_history=strip_thinking_from_history,
        )
        self._think_open = self.tokenizer.convert_tokens_to_ids("<think>")
        self._think_close = self.tokenizer.convert_tokens_to_ids("</think>")

    def render_message(self, message: Message, ctx: RenderContext) -> Rendered:
        rendered = super().render_message(message, ctx)
        follows_tool = ctx.prev_message is not None and ctx.prev_message["role"] == "tool"
        assistant_turn = message["role"] == "assistant" and not follows_tool
        if assistant_turn and self.strip_thinking_from_history and not ctx.is_last:
            return Rendered((*rendered.header, *self._fixed("</think>")), rendered.output)
        if assistant_turn and ctx.is_last and message.get("content") and not _reasons(message):
            output = [*self._fixed("<think></think>"), *rendered.output]
            return Rendered(rendered.header, output)
        return rendered

    def _prefill(self, messages: Sequence[Message], prefill: str | None) -> str | None:
        if messages and messages[-1]["role"] == "tool":
            return prefill
        return "<think>" + (prefill or "")

    def _restore_prefill(self, tokens: list[int]) -> list[int]:
        """Put back the `<think>` the prompt prefilled, so the sample parses as a whole turn."""
        if (not tokens or tokens[0] != self._think_open) and self._think_close in tokens:
            return [self._think_open, *tokens] if self._think_open is not None else tokens
        return tokens


class DeepSeekV3DisableThinkingRenderer(_DeepSeekV3Base):
    """DeepSeek V3 in non-thinking mode: assistant headers end with `</think>`, reasoning is dropped."""

    @property
    def has_extension_property(self) -> bool:
        return True

    def render_message(self, message: Message, ctx: RenderContext) -> Rendered:
        follows_tool = ctx.prev_message is not None and ctx.prev_message["role"] == "tool"
        if message["role"] != "assistant" or follows_tool:
            return super().render_message(message, ctx)
        content = message["content"]
        if isinstance(content, list):
            text = "".join(p["text"] for p in content if p["type"] == "text")
        else:
            text = _THINK_BLOCK.sub("", content)
        plain: Message = {**message, "content": text}  # type: ignore[typeddict-item]
        plain.pop("thinking", None)
        rendered = super().render_message(plain, ctx)
        return Rendered((*rendered.header, *self._fixed("</think>")), rendered.output)


def _reasons(message: Message) -> bool:
    if message.get("thinking"):
        return True
    content = message["content"]
    if isinstance(content, list):
        return any(p["type"] == "thinking" for p in content)
    return "<think>" in content
