"""Chat message types: what a conversation is before a renderer turns it into tokens.

Messages are plain dicts (TypedDicts) so datasets can build them straight from
JSON rows; the shapes match tinker-cookbook's, so data written for one works with
the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, NotRequired, TypeAlias, TypedDict

__all__ = [
    "Content",
    "ContentPart",
    "ImagePart",
    "Message",
    "Termination",
    "TextPart",
    "ThinkingPart",
    "ToolCall",
    "ToolSpec",
    "TrainOnWhat",
    "UnparsedToolCall",
]


class TextPart(TypedDict):
    """Visible text."""

    type: Literal["text"]
    text: str


class ThinkingPart(TypedDict):
    """The model's reasoning, rendered inside the format's thinking block."""

    type: Literal["thinking"]
    thinking: str


class ImagePart(TypedDict):
    """An image (URL or data URI); text-only renderers reject it."""

    type: Literal["image"]
    image: str


ContentPart: TypeAlias = TextPart | ThinkingPart | ImagePart
Content: TypeAlias = str | list[ContentPart]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call an assistant message makes; `arguments` is a JSON object string."""

    name: str
    arguments: str
    id: str | None = None

    def arguments_object(self) -> object:
        """The decoded `arguments`."""
        return json.loads(self.arguments)


@dataclass(frozen=True, slots=True)
class UnparsedToolCall:
    """Text that looked like a tool call but could not be parsed, kept with the reason."""

    raw_text: str
    error: str


class Message(TypedDict):
    """One turn of a conversation.

    `role` is usually system, user, assistant or tool. `thinking` is reasoning kept
    apart from `content` (it can also arrive as thinking parts inside `content`).
    `trainable` is read only by `TrainOnWhat.CUSTOMIZED`. Tool results carry the
    `name` of the function and the `tool_call_id` they answer.
    """

    role: str
    content: Content
    thinking: NotRequired[str]
    tool_calls: NotRequired[list[ToolCall]]
    unparsed_tool_calls: NotRequired[list[UnparsedToolCall]]
    trainable: NotRequired[bool]
    tool_call_id: NotRequired[str]
    name: NotRequired[str]


class ToolSpec(TypedDict):
    """A tool offered to the model, in the OpenAI function format."""

    name: str
    description: str
    parameters: dict[str, object]


class TrainOnWhat(StrEnum):
    """Which tokens of a conversation carry loss."""

    LAST_ASSISTANT_MESSAGE = "last_assistant_message"
    LAST_ASSISTANT_TURN = "last_assistant_turn"
    ALL_ASSISTANT_MESSAGES = "all_assistant_messages"
    ALL_MESSAGES = "all_messages"
    ALL_TOKENS = "all_tokens"
    ALL_USER_AND_SYSTEM_MESSAGES = "all_user_and_system_messages"
    CUSTOMIZED = "customized"


Termination: TypeAlias = Literal["stop", "eos", "malformed"]
"""How a sampled response ended: the format's stop signal, the model's EOS, or neither."""
