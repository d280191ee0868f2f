"""End to end on real stores: feedback in SQLite -> check_triggers -> export_feedback -> dpo_train (fake backend)."""

from __future__ import annotations

import json
from pathlib import Path

from cookbook_adapters.files import FileDatasetStore
from cookbook_adapters.sqlite import SQLiteFeedbackStore
from cookbook_runtime.framework import RunDir, run
from cookbook_runtime.ir import Experiment, ModelRef, StageSpec, TrainingConfig
from cookbook_runtime.ports import FeedbackSignal, InferenceEvent, Ports
from cookbook_runtime.testing import FakeServiceClient


async def _log_feedback(store: SQLiteFeedbackStore) -> None:
    for i in range(12):
        prompt = [{"role": "user", "content": f"what is {i % 3} + 1?"}]
        good = i % 2 == 0
        event = InferenceEvent(
            id=f"e{i}", model="tiny", version="1", messages=prompt,
            completion=f"{i % 3 + 1} (answer {i})." if good else f"I do not know ({i}).", latency_ms=3.0,
        )
        await store.log_event(event)
        await store.add_signal(FeedbackSignal(event_id=event.id, kind="thumbs_up" if good else "thumbs_down"))
        if not good and i % 3 == 0:
            await store.add_signal(FeedbackSignal(event_id=event.id, kind="edit", completion=f"It is {i % 3 + 1} ({i})."))


def _spec() -> Experiment:
    training = TrainingConfig(
        model=ModelRef(name="fake/model", renderer="qwen3_instruct"),
        batch_size=2, learning_rate=1e-2, save_every=0, eval_every=0, num_epochs=2,
    )
    return Experiment(
        id="feedback_retrain",
        training=training,
        pipeline=[
            StageSpec(name="check_triggers", options={"min_events": 10, "min_quality": 0.8}),
            StageSpec(name="export_feedback", options={"trigger_stage": "check_triggers"}, when="check_triggers.fired"),
            StageSpec(name="dpo_train", options={"dataset_from_stage": "export_feedback"}, when="check_triggers.fired"),
        ],
    )


async def test_exported_pairs_train_dpo_and_a_quiet_store_skips_training(tmp_path: Path) -> None:
    store = SQLiteFeedbackStore(tmp_path / "feedback.db")
    await _log_feedback(store)

    def ports() -> Ports:
        return Ports(service=FakeServiceClient(), datasets=FileDatasetStore(), feedback=SQLiteFeedbackStore(store.path))

    ctx = await run(_spec(), ports(), tmp_path / "first")
    trigger = ctx.outputs["check_triggers"]
    assert trigger["fired"] and trigger["events_since_last_fired"] == 12.0, trigger
    assert len(trigger["reasons"]) == 2, trigger["reasons"]  # count and quality (0.5 < 0.8)
    exported = ctx.outputs["export_feedback"]
    # 3 prompts: liked x disliked completions on each (2 x 2), plus 2 edits over their originals
    assert exported["pairs_by_source"] == {"thumbs": 12, "edit": 2}, exported
    pairs = [json.loads(line) for line in Path(exported["pairs_path"]).read_text().splitlines()]
    assert all({"prompt", "chosen", "rejected"} <= set(p) for p in pairs)
    dpo = ctx.outputs["dpo_train"]
    assert dpo["steps"] == 14, dpo  # 14 pairs / batch 2 x 2 epochs
    metrics = [json.loads(line) for line in (tmp_path / "first" / "metrics.jsonl").read_text().splitlines()]
    assert sum("dpo_loss" in m for m in metrics) == 14
    stored = await store.triggers(name="retrain")
    assert [t.fired for t in stored] == [True]

    ctx = await run(_spec(), ports(), tmp_path / "second")
    assert ctx.outputs["check_triggers"]["fired"] is False
    assert "dpo_train" not in ctx.outputs
    skipped = [e["stage"] for e in RunDir(tmp_path / "second").events() if e.get("reason") == "condition"]
    assert skipped == ["export_feedback", "dpo_train"]
    assert [t.fired for t in await store.triggers(name="retrain")] == [True, False]
    await store.close()


async def test_exported_sft_rows_train_supervised(tmp_path: Path) -> None:
    store = SQLiteFeedbackStore(tmp_path / "feedback.db")
    await _log_feedback(store)
    await store.close()
    spec = _spec().model_copy(update={"pipeline": [
        StageSpec(name="check_triggers", options={"min_events": 10}),
        StageSpec(name="export_feedback", options={"trigger_stage": "check_triggers"}, when="check_triggers.fired"),
        StageSpec(name="supervised_train", options={"dataset_from_stage": "export_feedback"},
                  when="check_triggers.fired"),
    ]})
    ports = Ports(service=FakeServiceClient(), datasets=FileDatasetStore(), feedback=SQLiteFeedbackStore(store.path))
    ctx = await run(spec, ports, tmp_path / "run")
    exported = ctx.outputs["export_feedback"]
    assert exported["sft_rows"] == 8, exported  # 6 thumbs-up completions and 2 edits
    rows = [json.loads(line) for line in Path(exported["sft_path"]).read_text().splitlines()]
    assert sorted(r["source"] for r in rows) == ["edit"] * 2 + ["thumbs_up"] * 6
    assert ctx.outputs["supervised_train"]["steps"] == 8  # 8 rows / batch 2 x 2 epochs
