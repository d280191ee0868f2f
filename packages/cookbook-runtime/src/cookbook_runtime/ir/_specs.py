"""Data-only experiment specs.

An `Experiment` is everything needed to reproduce a run, as plain JSON: which
backend (manifest), which model and data, the training hyper-parameters, and the
ordered pipeline of named stages with their options. Nothing here executes.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field, JsonValue

from cookbook_runtime.ir._base import Spec

__all__ = [
    "BackendRef",
    "DatasetRef",
    "Experiment",
    "ModelRef",
    "OutputsSpec",
    "PortBinding",
    "StageSpec",
    "TrainingConfig",
    "experiment_json_schema",
]

LrSchedule = Literal["constant", "linear", "cosine"]


class PortBinding(Spec):
    """Which adapter serves one port, with that adapter's options."""

    adapter: str = Field(description="Adapter name, looked up in the 'cookbook.adapters' registry.")
    options: dict[str, JsonValue] = Field(
        default_factory=dict, description="Keyword options passed to the adapter factory."
    )


class BackendRef(Spec):
    """Which manifest wires the ports, plus per-port overrides that win over it."""

    manifest: str = Field(default="local", description="Manifest name (built-in or user TOML).")
    overrides: dict[str, PortBinding] = Field(
        default_factory=dict, description="Port name -> binding; wins over the manifest (e.g. `--port`)."
    )
    resolved: dict[str, PortBinding] = Field(
        default_factory=dict,
        description=(
            "The wiring manifest and overrides gave when the spec was bound (secret options redacted), "
            "for the record: ports are wired from `manifest` and `overrides`, and a change is reported."
        ),
    )


class ModelRef(Spec):
    """A base model: a hub id, a local directory, or a built-in name like 'cookbook/tiny-chat'."""

    name: str = Field(min_length=1, description="Model name or hub id, e.g. 'Qwen/Qwen3-8B'.")
    path: str | None = Field(default=None, description="Local directory holding the model, if any.")
    revision: str | None = Field(default=None, description="Hub revision (branch, tag or commit).")
    renderer: str | None = Field(
        default=None, description="Renderer name; None picks the model's recommended renderer."
    )
    load_checkpoint_path: str | None = Field(
        default=None, description="Start from this saved state (weights only) instead of the base."
    )


class DatasetRef(Spec):
    """A dataset by reference: resolved by the `datasets` port's adapter, never loaded here."""

    name: str = Field(min_length=1, description="Hub id, local file/folder path, or a built-in dataset name.")
    config: str | None = Field(default=None, description="Dataset configuration (subset) name.")
    split: str = Field(default="train", description="Split used for training.")
    test_split: str | None = Field(
        default=None, description="Split used for held-out evaluation; None means no test split."
    )
    test_size: int = Field(
        default=0, ge=0, description="Rows carved off the training split for evaluation when no test split exists."
    )
    revision: str | None = Field(default=None, description="Hub revision (branch, tag or commit).")
    format: str | None = Field(
        default=None, description="File format ('jsonl', 'json', 'parquet', 'csv'); None infers it."
    )
    streaming: bool = Field(default=False, description="Stream rows instead of materialising them.")
    messages_field: str = Field(
        default="messages", description="Row field holding the conversation (a list of messages)."
    )
    skip_malformed: bool = Field(
        default=False, description="Skip and count malformed rows instead of failing on the first."
    )


