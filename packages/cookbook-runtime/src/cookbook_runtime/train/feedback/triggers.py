"""Retraining triggers: when has a served model gathered enough feedback, or enough bad feedback?

A trigger has a name and a history of evaluations (`TriggerRecord`s) in the feedback
store. Every condition looks only at what arrived after the trigger last *fired*, so
one burst of feedback fires it once:

- event count: at least `min_events` inference events;
- rolling quality: among the newest `quality_window` thumbs signals, the share of
  thumbs-up is below `min_quality` (judged once `quality_min_signals` have arrived);
- schedule: `every` (e.g. "6h") has passed since it last fired (or since the first
  event when it never has) and at least one event arrived in that time.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cookbook_runtime.ports import FeedbackStore, TriggerRecord, utc_now

__all__ = ["TriggerConditions", "evaluate_trigger", "parse_interval"]

_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> timedelta:
    """'90s', '30m', '6h', '1.5d' -> a timedelta; `ValueError` saying the accepted form otherwise."""
    match = _INTERVAL.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"interval {text!r} must be a positive number and a unit s, m, h or d (e.g. '6h')")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


class TriggerConditions(BaseModel):
    """When a trigger fires; any condition that holds fires it. At least one must be set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        default="retrain",
        min_length=1,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
        description="Trigger name: each name keeps its own history in the feedback store.",
    )
    min_events: int | None = Field(
        default=None, ge=1, description="Fire once this many inference events arrived since the last firing."
    )
    min_quality: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        description="Fire when the thumbs-up share of the newest quality_window thumbs signals is below this.",
    )
    quality_window: int = Field(default=50, ge=1, description="How many of the newest thumbs signals the quality reads.")
    quality_min_signals: int = Field(
        default=10, ge=1, description="Judge quality only once this many thumbs signals arrived since the last firing."
    )
    every: str | None = Field(
        default=None, description="Fire when this long passed since the last firing (e.g. '30m', '6h', '7d')."
    )

    @field_validator("every")
    @classmethod
    def _interval(cls, value: str | None) -> str | None:
        if value is not None:
            parse_interval(value)
        return value

    @model_validator(mode="after")
    def _check(self) -> TriggerConditions:
        if self.min_events is None and self.min_quality is None and self.every is None:
            raise ValueError("set at least one condition: min_events, min_quality or every")
        if self.quality_min_signals > self.quality_window:
            raise ValueError(
                f"quality_min_signals ({self.quality_min_signals}) cannot exceed quality_window ({self.quality_window})"
            )
        return self


async def evaluate_trigger(
    store: FeedbackStore,
    conditions: TriggerConditions,
    *,
    now: datetime | None = None,
    metadata: dict[str, Any] | None = None,
) -> TriggerRecord:
    """Evaluate the conditions against the store; return the record (not stored: the caller stores it).

    The record's `metadata` holds `window_start` (when the trigger last fired, ISO, or
    None) and `window_end` (now): the feedback this evaluation looked at.
    """
    now = now or utc_now()
    previous = await store.triggers(name=conditions.name, fired=True, limit=1, newest_first=True)
    since = previous[0].time if previous else None
    reasons: list[str] = []
    metrics: dict[str, float] = {}

    events = await store.count("events", since=since)
    metrics["events_since_last_fired"] = float(events)
    if conditions.min_events is not None and events >= conditions.min_events:
        reasons.append(f"{events} inference events since the last firing (min_events {conditions.min_events})")

    if conditions.min_quality is not None:
        thumbs = await store.signals(
            since=since, kinds=["thumbs_up", "thumbs_down"], limit=conditions.quality_window, newest_first=True
        )
        metrics["quality_signals"] = float(len(thumbs))
        if thumbs:
            quality = sum(s.kind == "thumbs_up" for s in thumbs) / len(thumbs)
            metrics["quality"] = quality
            if len(thumbs) >= conditions.quality_min_signals and quality < conditions.min_quality:
                reasons.append(
                    f"thumbs-up share {quality:.3f} over the newest {len(thumbs)} thumbs signals is below "
                    f"min_quality {conditions.min_quality}"
                )

    if conditions.every is not None:
        interval = parse_interval(conditions.every)
        reference = since
        if reference is None:
            first = await store.events(limit=1)
            reference = first[0].time if first else None
        if reference is not None:
            elapsed = now - reference
            metrics["seconds_since_reference"] = elapsed.total_seconds()
            if elapsed >= interval and events > 0:
                what = "the last firing" if since is not None else "the first event"
                reasons.append(f"{conditions.every} passed since {what} (every {conditions.every})")

    return TriggerRecord(
        name=conditions.name,
        time=now,
        fired=bool(reasons),
        reasons=reasons,
        metrics=metrics,
        metadata={
            **(metadata or {}),
            "window_start": since.isoformat() if since is not None else None,
            "window_end": now.isoformat(),
        },
    )
