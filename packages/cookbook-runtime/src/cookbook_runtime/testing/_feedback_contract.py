"""The `FeedbackStore` contract: every check takes a fresh, empty store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from cookbook_runtime.errors import FeedbackEventNotFound, StorageError
from cookbook_runtime.ports._feedback import FeedbackSignal, InferenceEvent, TriggerRecord
from cookbook_runtime.ports._protocols import FeedbackStore

__all__ = ["FEEDBACK_STORE_CHECKS"]

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def _event(i: int, *, model: str = "tiny", minutes: float | None = None) -> InferenceEvent:
    return InferenceEvent(
        id=f"ev{i}",
        time=T0 + timedelta(minutes=i if minutes is None else minutes),
        model=model,
        version="3",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": f"question {i}"}],
        completion=f"answer {i}",
        latency_ms=12.5 + i,
        metadata={"temperature": 0.7, "tags": ["a", "b"]},
    )


async def feedback_event_round_trip(store: FeedbackStore) -> None:
    event = _event(1)
    await store.log_event(event)
    got = await store.get_event("ev1")
    assert got == event, f"read back {got!r}, wrote {event!r}"
    assert got is not None and got.time == T0 + timedelta(minutes=1), f"time changed: {got.time}"
    assert await store.get_event("absent") is None
    assert await store.events() == [event]


async def feedback_same_id_is_idempotent_only_when_equal(store: FeedbackStore) -> None:
    event = _event(1)
    await store.log_event(event)
    await store.log_event(event)
    assert await store.count() == 1
    try:
        await store.log_event(event.model_copy(update={"completion": "other"}))
    except StorageError:
        pass
    else:
        raise AssertionError("re-logging an event id with different content must raise StorageError")
    got = await store.get_event("ev1")
    assert got is not None and got.completion == "answer 1", "the first write must survive a refused rewrite"


async def feedback_signal_needs_its_event(store: FeedbackStore) -> None:
    try:
        await store.add_signal(FeedbackSignal(event_id="nope", kind="thumbs_up"))
    except FeedbackEventNotFound:
        pass
    else:
        raise AssertionError("a signal on an unknown event must raise FeedbackEventNotFound")
    assert await store.count("signals") == 0


async def feedback_signal_round_trip(store: FeedbackStore) -> None:
    await store.log_event(_event(1))
    edit = FeedbackSignal(
        id="s1", event_id="ev1", kind="edit", completion="a better answer", score=0.25, time=T0, metadata={"user": "u"}
    )
    await store.add_signal(edit)
    assert await store.signals() == [edit]
    assert await store.signals(event_id="ev1") == [edit]
    assert await store.signals(event_id="ev2") == []


async def feedback_filters_and_order(store: FeedbackStore) -> None:
    for i in range(5):
        await store.log_event(_event(i, model="a" if i % 2 else "b"))
    kinds = ["thumbs_up", "thumbs_down", "thumbs_up", "preferred", "thumbs_down"]
    for i, kind in enumerate(kinds):
        completion = "pref" if kind == "preferred" else None
        await store.add_signal(
            FeedbackSignal(id=f"s{i}", event_id=f"ev{i}", kind=kind, completion=completion,  # type: ignore[arg-type]
                           time=T0 + timedelta(minutes=10 + i))
        )
    ids = [e.id for e in await store.events()]
    assert ids == ["ev0", "ev1", "ev2", "ev3", "ev4"], ids
    ids = [e.id for e in await store.events(since=T0 + timedelta(minutes=2))]
    assert ids == ["ev3", "ev4"], f"since is strict: {ids}"
    ids = [e.id for e in await store.events(model="a")]
    assert ids == ["ev1", "ev3"], ids
    ids = [e.id for e in await store.events(limit=2, newest_first=True)]
    assert ids == ["ev4", "ev3"], ids
    ids = [s.id for s in await store.signals(kinds=["thumbs_up", "thumbs_down"])]
    assert ids == ["s0", "s1", "s2", "s4"], ids
    ids = [s.id for s in await store.signals(kinds=["thumbs_up", "thumbs_down"], limit=3, newest_first=True)]
    assert ids == ["s4", "s2", "s1"], ids
    ids = [s.id for s in await store.signals(limit=0)]
    assert ids == [], ids


async def feedback_equal_times_keep_insertion_order(store: FeedbackStore) -> None:
    for i in (3, 1, 2):
        await store.log_event(_event(i, minutes=0))
    ids = [e.id for e in await store.events()]
    assert ids == ["ev3", "ev1", "ev2"], ids
    ids = [e.id for e in await store.events(newest_first=True)]
    assert ids == ["ev2", "ev1", "ev3"], ids


async def feedback_count(store: FeedbackStore) -> None:
    for i in range(4):
        await store.log_event(_event(i))
    await store.add_signal(FeedbackSignal(event_id="ev0", kind="thumbs_up", time=T0 + timedelta(minutes=9)))
    assert await store.count() == 4
    assert await store.count("events", since=T0 + timedelta(minutes=1)) == 2
    assert await store.count("signals") == 1
    assert await store.count("signals", since=T0 + timedelta(minutes=9)) == 0


async def feedback_triggers(store: FeedbackStore) -> None:
    records = [
        TriggerRecord(id="t0", name="retrain", time=T0, fired=False, metrics={"events": 3.0}),
        TriggerRecord(id="t1", name="retrain", time=T0 + timedelta(hours=1), fired=True, reasons=["100 events"]),
        TriggerRecord(id="t2", name="other", time=T0 + timedelta(hours=2), fired=True),
        TriggerRecord(id="t3", name="retrain", time=T0 + timedelta(hours=3), fired=False, metadata={"run": "r"}),
    ]
    for record in records:
        await store.add_trigger(record)
    await store.add_trigger(records[0])
    assert await store.triggers() == records
    ids = [t.id for t in await store.triggers(name="retrain", fired=True)]
    assert ids == ["t1"], ids
    ids = [t.id for t in await store.triggers(name="retrain", limit=1, newest_first=True)]
    assert ids == ["t3"], ids


async def feedback_naive_times_are_utc(store: FeedbackStore) -> None:
    naive = InferenceEvent(id="n", time=datetime(2026, 5, 1, 12, 0), model="m", messages=[{"role": "user", "content": "q"}],
                           completion="c")
    await store.log_event(naive)
    got = await store.get_event("n")
    assert got is not None and got.time == datetime(2026, 5, 1, 12, 0, tzinfo=UTC), got


async def feedback_close_twice(store: FeedbackStore) -> None:
    await store.close()
    await store.close()


FEEDBACK_STORE_CHECKS: dict[str, Callable[[FeedbackStore], Awaitable[None]]] = {
    f.__name__: f
    for f in (
        feedback_event_round_trip,
        feedback_same_id_is_idempotent_only_when_equal,
        feedback_signal_needs_its_event,
        feedback_signal_round_trip,
        feedback_filters_and_order,
        feedback_equal_times_keep_insertion_order,
        feedback_count,
        feedback_triggers,
        feedback_naive_times_are_utc,
        feedback_close_twice,
    )
}
