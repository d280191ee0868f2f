"""`FakeFeedbackStore`: the feedback port in memory, with the same rules as the SQLite store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, TypeVar

from cookbook_runtime.errors import FeedbackEventNotFound, StorageError
from cookbook_runtime.ports._feedback import (
    FeedbackSignal,
    InferenceEvent,
    SignalKind,
    TriggerRecord,
)

__all__ = ["FakeFeedbackStore"]

R = TypeVar("R", InferenceEvent, FeedbackSignal, TriggerRecord)


def _put(table: dict[str, R], record: R, what: str) -> None:
    old = table.get(record.id)
    if old is not None:
        if old != record:
            raise StorageError(f"{what} {record.id!r} is already stored with different content; use a new id")
        return
    table[record.id] = record


def _select(records: Sequence[R], since: datetime | None, limit: int | None, newest_first: bool) -> list[R]:
    if limit is not None and limit < 0:
        raise StorageError(f"limit must be >= 0, got {limit}")
    # a stable sort on time keeps insertion order among equal times, as the SQLite store does
    out = sorted((r for r in records if since is None or r.time > since), key=lambda r: r.time)
    if newest_first:
        out.reverse()
    return out if limit is None else out[:limit]


class FakeFeedbackStore:
    """Events, signals and trigger records in dicts (insertion-ordered)."""

    def __init__(self) -> None:
        self.event_table: dict[str, InferenceEvent] = {}
        self.signal_table: dict[str, FeedbackSignal] = {}
        self.trigger_table: dict[str, TriggerRecord] = {}
        self.closed = False

    async def log_event(self, event: InferenceEvent) -> None:
        _put(self.event_table, event, "inference event")

    async def get_event(self, event_id: str) -> InferenceEvent | None:
        return self.event_table.get(event_id)

    async def add_signal(self, signal: FeedbackSignal) -> None:
        if signal.event_id not in self.event_table:
            raise FeedbackEventNotFound(signal.event_id)
        _put(self.signal_table, signal, "feedback signal")

    async def events(
        self,
        *,
        since: datetime | None = None,
        model: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[InferenceEvent]:
        rows = [e for e in self.event_table.values() if model is None or e.model == model]
        return _select(rows, since, limit, newest_first)

    async def signals(
        self,
        *,
        since: datetime | None = None,
        event_id: str | None = None,
        kinds: Sequence[SignalKind] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[FeedbackSignal]:
        rows = [
            s
            for s in self.signal_table.values()
            if (event_id is None or s.event_id == event_id) and (kinds is None or s.kind in kinds)
        ]
        return _select(rows, since, limit, newest_first)

    async def count(self, what: Literal["events", "signals"] = "events", *, since: datetime | None = None) -> int:
        if what not in ("events", "signals"):
            raise StorageError(f"count() counts 'events' or 'signals', not {what!r}")
        table: Sequence[InferenceEvent | FeedbackSignal] = list(
            self.event_table.values() if what == "events" else self.signal_table.values()
        )
        return sum(1 for r in table if since is None or r.time > since)

    async def add_trigger(self, record: TriggerRecord) -> None:
        _put(self.trigger_table, record, "trigger record")

    async def triggers(
        self,
        *,
        name: str | None = None,
        fired: bool | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[TriggerRecord]:
        rows = [
            t
            for t in self.trigger_table.values()
            if (name is None or t.name == name) and (fired is None or t.fired == fired)
        ]
        return _select(rows, None, limit, newest_first)

    async def close(self) -> None:
        self.closed = True
