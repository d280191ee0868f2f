"""What a `FeedbackStore` holds: inference events, feedback signals on them, trigger records.

An *inference event* is one answer a served model gave: the prompt messages, the
completion, which model and version answered, and how long it took. A *signal* is
what a user said about one event: thumbs up or down, an edited completion, or a
completion they preferred. A *trigger record* is one evaluation of a retraining
trigger (`check_triggers`), kept so the next evaluation knows when the last one fired.

Times are timezone-aware UTC datetimes (a naive datetime is taken as UTC), ordered by
the store; `since` filters are strict (`time > since`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

from pydantic import Field, field_validator, model_validator

from cookbook_runtime.ir import Spec

__all__ = [
    "FeedbackSignal",
    "InferenceEvent",
    "SignalKind",
    "TriggerRecord",
    "new_id",
    "utc_now",
]

SignalKind: TypeAlias = Literal["thumbs_up", "thumbs_down", "edit", "preferred"]
"""`edit` and `preferred` carry a `completion`: the user's edit, or the completion they preferred."""


def new_id() -> str:
    """A fresh random id (32 hex digits)."""
    return uuid.uuid4().hex


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class InferenceEvent(Spec):
    """One completion a served model returned."""

    id: str = Field(default_factory=new_id, min_length=1, description="Unique id; clients post feedback on it.")
    time: datetime = Field(default_factory=utc_now, description="When the completion was returned (UTC).")
    model: str = Field(min_length=1, description="Served model name (as `/v1/models` lists it).")
    version: str | None = Field(default=None, description="Registered model version that answered, if known.")
    messages: list[dict[str, Any]] = Field(
        description="Prompt as chat messages, each with a 'role' and a string 'content'."
    )
    completion: str = Field(description="The assistant text the model returned.")
    latency_ms: float = Field(default=0.0, ge=0.0, description="Time from request to full completion, in ms.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Anything else worth keeping (JSON values).")

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)

    @field_validator("messages")
    @classmethod
    def _messages(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not value:
            raise ValueError("an inference event needs at least one prompt message")
        for i, message in enumerate(value):
            if not isinstance(message.get("role"), str) or not isinstance(message.get("content"), str):
                raise ValueError(f"prompt message {i} needs a string 'role' and a string 'content'")
        return value


class FeedbackSignal(Spec):
    """What a user said about one inference event."""

    id: str = Field(default_factory=new_id, min_length=1, description="Unique id of this signal.")
    event_id: str = Field(min_length=1, description="Id of the `InferenceEvent` this is about.")
    kind: SignalKind = Field(description="thumbs_up, thumbs_down, edit or preferred.")
    completion: str | None = Field(
        default=None,
        description="For 'edit': the user's corrected completion; for 'preferred': the completion they preferred. "
        "None for thumbs.",
    )
    score: float | None = Field(default=None, description="Optional numeric rating the client sent.")
    time: datetime = Field(default_factory=utc_now, description="When the signal was received (UTC).")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Anything else worth keeping (JSON values).")

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)

    @model_validator(mode="after")
    def _completion_matches_kind(self) -> FeedbackSignal:
        needs = self.kind in ("edit", "preferred")
        if needs and not self.completion:
            raise ValueError(f"a {self.kind!r} signal needs a non-empty 'completion'")
        if not needs and self.completion is not None:
            raise ValueError(f"a {self.kind!r} signal takes no 'completion'; send kind 'edit' or 'preferred'")
        return self


class TriggerRecord(Spec):
    """One evaluation of a retraining trigger, fired or not."""

    id: str = Field(default_factory=new_id, min_length=1, description="Unique id of this record.")
    name: str = Field(min_length=1, description="Trigger name; each name keeps its own history.")
    time: datetime = Field(default_factory=utc_now, description="When it was evaluated (UTC).")
    fired: bool = Field(description="Whether any condition held.")
    reasons: list[str] = Field(default_factory=list, description="The conditions that held, one line each.")
    metrics: dict[str, float] = Field(default_factory=dict, description="What was measured (event count, quality).")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Where it ran (run dir, stage).")

    @field_validator("time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)
