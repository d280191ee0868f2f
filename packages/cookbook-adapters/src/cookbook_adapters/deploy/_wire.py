"""OpenAI request bodies (the fields this endpoint honours) and response/chunk builders.

Unknown request fields are ignored, as OpenAI-compatible servers commonly do, so a
client that sends e.g. `presence_penalty` still gets an answer; every field listed
here is validated. Responses follow OpenAI's `chat.completion`,
`chat.completion.chunk` and `text_completion` objects; `model` names the exact
version that answered (`NAME:VERSION`), the way OpenAI answers `gpt-4o` with a dated
snapshot, and `system_fingerprint` carries the bare version label.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatMessage",
    "ChatRequest",
    "CompletionRequest",
    "FeedbackRequest",
    "sse",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _ContentPart(_Body):
    type: str
    text: str | None = None


class ChatMessage(_Body):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[_ContentPart] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text or "" for part in self.content if part.type == "text")


class _StreamOptions(_Body):
    include_usage: bool = False


class _Sampling(_Body):
    model: str = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    n: int = Field(default=1, ge=1, le=64)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False
    stream_options: _StreamOptions | None = None
    user: str | None = None

    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage

    def stop_strings(self) -> list[str]:
        if self.stop is None:
            return []
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop)
        return [s for s in stops if s]


class ChatRequest(_Sampling):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)

    def token_cap(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class CompletionRequest(_Sampling):
    prompt: str | list[str]
    echo: bool = False

    def token_cap(self) -> int | None:
        return self.max_tokens if self.max_tokens is not None else 16  # OpenAI's default here


class FeedbackRequest(BaseModel):
    """A signal on one logged inference event (the completion response's `id`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(min_length=1, description="The `id` of the completion response.")
    kind: Literal["thumbs_up", "thumbs_down", "edit", "preferred"] = Field(
        description="thumbs_up/down: a rating; edit: a corrected completion; preferred: a better one."
    )
    completion: str | None = Field(
        default=None, description="The edited or preferred completion (edit and preferred only)."
    )
    score: float | None = Field(default=None, description="An optional numeric rating.")
    comment: str | None = Field(default=None, description="Free text kept with the signal.")
    metadata: dict[str, Any] | None = Field(default=None, description="Anything else to keep (JSON values).")


def sse(obj: dict[str, Any] | str) -> str:
    """One server-sent event line pair carrying `obj` (or the literal `[DONE]`)."""
    data = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
    return f"data: {data}\n\n"