class TrainingConfig(Spec):
    """Hyper-parameters of a training run, shared by the SL/RL/DPO/distillation stages."""

    model: ModelRef = Field(description="The base model to train.")
    dataset: DatasetRef | None = Field(default=None, description="Training data, when the stage reads a dataset.")
    num_epochs: int = Field(default=1, ge=1, le=1_000_000, description="Passes over the training data.")
    batch_size: int = Field(default=32, ge=1, le=1 << 24, description="Sequences per optimizer step.")
    learning_rate: float = Field(default=1e-4, gt=0, le=1e3, description="Peak learning rate.")
    lr_schedule: LrSchedule = Field(default="linear", description="Decay after warmup: constant, linear or cosine.")
    warmup_steps: int = Field(default=0, ge=0, description="Linear warmup steps from 0 to the peak rate.")
    lora_rank: int = Field(default=32, ge=0, le=1 << 16, description="LoRA rank; 0 means full fine-tuning where supported.")
    max_length: int | None = Field(default=32768, ge=1, le=1 << 30, description="Truncate sequences to this many tokens.")
    seed: int = Field(default=0, description="Seed for data order, initialisation and sampling.")
    save_every: int = Field(default=20, ge=0, description="Checkpoint every N steps; 0 saves only the final state.")
    eval_every: int = Field(default=10, ge=0, description="Run the evaluators (held-out NLL, eval tasks) every N steps; 0 disables.")
    infrequent_eval_every: int = Field(
        default=0, ge=0, description="Run the infrequent (slow) evaluators every N steps; 0 runs them only at the end."
    )
    max_steps: int | None = Field(default=None, ge=1, description="Stop after this many steps (None: all epochs).")
    adam_beta1: float = Field(default=0.9, ge=0, lt=1, description="Adam beta1.")
    adam_beta2: float = Field(default=0.95, ge=0, lt=1, description="Adam beta2.")
    adam_eps: float = Field(default=1e-8, gt=0, description="Adam epsilon.")
    weight_decay: float = Field(default=0.0, ge=0, description="Decoupled weight decay.")
    grad_clip_norm: float = Field(default=0.0, ge=0, description="Clip the global gradient norm; 0 disables.")

    @classmethod
    def derive(cls, source: BaseModel, **values: Any) -> TrainingConfig:
        """The training config a recipe config implies: its fields named like ours, then `values`.

        A recipe keeps its flat, user-facing fields (`learning_rate=...` on the command
        line) and builds the spec's `training` from them here instead of copying each
        field by hand, so a field added to `TrainingConfig` reaches every recipe that has it.
        """
        shared = {name: getattr(source, name) for name in cls.model_fields if name in type(source).model_fields}
        return cls.model_validate({**shared, **values})


class StageSpec(Spec):
    """One named pipeline stage and its options (validated against the stage's `Options`)."""

    name: str = Field(description="Stage name, looked up in the stage registry.")
    options: dict[str, JsonValue] = Field(default_factory=dict, description="Options for the stage.")
    enabled: bool = Field(default=True, description="Disabled stages are skipped.")
    when: str | None = Field(
        default=None,
        pattern=r"^[^.\s]+\.[^\s]+$",
        description=(
            "Run only if this output of an earlier stage is true, written 'STAGE.OUTPUT' "
            "(e.g. 'check_triggers.fired'); otherwise the stage is skipped. None: always run."
        ),
    )
    id: str | None = Field(
        default=None, description="Unique id within the pipeline; defaults to the name."
    )

    @property
    def key(self) -> str:
        """The id that events, outputs and resume use for this stage."""
        return self.id or self.name


class OutputsSpec(Spec):
    """Where a run's artifacts go."""

    log_path: str | None = Field(
        default=None, description="Run directory; None lets the runtime choose one."
    )
    artifacts: PortBinding | None = Field(
        default=None,
        description="Mirror run artifacts to this blob store (e.g. adapter 's3'); resume reads them back.",
    )


class Experiment(Spec):
    """A complete, reproducible run: backend, model, data, hyper-parameters and pipeline."""

    id: str = Field(description="Experiment id, e.g. 'sl_basic'.")
    description: str = Field(default="", description="What the experiment does, for people.")
    tags: list[str] = Field(default_factory=list, description="Free-form labels.")
    recipe: str | None = Field(default=None, description="Recipe that built this spec, if any.")
    backend: BackendRef = Field(default_factory=BackendRef, description="Manifest and port overrides.")
    dataset: DatasetRef | None = Field(default=None, description="The main dataset, for display and lineage.")
    training: TrainingConfig | None = Field(default=None, description="Training hyper-parameters.")
    pipeline: list[StageSpec] = Field(description="Stages to run, in order.")
    outputs: OutputsSpec = Field(default_factory=OutputsSpec, description="Where artifacts go.")
    metadata: dict[str, JsonValue] = Field(default_factory=dict, description="Free-form metadata.")

    def to_json(self, *, indent: int | None = 2) -> str:
        """Serialize losslessly; `Experiment.from_json(x.to_json()) == x`."""
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> Experiment:
        """Parse and validate a spec produced by `to_json` (or written by hand)."""
        return cls.model_validate_json(text)


def experiment_json_schema() -> dict[str, Any]:
    """The JSON Schema of `Experiment`, for editors and external validators."""
    schema: dict[str, Any] = Experiment.model_json_schema()
    json.dumps(schema)  # guarantees it is plain JSON
    return schema
