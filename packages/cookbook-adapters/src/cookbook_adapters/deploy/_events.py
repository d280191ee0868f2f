"""What the endpoint logs per request, and the log it writes to (bound to a FeedbackStore)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from cookbook_adapters.deploy._wire import FeedbackRequest

__all__ = ["EventLog", "InferenceRecord"]


@dataclass(frozen=True)
class InferenceRecord:
    """One answered request."""

    model: str
    version: str
    registry_id: str | None
    endpoint: str
    messages: list[dict[str, str]] | None
    prompt: str
    completions: list[str]
    latency_ms: float
    params: dict[str, Any]


class EventLog(Protocol):
    """Where inference events and their feedback signals go."""

    async def log(self, record: InferenceRecord) -> str:
        """Store `record`; return its event id (the response `id`)."""
        ...

    async def signal(self, feedback: FeedbackRequest) -> str:
        """Store a signal on a logged event; return the signal's id (unknown event: a CookbookError)."""
        ...
