"""`export_feedback`: signals become SFT rows and preference pairs the training stages read."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import DatasetArtifact, preflight, run, validate
from cookbook_runtime.ir import Experiment, StageSpec
from cookbook_runtime.ports import FeedbackSignal, InferenceEvent, Ports, SignalKind, utc_now
from cookbook_runtime.testing import FakeFeedbackStore
from cookbook_runtime.train.data import conversation_from_row
from cookbook_runtime.train.feedback import feedback_rows
from cookbook_runtime.train.preference import get_comparison_format

PROMPT = [{"role": "system", "content": "be kind"}, {"role": "user", "content": "hi?"}]


def _event(eid: str, completion: str, *, prompt: list[dict[str, Any]] | None = None, model: str = "m",
           ago: timedelta = timedelta(minutes=10)) -> InferenceEvent:
    return InferenceEvent(id=eid, model=model, messages=prompt or PROMPT, completion=completion, time=utc_now() - ago)


def _signal(eid: str, kind: SignalKind, completion: str | None = None, **kw: Any) -> FeedbackSignal:
    return FeedbackSignal(event_id=eid, kind=kind, completion=completion, **kw)


def _rows(events: list[InferenceEvent], signals: list[FeedbackSignal], **kw: Any) -> Any:
    return feedback_rows({e.id: e for e in events}, signals, **kw)


def test_edit_gives_an_sft_row_and_a_pair_over_the_original() -> None:
    out = _rows([_event("e", "hey")], [_signal("e", "edit", "Hello! How can I help?")])
    assert out.sft == [{"messages": [*PROMPT, {"role": "assistant", "content": "Hello! How can I help?"}],
                        "source": "edit", "event_id": "e"}]
    assert [(p["chosen"], p["rejected"], p["source"]) for p in out.pairs] == [("Hello! How can I help?", "hey", "edit")]
    assert out.pairs[0]["prompt"] == PROMPT


def test_preferred_gives_a_pair_but_no_sft_row() -> None:
    out = _rows([_event("e", "meh")], [_signal("e", "preferred", "great")])
    assert out.sft == []
    assert [(p["chosen"], p["rejected"], p["source"]) for p in out.pairs] == [("great", "meh", "preferred")]


def test_thumbs_pair_liked_over_disliked_on_the_same_prompt_only() -> None:
    other = [{"role": "user", "content": "bye?"}]
    events = [_event("u1", "good"), _event("u2", "fine"), _event("d1", "bad"), _event("x", "bye!", prompt=other)]
    signals = [_signal("u1", "thumbs_up"), _signal("u2", "thumbs_up"), _signal("d1", "thumbs_down"),
               _signal("x", "thumbs_down")]
    out = _rows(events, signals)
    assert sorted((p["chosen"], p["rejected"]) for p in out.pairs) == [("fine", "bad"), ("good", "bad")]
    assert {(p["chosen_event_id"], p["rejected_event_id"]) for p in out.pairs} == {("u1", "d1"), ("u2", "d1")}
    assert [r["messages"][-1]["content"] for r in out.sft] == ["good", "fine"]  # thumbs-up completions
    assert out.pairs_by_source == {"thumbs": 2}
    capped = _rows(events, signals, max_pairs_per_prompt=1)
    assert len(capped.pairs) == 1


def test_mixed_thumbs_are_a_vote_and_ties_say_nothing() -> None:
    events = [_event("a", "A"), _event("b", "B")]
    signals = [_signal("a", "thumbs_up"), _signal("a", "thumbs_down"), _signal("a", "thumbs_up"),
               _signal("b", "thumbs_up"), _signal("b", "thumbs_down")]
    out = _rows(events, signals)
    assert [r["event_id"] for r in out.sft] == ["a"] and out.pairs == []


def test_equal_and_repeated_rows_are_dropped() -> None:
    out = _rows([_event("e", "same")], [_signal("e", "edit", "same"), _signal("e", "preferred", "p"),
                                        _signal("e", "preferred", "p")])
    assert [(p["chosen"], p["source"]) for p in out.pairs] == [("p", "preferred")]
    assert len(out.sft) == 1  # the edit equal to the original is still a good SFT target, once


def test_signals_on_unknown_events_are_ignored() -> None:
    out = _rows([], [_signal("gone", "edit", "x")])
    assert out.sft == [] and out.pairs == []


async def _store() -> FakeFeedbackStore:
    store = FakeFeedbackStore()
    for e in (_event("u", "good"), _event("d", "bad"), _event("e", "typo"), _event("o", "other", model="n")):
        await store.log_event(e)
    for s in (_signal("u", "thumbs_up"), _signal("d", "thumbs_down"), _signal("e", "edit", "fixed"),
              _signal("o", "edit", "other fixed")):
        await store.add_signal(s)
    return store


async def test_stage_writes_jsonl_the_dpo_and_supervised_readers_accept(tmp_path: Path) -> None:
    store = await _store()
    spec = Experiment(id="x", pipeline=[StageSpec(name="export_feedback", options={"model": "m", "test_size": 1})])
    ctx = await run(spec, Ports(feedback=store), tmp_path)
    out = ctx.outputs["export_feedback"]
    assert (out["events"], out["signals"], out["sft_rows"], out["pairs"]) == (3, 3, 2, 2), out
    assert out["pairs_by_source"] == {"edit": 1, "thumbs": 1}
    assert ctx.artifact(DatasetArtifact, stage="export_feedback", kind="pairs") == DatasetArtifact(
        path=str(Path(out["pairs_path"]).resolve()), kind="pairs", format="jsonl", splits={"train": 2}, test_size=1
    )
    assert ctx.artifact(DatasetArtifact, stage="export_feedback", kind="sft").path == str(
        Path(out["sft_path"]).resolve()
    )
    pairs = [json.loads(line) for line in Path(out["pairs_path"]).read_text().splitlines()]
    read = get_comparison_format("pairs")
    for row in pairs:
        comparison = read(row)
        assert comparison is not None, row
    sft = [json.loads(line) for line in Path(out["sft_path"]).read_text().splitlines()]
    for i, row in enumerate(sft):
        conversation_from_row(row, messages_field="messages", dataset="sft", split="train", index=i)
    assert {r["messages"][-1]["content"] for r in sft} == {"good", "fixed"}


async def test_a_resumed_run_restores_both_datasets(tmp_path: Path) -> None:
    spec = Experiment(id="x", pipeline=[StageSpec(name="export_feedback", options={"model": "m"})])
    first = await run(spec, Ports(feedback=await _store()), tmp_path)
    resumed = await run(spec, Ports(feedback=FakeFeedbackStore()), tmp_path)  # skipped: nothing re-exported
    assert resumed.outputs == first.outputs
    assert resumed.refs["export_feedback"] == first.refs["export_feedback"]
    assert sorted(r.kind for r in resumed.refs["export_feedback"] if isinstance(r, DatasetArtifact)) == ["pairs", "sft"]


async def test_stage_exports_only_the_trigger_window(tmp_path: Path) -> None:
    store = await _store()
    first = Experiment(id="x", pipeline=[
        StageSpec(name="check_triggers", options={"min_events": 1}),
        StageSpec(name="export_feedback", options={"trigger_stage": "check_triggers"}, when="check_triggers.fired"),
    ])
    ctx = await run(first, Ports(feedback=store), tmp_path / "one")
    assert ctx.outputs["export_feedback"]["signals"] == 4
    await store.log_event(_event("late", "late answer", ago=timedelta(0)))
    await store.add_signal(_signal("late", "edit", "late fix"))
    ctx = await run(first, Ports(feedback=store), tmp_path / "two")
    out = ctx.outputs["export_feedback"]
    assert (out["signals"], out["sft_rows"], out["pairs"]) == (1, 1, 1), out


async def test_trigger_stage_must_come_earlier() -> None:
    spec = Experiment(id="x", pipeline=[StageSpec(name="export_feedback", options={"trigger_stage": "check"})])
    with pytest.raises(ConfigError, match="trigger_stage 'check' is not an earlier enabled stage"):
        await preflight(validate(spec), spec, Ports(feedback=FakeFeedbackStore()))


def test_event_messages_need_a_role_and_content() -> None:
    from pydantic import ValidationError

    parts = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert InferenceEvent(model="m", messages=parts, completion="c").messages == parts
    for bad in ([], [{"role": "user"}], [{"content": "x"}], [{"role": "user", "content": None}]):
        with pytest.raises(ValidationError):
            InferenceEvent(model="m", messages=bad, completion="c")


def test_signal_completion_matches_its_kind() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="needs a non-empty 'completion'"):
        FeedbackSignal(event_id="e", kind="edit")
    with pytest.raises(ValidationError, match="takes no 'completion'"):
        FeedbackSignal(event_id="e", kind="thumbs_up", completion="x")
    with pytest.raises(ValidationError, match="kind"):
        FeedbackSignal(event_id="e", kind="meh")  # type: ignore[arg-type]
