"""The shared assembly every built-in renderer uses.

A family module only says how one message looks (`render_message`: a header the
model is shown and an output it learns to write). This module turns those pieces
into supervised examples and generation prompts, decides which tokens carry loss,
and keeps the rules tinker-cookbook applies so both produce the same tokens.

Speed matters here: renderers run once per example per epoch. Fixed strings (role
headers, end-of-turn tokens) are encoded once and cached, so a message usually
costs one tokenizer call, for its content.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cookbook_runtime.errors import ConfigError, DataError
from cookbook_runtime.train.renderers._messages import (
    ContentPart,
    Message,
    Termination,
    TextPart,
    ToolCall,
    TrainOnWhat,
)
from cookbook_runtime.types import EncodedTextChunk, ModelInput, Tokenizer

__all__ = [
    "ChatRenderer",
    "RenderContext",
    "Rendered",
    "as_tool_call",
    "content_parts",
    "ensure_text",
    "tool_calls_of",
]

logger = logging.getLogger(__name__)

_NO_TOKENS: tuple[int, ...] = ()


@dataclass(slots=True)
class RenderContext:
    """Where a message sits in its conversation; some formats render by position.

    Not frozen only because frozen dataclasses are slow to build and one is built
    per message; treat it as read-only.
    """

    idx: int
    is_last: bool
    prev_message: Message | None = None
    next_message: Message | None = None
    last_user_index: int = -1
    in_last_assistant_turn: bool = False


@dataclass(slots=True)
class Rendered:
    """One message as tokens: `header` is shown to the model, `output` is what it learns to write.

    `stop_overlap` is for formats whose stop string runs into the next message's
    header (role_colon's "\\n\\nUser:"); it is appended only after the last message.
    """

    header: Sequence[int]
    output: Sequence[int]
    stop_overlap: Sequence[int] = _NO_TOKENS


def ensure_text(message: Message) -> str:
    """The content of a text-only message; a single text part counts as text."""
    content = message["content"]
    if isinstance(content, str):
        return content
    if len(content) == 1 and content[0]["type"] == "text":
        return content[0]["text"]
    raise DataError(
        f"a {message['role']!r} message has {len(content)} content parts where this renderer "
        "takes plain text: join the text parts or pick a renderer that supports them"
    )


def content_parts(message: Message) -> list[ContentPart]:
    """The content as a part list, with a top-level `thinking` field first."""
    content = message["content"]
    parts: list[ContentPart] = (
        [TextPart(type="text", text=content)] if isinstance(content, str) else list(content)
    )
    thinking = message.get("thinking")
    if thinking:
        parts.insert(0, {"type": "thinking", "thinking": thinking})
    return parts


def as_tool_call(call: object) -> ToolCall:
    """A `ToolCall` from itself or from an OpenAI-style dict (`{"function": {...}, "id": ...}`)."""
    if isinstance(call, ToolCall):
        return call
    if isinstance(call, dict):
        body = call.get("function", call)
        if isinstance(body, dict) and isinstance(body.get("name"), str):
            arguments = body.get("arguments", "{}")
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments)
            call_id = call.get("id")
            return ToolCall(body["name"], arguments, call_id if isinstance(call_id, str) else None)
    raise DataError(
        f"tool call {call!r} is neither a ToolCall nor an OpenAI-style dict with function.name"
    )


def tool_calls_of(message: Message) -> list[ToolCall]:
    """The message's tool calls, normalised to `ToolCall`."""
    calls = message.get("tool_calls")
    if not calls:
        return []
    return [as_tool_call(c) for c in calls]


def _accepts_split_special_tokens(tokenizer: Tokenizer) -> bool:
    try:
        params = inspect.signature(tokenizer.encode).parameters
    except (TypeError, ValueError):
        return False
    return "split_special_tokens" in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )


