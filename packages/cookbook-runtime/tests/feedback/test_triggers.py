"""`check_triggers`: each condition, the record it leaves, and later stages gated on `fired`."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cookbook_runtime.errors import ConfigError, StageFailed
from cookbook_runtime.framework import RunDir, run, validate
from cookbook_runtime.ir import Experiment, StageSpec
from cookbook_runtime.ports import FeedbackSignal, InferenceEvent, Ports, TriggerRecord, utc_now
from cookbook_runtime.testing import FakeFeedbackStore
from cookbook_runtime.train.feedback import TriggerConditions, evaluate_trigger, parse_interval


def _event(i: int, *, ago: timedelta = timedelta(minutes=5)) -> InferenceEvent:
    return InferenceEvent(
        id=f"e{i}", time=utc_now() - ago, model="m", messages=[{"role": "user", "content": f"q{i}"}],
        completion=f"a{i}",
    )


async def _store_with(events: int, ups: int = 0, downs: int = 0, *, ago: timedelta = timedelta(minutes=5)) -> FakeFeedbackStore:
    store = FakeFeedbackStore()
    for i in range(events):
        await store.log_event(_event(i, ago=ago))
    kinds = ["thumbs_up"] * ups + ["thumbs_down"] * downs
    for i, kind in enumerate(kinds):
        await store.add_signal(FeedbackSignal(event_id=f"e{i % events}", kind=kind, time=utc_now() - ago))  # type: ignore[arg-type]
    return store


def _conditions(**kw: Any) -> TriggerConditions:
    return TriggerConditions.model_validate(kw)


def test_parse_interval() -> None:
    assert parse_interval("90s") == timedelta(seconds=90)
    assert parse_interval("1.5h") == timedelta(minutes=90)
    assert parse_interval("7d") == timedelta(days=7)
    for bad in ("6", "6w", "-1h", "0m", "h"):
        with pytest.raises(ValueError, match="positive number and a unit"):
            parse_interval(bad)


async def test_event_count_fires_and_counts_only_after_the_last_firing() -> None:
    store = await _store_with(5)
    first = await evaluate_trigger(store, _conditions(min_events=5))
    assert first.fired and "5 inference events" in first.reasons[0], first
    await store.add_trigger(first)
    again = await evaluate_trigger(store, _conditions(min_events=5))
    assert not again.fired and again.metrics["events_since_last_fired"] == 0.0, again
    below = await evaluate_trigger(await _store_with(4), _conditions(min_events=5))
    assert not below.fired and below.metrics["events_since_last_fired"] == 4.0


async def test_a_record_that_did_not_fire_does_not_reset_the_count() -> None:
    store = await _store_with(3)
    await store.add_trigger(TriggerRecord(name="retrain", fired=False))
    record = await evaluate_trigger(store, _conditions(min_events=3))
    assert record.fired, record


async def test_rolling_quality_below_threshold_fires() -> None:
    low = await evaluate_trigger(await _store_with(10, ups=3, downs=7), _conditions(min_quality=0.5))
    assert low.fired and low.metrics["quality"] == pytest.approx(0.3), low
    assert "below min_quality 0.5" in low.reasons[0]
    high = await evaluate_trigger(await _store_with(10, ups=7, downs=3), _conditions(min_quality=0.5))
    assert not high.fired and high.metrics["quality"] == pytest.approx(0.7)


async def test_quality_reads_only_the_newest_window_and_waits_for_enough_signals() -> None:
    store = await _store_with(4)
    for i, kind in enumerate(["thumbs_down"] * 6 + ["thumbs_up"] * 4):  # old downs, newest ups
        await store.add_signal(FeedbackSignal(event_id="e0", kind=kind, time=utc_now() - timedelta(minutes=20 - i)))  # type: ignore[arg-type]
    windowed = await evaluate_trigger(store, _conditions(min_quality=0.5, quality_window=4, quality_min_signals=4))
    assert not windowed.fired and windowed.metrics["quality"] == 1.0, windowed
    whole = await evaluate_trigger(store, _conditions(min_quality=0.5, quality_window=10, quality_min_signals=10))
    assert whole.fired and whole.metrics["quality"] == pytest.approx(0.4), whole
    few = await evaluate_trigger(await _store_with(2, downs=2), _conditions(min_quality=0.5, quality_min_signals=3))
    assert not few.fired and few.metrics["quality"] == 0.0, few


async def test_schedule_fires_after_the_interval_with_new_events() -> None:
    old = await _store_with(2, ago=timedelta(hours=7))
    record = await evaluate_trigger(old, _conditions(every="6h"))
    assert record.fired and "since the first event" in record.reasons[0], record
    await old.add_trigger(record)
    assert not (await evaluate_trigger(old, _conditions(every="6h"))).fired
    recent = await _store_with(2, ago=timedelta(hours=1))
    assert not (await evaluate_trigger(recent, _conditions(every="6h"))).fired
    assert not (await evaluate_trigger(FakeFeedbackStore(), _conditions(every="1s"))).fired


async def test_triggers_keep_separate_histories_by_name() -> None:
    store = await _store_with(3)
    await store.add_trigger(await evaluate_trigger(store, _conditions(name="a", min_events=3)))
    assert (await evaluate_trigger(store, _conditions(name="b", min_events=3))).fired


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({}, "set at least one condition"),
        ({"min_events": 0}, "min_events"),
        ({"min_quality": 1.5}, "min_quality"),
        ({"every": "soon"}, "positive number and a unit"),
        ({"min_quality": 0.5, "quality_window": 5, "quality_min_signals": 6}, "cannot exceed quality_window"),
        ({"min_events": 1, "name": "../x"}, "name"),
        ({"min_events": 1, "min_evnts": 2}, "min_evnts"),
    ],
)
def test_bad_options_fail_when_the_spec_is_checked(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        validate(Experiment(id="t", pipeline=[StageSpec(name="check_triggers", options=options)]))  # type: ignore[arg-type]


def _pipeline(**trigger: Any) -> Experiment:
    return Experiment(
        id="fb",
        pipeline=[
            StageSpec(name="check_triggers", options=trigger),
            StageSpec(name="export_feedback", options={"trigger_stage": "check_triggers"}, when="check_triggers.fired"),
        ],
    )


async def test_stage_records_the_decision_and_gates_later_stages(tmp_path: Path) -> None:
    store = await _store_with(3, ups=1)
    ctx = await run(_pipeline(min_events=3), Ports(feedback=store), tmp_path / "fired")
    out = ctx.outputs["check_triggers"]
    assert out["fired"] is True and out["events_since_last_fired"] == 3.0, out
    assert "export_feedback" in ctx.outputs
    saved = json.loads(Path(out["record_path"]).read_text())
    assert saved["id"] == out["trigger_id"] and saved["fired"] is True
    assert [t.id for t in store.trigger_table.values()] == [out["trigger_id"]]

    ctx = await run(_pipeline(min_events=3), Ports(feedback=store), tmp_path / "quiet")
    assert ctx.outputs["check_triggers"]["fired"] is False
    assert "export_feedback" not in ctx.outputs
    skipped = [e for e in RunDir(tmp_path / "quiet").events() if e["event"] == "stage_skipped"]
    assert [(e["stage"], e["reason"]) for e in skipped] == [("export_feedback", "condition")]
    assert len(store.trigger_table) == 2


async def test_a_rerun_keeps_the_recorded_decision(tmp_path: Path) -> None:
    store = await _store_with(3)
    spec = _pipeline(min_events=3)
    run_dir = tmp_path / "run"
    # a run that crashed after check_triggers wrote its record but before it finished
    record = await evaluate_trigger(store, _conditions(min_events=3))
    await store.add_trigger(record)
    RunDir(run_dir).claim()
    (run_dir / "triggers").mkdir()
    (run_dir / "triggers" / "retrain.json").write_text(record.model_dump_json())
    ctx = await run(spec, Ports(feedback=store), run_dir)
    assert ctx.outputs["check_triggers"]["fired"] is True
    assert ctx.outputs["check_triggers"]["trigger_id"] == record.id
    assert len(store.trigger_table) == 1


async def test_an_unwired_feedback_port_fails_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="port 'feedback' is not configured"):
        await run(_pipeline(min_events=1), Ports(), tmp_path / "run")
    assert not (tmp_path / "run").exists()


async def test_when_must_name_an_earlier_stage() -> None:
    spec = Experiment(
        id="t",
        pipeline=[
            StageSpec(name="export_feedback", when="check_triggers.fired"),
            StageSpec(name="check_triggers", options={"min_events": 1}),
        ],
    )
    with pytest.raises(ConfigError, match="names no earlier enabled stage"):
        validate(spec)


async def test_store_errors_fail_the_stage(tmp_path: Path) -> None:
    class Broken(FakeFeedbackStore):
        async def count(self, what: Any = "events", *, since: Any = None) -> int:
            from cookbook_runtime.errors import StorageError

            raise StorageError("disk gone")

    with pytest.raises(StageFailed, match="disk gone"):
        await run(_pipeline(min_events=1), Ports(feedback=Broken()), tmp_path / "run")
