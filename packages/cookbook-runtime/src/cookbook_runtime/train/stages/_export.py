"""`export`: a trained checkpoint as a PEFT LoRA adapter and as merged Hugging Face weights.

The stage picks the checkpoint (an explicit path, the sampler weights of an earlier
stage's `CheckpointRef`, or the run's last checkpoint) and hands it to the `exporter` port, which
does the heavy work (the local engine's exporter loads the base model with torch and
merges the adapter with peft). The files land in `<run dir>/export/` unless
`output_dir` says otherwise.

On a Tinker backend the weights are `tinker://` paths. Tinker serves no download of
sampler weights, so the stage hands the exporter the training state saved at the
same step (`weights/`), which the exporter downloads (the local one through the
tinker adapter's `save_weights_external`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cookbook_runtime.errors import ConfigError, PortNotConfigured
from cookbook_runtime.framework import CheckpointRef, Context, EarlierStage
from cookbook_runtime.ir import Experiment
from cookbook_runtime.ports import (
    EXPORT_FORMATS,
    ExportFormat,
    Ports,
    WeightsExporter,
    is_configured,
)
from cookbook_runtime.train.checkpoints import last_checkpoint

__all__ = ["ExportOptions", "ExportStage"]

logger = logging.getLogger(__name__)


class ExportOptions(BaseModel):
    """Which checkpoint to export, in which formats, and where."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    from_stage: Annotated[str | None, EarlierStage()] = Field(
        default=None,
        description="Export the sampler weights of this earlier stage's CheckpointRef (e.g. 'supervised_train', "
        "'dpo_train').",
    )
    checkpoint_path: str | None = Field(
        default=None,
        description="Export this checkpoint instead: saved sampler weights, a saved state, a PEFT adapter "
        "directory, or a tinker:// state (weights/) or external_weights/ path, which the exporter downloads. "
        "Neither this nor from_stage: the run's last checkpoint.",
    )
    formats: list[ExportFormat] = Field(
        default_factory=lambda: list(EXPORT_FORMATS),
        min_length=1,
        description="'peft_adapter' (LoRA adapter for peft) and/or 'merged' (full HF weights, adapter folded in).",
    )
    output_dir: str | None = Field(
        default=None, description="Directory the formats are written under; None: <run dir>/export."
    )
    base_model: str | None = Field(
        default=None, description="Base model of a bare PEFT adapter checkpoint that does not name a usable one."
    )
    dtype: str | None = Field(
        default=None,
        pattern=r"^(float32|bfloat16|float16)$",
        description="dtype of the merged weights: float32, bfloat16 or float16; None: the base model's.",
    )

    @field_validator("formats")
    @classmethod
    def _unique(cls, value: list[ExportFormat]) -> list[ExportFormat]:
        if len(set(value)) != len(value):
            raise ValueError(f"formats {value} repeat a format")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ExportOptions:
        if self.from_stage is not None and self.checkpoint_path is not None:
            raise ValueError("set from_stage or checkpoint_path, not both")
        return self


def _exporter(ports: Ports) -> WeightsExporter:
    exporter = ports.exporter
    if not is_configured(exporter):
        raise PortNotConfigured("exporter")
    return exporter


def _is_tinker_sampler(path: str | None) -> bool:
    return path is not None and path.startswith("tinker://") and "/sampler_weights/" in path


def _checkpoint(ctx: Context, options: ExportOptions) -> str:
    if options.checkpoint_path is not None:
        return options.checkpoint_path
    if options.from_stage is not None:
        found = ctx.artifact(CheckpointRef, stage=options.from_stage)  # raises, saying what to fix
        if _is_tinker_sampler(found.sampler_path):  # Tinker downloads states, not sampler weights
            return found.state_path
        if not found.sampler_path:
            raise ConfigError(
                f"stage {ExportStage.name!r}: stage {options.from_stage!r} saved no sampler weights; export "
                "from a stage that saves them or set checkpoint_path"
            )
        return found.sampler_path
    record = last_checkpoint(ctx.run_dir.path)
    if record is not None and record.sampler_path:
        return record.state_path if _is_tinker_sampler(record.sampler_path) else record.sampler_path
    raise ConfigError(
        f"stage {ExportStage.name!r} found no checkpoint in this run: set from_stage (e.g. 'supervised_train') "
        "or checkpoint_path"
    )


class ExportStage:
    """Writes a checkpoint as a PEFT adapter and as merged HF weights, through the exporter port."""

    name: ClassVar[str] = "export"
    Options: ClassVar[type[BaseModel]] = ExportOptions

    async def preflight(self, experiment: Experiment, ports: Ports, options: ExportOptions) -> None:
        """Before the run directory exists: the exporter is wired (`validate` checked from_stage)."""
        _exporter(ports)
        if _is_tinker_sampler(options.checkpoint_path):
            raise ConfigError(
                f"stage {self.name!r}: {options.checkpoint_path!r} is Tinker sampler weights, which cannot be "
                "downloaded; pass the training state of the same step (tinker://<run>/weights/<name>)"
            )

    async def run(self, ctx: Context, options: ExportOptions) -> dict[str, Any]:
        checkpoint = _checkpoint(ctx, options)
        dest = Path(options.output_dir).expanduser() if options.output_dir else ctx.run_dir.path / "export"
        result = await _exporter(ctx.ports).export(
            checkpoint, dest, formats=list(options.formats), base_model=options.base_model, dtype=options.dtype
        )
        logger.info("exported %s to %s", checkpoint, dest)
        return result.model_dump(mode="json")
