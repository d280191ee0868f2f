"""`check_triggers` and `export_feedback`: the feedback half of a retraining pipeline.

`check_triggers` evaluates a named trigger against the `feedback` port and records
the evaluation there and in the run directory (`triggers/NAME.json`); its `fired`
output is what later stages' `when: "check_triggers.fired"` reads, so a pipeline
that found nothing to do stops there. `export_feedback` turns the signals of that
trigger's window (or all of them) into `feedback/sft.jsonl` and `feedback/pairs.jsonl`
and publishes each as a `DatasetArtifact` (kinds 'sft' and 'pairs'), which
`supervised_train`'s and `dpo_train`'s `dataset_from_stage` read.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cookbook_runtime.errors import ConfigError, PortNotConfigured
from cookbook_runtime.framework import Context, DatasetArtifact, EarlierStage, atomic_write_text
from cookbook_runtime.ir import Experiment
from cookbook_runtime.ports import (
    FeedbackStore,
    InferenceEvent,
    Ports,
    TriggerRecord,
    is_configured,
)
from cookbook_runtime.train.feedback.export import feedback_rows
from cookbook_runtime.train.feedback.triggers import TriggerConditions, evaluate_trigger

__all__ = ["CheckTriggersOptions", "CheckTriggersStage", "ExportFeedbackOptions", "ExportFeedbackStage"]

logger = logging.getLogger(__name__)


def _feedback_port(ports: Ports) -> FeedbackStore:
    store = ports.feedback
    if not is_configured(store):
        raise PortNotConfigured("feedback")
    return store


class CheckTriggersOptions(TriggerConditions):
    """The trigger's name and conditions (any that holds fires it; at least one must be set)."""


class CheckTriggersStage:
    """Decides whether to retrain from the feedback gathered since the trigger last fired."""

    name: ClassVar[str] = "check_triggers"
    Options: ClassVar[type[BaseModel]] = CheckTriggersOptions

    async def preflight(self, experiment: Experiment, ports: Ports, options: CheckTriggersOptions) -> None:
        """Before the run directory exists: the feedback port is wired."""
        _feedback_port(ports)

    async def run(self, ctx: Context, options: CheckTriggersOptions) -> dict[str, Any]:
        store = _feedback_port(ctx.ports)
        path = ctx.run_dir.path / "triggers" / f"{options.name}.json"
        if path.is_file():
            # A rerun of this run after the record was written: keep its decision, not a new one
            # (once recorded as fired, a fresh evaluation would see no new feedback and not fire).
            record = TriggerRecord.model_validate_json(path.read_text(encoding="utf-8"))
        else:
            record = await evaluate_trigger(store, options, metadata={"run_dir": str(ctx.run_dir.path.resolve())})
            atomic_write_text(path, record.model_dump_json(indent=2) + "\n")
        await store.add_trigger(record)
        if record.fired:
            logger.info("trigger %s fired: %s", record.name, "; ".join(record.reasons))
        else:
            logger.info("trigger %s did not fire", record.name)
        return {
            "fired": record.fired,
            "trigger": record.name,
            "trigger_id": record.id,
            "reasons": list(record.reasons),
            "window": {"start": record.metadata.get("window_start"), "end": record.metadata.get("window_end")},
            "record_path": str(path),
            **record.metrics,
        }


class ExportFeedbackOptions(BaseModel):
    """Which feedback to export and how the exported datasets are referenced."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trigger_stage: Annotated[str | None, EarlierStage()] = Field(
        default=None,
        description="Export only the signals of this earlier check_triggers stage's window (since the trigger "
        "last fired, up to this evaluation); None exports every signal in the store.",
    )
    model: str | None = Field(default=None, description="Only feedback on completions of this served model.")
    max_pairs_per_prompt: int | None = Field(
        default=None, ge=1, description="Cap on thumbs-up-over-thumbs-down pairs made for one prompt."
    )
    test_size: int = Field(
        default=0, ge=0, description="Rows the published datasets tell their readers to carve off for held-out "
        "evaluation."
    )


def _window(ctx: Context, stage: str, trigger_stage: str | None) -> tuple[datetime | None, datetime | None]:
    if trigger_stage is None:
        return None, None
    window = ctx.outputs.get(trigger_stage, {}).get("window")
    if not isinstance(window, dict):
        raise ConfigError(
            f"stage {stage!r}: trigger_stage {trigger_stage!r} recorded no trigger window: point it at a "
            "check_triggers stage"
        )
    start, end = window.get("start"), window.get("end")
    return (
        datetime.fromisoformat(start) if start else None,
        datetime.fromisoformat(end) if end else None,
    )


def _write_jsonl(path: Any, rows: list[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


class ExportFeedbackStage:
    """Writes SFT rows and preference pairs made from users' feedback, as JSONL datasets."""

    name: ClassVar[str] = "export_feedback"
    Options: ClassVar[type[BaseModel]] = ExportFeedbackOptions

    async def preflight(self, experiment: Experiment, ports: Ports, options: ExportFeedbackOptions) -> None:
        """Before the run directory exists: the feedback port is wired (`validate` checked trigger_stage)."""
        _feedback_port(ports)

    async def run(self, ctx: Context, options: ExportFeedbackOptions) -> dict[str, Any]:
        store = _feedback_port(ctx.ports)
        start, end = _window(ctx, self.name, options.trigger_stage)
        signals = [s for s in await store.signals(since=start) if end is None or s.time <= end]
        events: dict[str, InferenceEvent] = {}
        for event_id in dict.fromkeys(s.event_id for s in signals):
            event = await store.get_event(event_id)
            if event is not None and (options.model is None or event.model == options.model):
                events[event_id] = event
        rows = feedback_rows(events, signals, max_pairs_per_prompt=options.max_pairs_per_prompt)
        out_dir = ctx.run_dir.path / "feedback"
        sft_path, pairs_path = out_dir / "sft.jsonl", out_dir / "pairs.jsonl"
        _write_jsonl(sft_path, rows.sft)
        _write_jsonl(pairs_path, rows.pairs)
        logger.info("exported %d SFT rows and %d pairs from %d signals", len(rows.sft), len(rows.pairs), len(signals))

        for kind, path, n in (("sft", sft_path, len(rows.sft)), ("pairs", pairs_path, len(rows.pairs))):
            ctx.publish(
                DatasetArtifact(
                    path=str(path.resolve()), kind=kind, format="jsonl", splits={"train": n},
                    test_size=options.test_size,
                )
            )
        return {
            "sft_path": str(sft_path),
            "pairs_path": str(pairs_path),
            "sft_rows": len(rows.sft),
            "pairs": len(rows.pairs),
            "pairs_by_source": dict(rows.pairs_by_source),
            "events": len(events),
            "signals": sum(1 for s in signals if s.event_id in events),
        }