class ChatRenderer:
    """Base of the built-in renderers: assembly, loss masks and cached encodings.

    Subclasses implement `render_message`, `get_stop_sequences` and `parse_response`,
    and may override the hooks below where their format departs from plain
    concatenation of rendered messages.
    """

    disables_thinking = False
    """True when the generation prompt closes the thinking block (the model is told not to reason)."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer
        self._cache: dict[str, tuple[int, ...]] = {}
        self._literal_kwargs: dict[str, Any] = (
            {"split_special_tokens": True} if _accepts_split_special_tokens(tokenizer) else {}
        )
        self._warned_extension = False

    @property
    def tokenizer(self) -> Tokenizer:
        return self._tokenizer

    @property
    def has_extension_property(self) -> bool:
        """Whether each turn's prompt is a prefix of the next turn's (nothing is dropped from history)."""
        return False

    # -- encoding helpers -------------------------------------------------

    def _encode(self, text: str) -> list[int]:
        """Token ids of `text`; special-token spellings in it become special tokens."""
        return self._tokenizer.encode(text, add_special_tokens=False)

    def _encode_literal(self, text: str) -> list[int]:
        """Token ids of user text with special-token spellings kept as plain text, where the tokenizer can."""
        enc: Callable[..., list[int]] = self._tokenizer.encode
        return enc(text, add_special_tokens=False, **self._literal_kwargs)

    def _fixed(self, text: str) -> tuple[int, ...]:
        """Cached token ids of a string the format always writes the same way."""
        found = self._cache.get(text)
        if found is None:
            found = tuple(self._encode(text))
            self._cache[text] = found
        return found

    def _single(self, text: str) -> int:
        """The id of a special token, which must encode to exactly one token."""
        ids = self._fixed(text)
        if len(ids) != 1:
            raise ConfigError(
                f"{type(self).__name__} needs {text!r} to be one token but this tokenizer gives "
                f"{len(ids)}: use the tokenizer of the model this renderer is for"
            )
        return ids[0]

    # -- per-format hooks -------------------------------------------------

    @property
    def _bos_tokens(self) -> Sequence[int]:
        return _NO_TOKENS

    def render_message(self, message: Message, ctx: RenderContext) -> Rendered:
        """One message as header and output tokens."""
        raise NotImplementedError

    def get_stop_sequences(self) -> list[str] | list[int]:
        raise NotImplementedError

    def parse_response(self, tokens: Sequence[int]) -> tuple[Message, Termination]:
        raise NotImplementedError

    def _prepare(self, messages: Sequence[Message]) -> Sequence[Message]:
        """Messages as the format sees them (e.g. with a built-in system prompt prepended)."""
        return messages

    def _generation_suffix(self, role: str, ctx: RenderContext) -> Sequence[int]:
        """Tokens that open the turn to be generated; by default the header of an empty message."""
        return self.render_message({"role": role, "content": ""}, ctx).header

    def _prefill(self, messages: Sequence[Message], prefill: str | None) -> str | None:
        return prefill

    def _last_assistant_turn_start_index(self, messages: Sequence[Message]) -> int:
        """First message of the turn being produced: the one after the last user message."""
        return _last_user_index(messages) + 1

    def _output_is_trained(
        self, message: Message, ctx: RenderContext, train_on_what: TrainOnWhat
    ) -> bool:
        role = message["role"]
        if train_on_what is TrainOnWhat.LAST_ASSISTANT_MESSAGE:
            return ctx.is_last and role == "assistant"
        if train_on_what is TrainOnWhat.LAST_ASSISTANT_TURN:
            return role == "assistant" and ctx.in_last_assistant_turn
        if train_on_what is TrainOnWhat.ALL_ASSISTANT_MESSAGES:
            return role == "assistant"
        if train_on_what is TrainOnWhat.ALL_MESSAGES or train_on_what is TrainOnWhat.ALL_TOKENS:
            return True
        if train_on_what is TrainOnWhat.ALL_USER_AND_SYSTEM_MESSAGES:
            return role in ("user", "system")
        if train_on_what is TrainOnWhat.CUSTOMIZED:
            return bool(message.get("trainable", False))
        raise ConfigError(f"unknown train_on_what {train_on_what!r}: use a TrainOnWhat member")

    # -- assembly ---------------------------------------------------------

    def build_generation_prompt(
        self, messages: Sequence[Message], prefill: str | None = None, *, role: str = "assistant"
    ) -> ModelInput:
        """The prompt that asks the model for the next `role` turn, optionally prefilled."""
        tokens = self._prompt_tokens(self._prepare(messages), prefill, role)
        return ModelInput((EncodedTextChunk(tuple(tokens)),))

    def _prompt_tokens(self, messages: Sequence[Message], prefill: str | None, role: str) -> list[int]:
        """Generation-prompt tokens of already-prepared messages."""
        tokens: list[int] = list(self._bos_tokens)
        last_user = _last_user_index(messages)
        turn_start = self._last_assistant_turn_start_index(messages)
        n = len(messages)
        for idx, message in enumerate(messages):
            ctx = RenderContext(
                idx,
                idx == n - 1,
                messages[idx - 1] if idx > 0 else None,
                messages[idx + 1] if idx + 1 < n else None,
                last_user,
                idx >= turn_start,
            )
            rendered = self.render_message(message, ctx)
            tokens.extend(rendered.header)
            tokens.extend(rendered.output)
        suffix_ctx = RenderContext(n, True, messages[-1] if messages else None, None, last_user, True)
        tokens.extend(self._generation_suffix(role, suffix_ctx))
        prefill = self._prefill(messages, prefill)
        if prefill:
            tokens.extend(self._encode(prefill))
        return tokens

    def build_supervised_example(
        self,
        messages: Sequence[Message],
        train_on_what: TrainOnWhat = TrainOnWhat.LAST_ASSISTANT_MESSAGE,
    ) -> tuple[ModelInput, list[float]]:
        """All tokens of `messages` and one loss weight per token, per `train_on_what`.

        Headers carry loss only under ALL_TOKENS. For the modes that train the turn a
        sampler would produce, tokens the generation prompt would already supply get
        no loss, so the model is never trained to write its own prompt.
        """
        train_on_what = TrainOnWhat(train_on_what)
        original = messages
        messages = self._prepare(messages)
        customized = train_on_what is TrainOnWhat.CUSTOMIZED
        for idx, message in enumerate(original):
            if ("trainable" in message) != customized:
                raise DataError(
                    f"message {idx} {'lacks' if customized else 'has'} a 'trainable' field: "
                    "set it on every message with train_on_what=customized, and on none otherwise"
                )
        if (
            train_on_what is TrainOnWhat.ALL_ASSISTANT_MESSAGES
            and not self.has_extension_property
            and not self._warned_extension
        ):
            self._warned_extension = True
            logger.warning(
                "%s drops content from history, so earlier assistant turns are trained in a "
                "context the model never sees at sampling time; prefer one example per turn",
                type(self).__name__,
            )
        tokens: list[int] = list(self._bos_tokens)
        weights: list[float] = [0.0] * len(tokens)
        header_weight = 1.0 if train_on_what is TrainOnWhat.ALL_TOKENS else 0.0
        last_user = _last_user_index(messages)
        turn_start = self._last_assistant_turn_start_index(messages[:-1])
        n = len(messages)
        for idx, message in enumerate(messages):
            is_last = idx == n - 1
            ctx = RenderContext(
                idx,
                is_last,
                messages[idx - 1] if idx > 0 else None,
                messages[idx + 1] if idx + 1 < n else None,
                last_user,
                idx >= turn_start,
            )
            rendered = self.render_message(message, ctx)
            if rendered.header:
                tokens.extend(rendered.header)
                weights.extend([header_weight] * len(rendered.header))
            output_weight = 1.0 if self._output_is_trained(message, ctx, train_on_what) else 0.0
            tokens.extend(rendered.output)
            weights.extend([output_weight] * len(rendered.output))
            if is_last and rendered.stop_overlap:
                tokens.extend(rendered.stop_overlap)
                weights.extend([output_weight] * len(rendered.stop_overlap))
        self._mask_generation_prompt(messages, train_on_what, tokens, weights)
        return ModelInput((EncodedTextChunk(tuple(tokens)),)), weights

    def _mask_generation_prompt(
        self,
        messages: Sequence[Message],
        train_on_what: TrainOnWhat,
        tokens: list[int],
        weights: list[float],
    ) -> None:
        """Zero the weights of tokens the generation prompt supplies (e.g. a prefilled `<think>`).

        If the rendered sequence does not start with that prompt, a renderer that
        disables thinking was handed a turn that reasons: training on it would teach
        the model to reason after being told not to, so this refuses.
        """
        boundary = _first_trained_message_index(messages, train_on_what)
        if boundary is None:
            return
        prompt = self._prompt_tokens(messages[:boundary], None, "assistant")
        if tokens[: len(prompt)] != prompt:
            if self.disables_thinking:
                raise DataError(
                    f"{type(self).__name__} turns thinking off, but the trained turn contains "
                    "reasoning: use the thinking variant of this renderer or drop the reasoning"
                )
            return
        weights[: len(prompt)] = [0.0] * len(prompt)


def _last_user_index(messages: Sequence[Message]) -> int:
    for idx in range(len(messages) - 1, -1, -1):
        if messages[idx]["role"] == "user":
            return idx
    return -1


def _first_trained_message_index(
    messages: Sequence[Message], train_on_what: TrainOnWhat
) -> int | None:
    """Where the generation prompt for the trained turn ends, for modes that train one turn."""
    if train_on_what is TrainOnWhat.LAST_ASSISTANT_MESSAGE:
        boundary = len(messages) - 1
    elif train_on_what is TrainOnWhat.LAST_ASSISTANT_TURN:
        boundary = _last_user_index(messages) + 1
    else:
        return None
    if not 0 <= boundary < len(messages):
        return None
    return boundary if messages[boundary]["role"] == "assistant" else None
