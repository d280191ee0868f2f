"""What the endpoint logs per request, written to the `FeedbackStore` port.

Each sampled choice is one `InferenceEvent`: choice 0 has the response's `id`,
choice `i > 0` the id `<id>-<i>`, so feedback can name any choice. A raw-text
completion (`/v1/completions`) is stored as one user message with
`metadata.endpoint = "completions"`, so exports can tell it from a chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ports import FeedbackSignal, FeedbackStore, InferenceEvent
from pydantic import ValidationError

from cookbook_adapters.deploy._wire import FeedbackRequest

__all__ = ["EventLog", "InferenceRecord", "choice_event_id"]


def choice_event_id(response_id: str, index: int) -> str:
    """The event id of choice `index` of the response `response_id`."""
    return response_id if index == 0 else f"{response_id}-{index}"


@dataclass(frozen=True)
class InferenceRecord:
    """One answered request (all its choices)."""

    response_id: str
    model: str
    version: str
    served_as: str
    registry_id: str | None
    endpoint: str
    messages: list[dict[str, str]]
    completions: list[str]
    latency_ms: float
    params: dict[str, Any]


class EventLog:
    """Logs inference events and takes feedback signals, through a `FeedbackStore`."""

    def __init__(self, store: FeedbackStore) -> None:
        self.store = store

    async def log(self, record: InferenceRecord) -> None:
        """One event per choice of `record`."""
        for i, completion in enumerate(record.completions):
            metadata: dict[str, Any] = {
                "endpoint": record.endpoint,
                "served_as": record.served_as,
                "choice": i,
                "choices": len(record.completions),
                "response_id": record.response_id,
                "params": record.params,
            }
            if record.registry_id is not None:
                metadata["registry_version"] = record.registry_id
            await self.store.log_event(
                InferenceEvent(
                    id=choice_event_id(record.response_id, i),
                    model=record.model,
                    version=record.version,
                    messages=record.messages,
                    completion=completion,
                    latency_ms=record.latency_ms,
                    metadata=metadata,
                )
            )

    async def signal(self, feedback: FeedbackRequest) -> str:
        """Store `feedback` on its event; return the signal's id (`FeedbackEventNotFound` if unknown)."""
        metadata: dict[str, Any] = dict(feedback.metadata or {})
        if feedback.comment is not None:
            metadata["comment"] = feedback.comment
        try:
            signal = FeedbackSignal(
                event_id=feedback.event_id,
                kind=feedback.kind,
                completion=feedback.completion,
                score=feedback.score,
                metadata=metadata,
            )
        except ValidationError as exc:
            raise ConfigError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from None
        await self.store.add_signal(signal)
        return signal.id
