"""Pieces of spec that several recipes' `build()` make the same way.

The model a config names, a supervised warm start's training, the teacher of a
distillation, the preference set of a preference recipe, and the stages that score
or sample the trained weights. Each reads a config through a small protocol of the
fields it needs, so a recipe's config keeps its own names, defaults and order.
"""

from __future__ import annotations

from typing import Any, Protocol

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ir import DatasetRef, ModelRef, StageSpec, TrainingConfig

from cookbook_recipes.datasets.preferences import PREFERENCE_SETS

__all__ = [
    "comparisons",
    "evaluate_stage",
    "exact_match_stage",
    "model_ref",
    "sample_stage",
    "supervised_stage",
    "teacher_source",
    "warm_start_training",
]


class _ModelChoice(Protocol):
    @property
    def model_name(self) -> str: ...
    @property
    def renderer_name(self) -> str | None: ...
    @property
    def load_checkpoint_path(self) -> str | None: ...


class _WarmStart(_ModelChoice, Protocol):
    @property
    def sft_max_steps(self) -> int | None: ...
    @property
    def sft_batch_size(self) -> int: ...
    @property
    def sft_learning_rate(self) -> float: ...
    @property
    def sft_warmup_steps(self) -> int: ...
    @property
    def sft_max_length(self) -> int | None: ...
    @property
    def lora_rank(self) -> int: ...
    @property
    def seed(self) -> int: ...


class _TeacherChoice(Protocol):
    @property
    def train_teacher(self) -> bool: ...
    @property
    def teacher_path(self) -> str | None: ...
    @property
    def teacher_model(self) -> str | None: ...


class _PreferenceChoice(Protocol):
    @property
    def preference_set(self) -> str: ...
    @property
    def dataset(self) -> DatasetRef | None: ...
    @property
    def comparison_format(self) -> str: ...


def model_ref(config: _ModelChoice) -> ModelRef:
    """The model the config names: `model_name`, `renderer_name`, `load_checkpoint_path`."""
    return ModelRef(
        name=config.model_name, renderer=config.renderer_name, load_checkpoint_path=config.load_checkpoint_path
    )


def warm_start_training(config: _WarmStart, dataset: DatasetRef, *, num_epochs: int = 1) -> TrainingConfig:
    """The `sft_*` fields as a supervised warm start on `dataset`: no checkpoints or evals of its own."""
    return TrainingConfig(
        model=model_ref(config),
        dataset=dataset,
        num_epochs=num_epochs,
        max_steps=config.sft_max_steps,
        batch_size=config.sft_batch_size,
        learning_rate=config.sft_learning_rate,
        warmup_steps=config.sft_warmup_steps,
        max_length=config.sft_max_length,
        lora_rank=config.lora_rank,
        seed=config.seed,
        save_every=0,
        eval_every=0,
    )


def teacher_source(recipe: str, config: _TeacherChoice, teacher_stage: str) -> dict[str, Any]:
    """A distillation stage's `teacher`: the stage that trains it, else saved weights, else a base model."""
    if config.train_teacher:
        return {"from_stage": teacher_stage}
    if config.teacher_path:
        return {"path": config.teacher_path}
    if config.teacher_model:
        return {"model": config.teacher_model}
    raise ConfigError(f"{recipe}: no teacher; set teacher_model, teacher_path or train_teacher=true")


def comparisons(recipe: str, config: _PreferenceChoice) -> tuple[DatasetRef, str]:
    """The comparisons and their format: a named preference set, or `dataset` with preference_set='custom'."""
    if config.preference_set != "custom":
        chosen = PREFERENCE_SETS[config.preference_set]
        return chosen.ref, chosen.comparison_format
    if config.dataset is None:
        raise ConfigError(
            f"{recipe}: preference_set='custom' needs dataset; set dataset.name to a JSONL file or hub id"
        )
    return config.dataset, config.comparison_format


def supervised_stage(log_subdir: str, *, id: str | None = None, training: TrainingConfig | None = None) -> StageSpec:
    """A `supervised_train` stage that feeds a later one (no final eval of its own), logging under `log_subdir`.

    `training`: its own training config, where the experiment's `training` is another stage's.
    """
    options: dict[str, Any] = {"log_subdir": log_subdir, "final_eval": False}
    if training is not None:
        options["training"] = training.model_dump(mode="json")
    return StageSpec(name="supervised_train", id=id, options=options)


def sample_stage(train_stage: str, max_tokens: int, prompt: str | None) -> StageSpec:
    """A final `sample` of `train_stage`'s weights (of the stage's default prompt when `prompt` is None)."""
    options: dict[str, Any] = {"train_stage": train_stage, "max_tokens": max_tokens}
    if prompt is not None:
        options["prompt"] = prompt
    return StageSpec(name="sample", options=options)


def evaluate_stage(
    task: str, train_stage: str, max_tokens: int, limit: int | None, *, when: str | None = None
) -> StageSpec:
    """An `evaluate` stage scoring `train_stage`'s weights on a benchmark task (at most `limit` items)."""
    options: dict[str, Any] = {"task": task, "train_stage": train_stage, "max_tokens": max_tokens}
    if limit is not None:
        options["limit"] = limit
    return StageSpec(name="evaluate", options=options, when=when)


def exact_match_stage(max_examples: int, max_tokens: int) -> StageSpec:
    """`evaluate_exact_match` on `max_examples` held-out rows, greedy."""
    return StageSpec(name="evaluate_exact_match", options={"max_examples": max_examples, "max_tokens": max_tokens})
