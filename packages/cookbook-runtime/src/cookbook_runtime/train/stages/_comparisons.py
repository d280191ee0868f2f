"""What the stages that train on comparisons share (`dpo_train`, `reward_model_train`).

Their common options (the comparisons, how a row becomes one, held-out scoring,
training overrides, the weights to start from), how the training and held-out
pairs are opened, and the check that they convert and fill a batch.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import EarlierStage
from cookbook_runtime.ir import DatasetRef, TrainingConfig
from cookbook_runtime.ports import DatasetStore
from cookbook_runtime.train.preference import (
    COMPARISON_FORMATS,
    PreferenceDataset,
    comparison_to_datums,
    get_comparison_format,
)
from cookbook_runtime.train.stages._common import renderer_for
from cookbook_runtime.types import Tokenizer

__all__ = ["ComparisonTrainOptions", "check_comparison_data", "open_preference_splits"]


class ComparisonTrainOptions(BaseModel):
    """Options every comparison-training stage takes; its own come on top."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: DatasetRef | None = Field(
        default=None, description="Comparisons (preference rows) to train on; None uses the experiment's training.dataset."
    )
    comparison_format: str = Field(
        default="pairs",
        description=f"How a row becomes a comparison: one of {sorted(COMPARISON_FORMATS)}.",
    )
    eval_batch_size: int | None = Field(
        default=None, ge=1, description="Held-out pairs per forward pass; None uses the training batch size."
    )
    max_eval_batches: int | None = Field(default=None, ge=1, description="Score at most this many held-out batches.")
    training: dict[str, JsonValue] = Field(
        default_factory=dict,
        description=(
            "Training-config fields to override for this stage (e.g. learning_rate, max_steps), when the "
            "experiment's training section is set for an earlier stage such as an SFT warm start."
        ),
    )
    init_from_stage: Annotated[str | None, EarlierStage()] = Field(
        default=None, description="Start from this earlier stage's CheckpointRef (e.g. 'supervised_train')."
    )

    @model_validator(mode="after")
    def _check_comparisons(self) -> ComparisonTrainOptions:
        if self.comparison_format not in COMPARISON_FORMATS:
            known = ", ".join(sorted(COMPARISON_FORMATS))
            raise ValueError(f"unknown comparison_format {self.comparison_format!r}; known: {known}")
        unknown = sorted(set(self.training) - set(TrainingConfig.model_fields))
        if unknown:
            raise ValueError(f"training overrides {unknown} are not training-config fields")
        return self


def open_preference_splits(
    store: DatasetStore,
    ref: DatasetRef,
    training: TrainingConfig,
    comparison_format: str,
    eval_batch_size: int | None,
    tokenizer: Tokenizer,
    renderer_name: str,
) -> tuple[PreferenceDataset, PreferenceDataset | None]:
    """The training pairs and the held-out ones (`test_split`, or the first `test_size` shuffled rows)."""
    renderer = renderer_for(renderer_name, tokenizer)
    row_format = get_comparison_format(comparison_format)

    def to_datums(comparison: Any) -> Any:
        return comparison_to_datums(comparison, renderer, training.max_length)

    train_rows = store.open(ref, ref.split)
    test_rows, test_split = None, ref.test_split
    if test_split is not None:
        test_rows = store.open(ref, test_split)
    elif ref.test_size > 0:
        shuffled = train_rows.shuffle(training.seed)
        test_rows, train_rows = shuffled.take(ref.test_size), shuffled.skip(ref.test_size)
        test_split = f"{ref.split}[:{ref.test_size}]"
    common = {"name": ref.name, "skip_malformed": ref.skip_malformed}
    train = PreferenceDataset(
        train_rows, row_format, to_datums, batch_size=training.batch_size, split=ref.split, seed=training.seed,
        **common,  # type: ignore[arg-type]
    )
    test = None
    if test_rows is not None:
        test = PreferenceDataset(
            test_rows, row_format, to_datums, batch_size=eval_batch_size or training.batch_size,
            split=test_split or "test", shuffle=False, drop_last=False, **common,  # type: ignore[arg-type]
        )
    return train, test


def check_comparison_data(
    ref: DatasetRef, training: TrainingConfig, train: PreferenceDataset, test: PreferenceDataset | None
) -> None:
    """A `ConfigError` unless the first rows of each split convert and the training split fills a batch."""
    for dataset in (train, test):
        if dataset is not None:
            dataset.check_first_rows()
    if train.num_batches == 0:
        raise ConfigError(
            f"dataset {ref.name!r} has {train.num_rows} training rows, fewer than one batch of "
            f"{training.batch_size}: lower batch_size"
        )
