"""`dpo_train`: the DPO loop as a pipeline stage.

Every option is checked when the spec is (the comparison format by name, training
overrides by field), and `preflight` converts the first rows of each split before
anything runs. The model starts from an earlier stage's final weights when
`init_from_stage` names one (an SFT warm start), else from
`model.load_checkpoint_path`, else from the base model; those starting weights are
the DPO reference, pinned in the run directory for resumes. With
`dataset_from_stage` the comparisons are those an earlier stage wrote (e.g.
`export_feedback`'s pairs), opened when the stage runs.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import Context
from cookbook_runtime.ir import DatasetRef, Experiment, TrainingConfig
from cookbook_runtime.ports import DatasetStore, Ports, is_configured
from cookbook_runtime.train.metrics import setup_metric_loggers
from cookbook_runtime.train.preference import (
    COMPARISON_FORMATS,
    PreferenceDataset,
    comparison_to_datums,
    get_comparison_format,
    train_dpo,
)
from cookbook_runtime.train.stages._common import (
    check_renderer_name,
    earlier_stage_keys,
    publish_checkpoint,
    renderer_for,
    renderer_name_for,
    require_training,
    stage_output,
    start_state_path,
)
from cookbook_runtime.types import Tokenizer

__all__ = ["DPOTrainOptions", "DPOTrainStage"]

logger = logging.getLogger(__name__)


class DPOTrainOptions(BaseModel):
    """Loop settings of `dpo_train`; learning rate, steps, batch size and cadences come from the training config."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: DatasetRef | None = Field(
        default=None, description="Preference rows to train on; None uses the experiment's training.dataset."
    )
    comparison_format: str = Field(
        default="pairs",
        description=f"How a row becomes a comparison: one of {sorted(COMPARISON_FORMATS)}.",
    )
    dpo_beta: float = Field(default=0.1, gt=0, description="DPO beta: scale of the implicit reward.")
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
    init_from_stage: str | None = Field(
        default=None, description="Start from this earlier stage's final_state_path (e.g. 'supervised_train')."
    )
    dataset_from_stage: str | None = Field(
        default=None,
        description=(
            "Train on the preference dataset this earlier stage wrote (its 'pairs_dataset' output, e.g. "
            "'export_feedback'); excludes 'dataset'."
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> DPOTrainOptions:
        if self.comparison_format not in COMPARISON_FORMATS:
            known = ", ".join(sorted(COMPARISON_FORMATS))
            raise ValueError(f"unknown comparison_format {self.comparison_format!r}; known: {known}")
        if self.dataset is not None and self.dataset_from_stage is not None:
            raise ValueError("set 'dataset' or 'dataset_from_stage', not both")
        unknown = sorted(set(self.training) - set(TrainingConfig.model_fields))
        if unknown:
            raise ValueError(f"training overrides {unknown} are not training-config fields")
        return self


def _training(experiment: Experiment, options: DPOTrainOptions) -> TrainingConfig:
    base = require_training(experiment, DPOTrainStage.name)
    if not options.training:
        return base
    try:
        return TrainingConfig.model_validate({**base.model_dump(mode="json"), **options.training})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"stage 'dpo_train': training override {where}: {err['msg']}") from None


def _dataset_ref(training: TrainingConfig, options: DPOTrainOptions, ctx: Context | None = None) -> DatasetRef:
    if options.dataset_from_stage is not None and ctx is not None:
        found = stage_output(ctx, DPOTrainStage.name, options.dataset_from_stage, "pairs_dataset")
        try:
            return DatasetRef.model_validate(found)
        except ValidationError:
            raise ConfigError(
                f"stage 'dpo_train': stage {options.dataset_from_stage!r} gave a pairs_dataset that is not a "
                "dataset reference"
            ) from None
    ref = options.dataset or training.dataset
    if ref is None:
        raise ConfigError("stage 'dpo_train' needs preference data: set its 'dataset' option or training.dataset")
    return ref


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


def _check_data(
    ref: DatasetRef, training: TrainingConfig, train: PreferenceDataset, test: PreferenceDataset | None
) -> None:
    for dataset in (train, test):
        if dataset is not None:
            dataset.check_first_rows()
    if train.num_batches == 0:
        raise ConfigError(
            f"dataset {ref.name!r} has {train.num_rows} training rows, fewer than one batch of "
            f"{training.batch_size}: lower batch_size"
        )


class DPOTrainStage:
    """Trains the model with DPO on comparisons, checkpointing into the run directory."""

    name: ClassVar[str] = "dpo_train"
    Options: ClassVar[type[BaseModel]] = DPOTrainOptions

    async def preflight(self, experiment: Experiment, ports: Ports, options: DPOTrainOptions) -> None:
        """Before the run directory exists: the renderer is known, both splits open and their first rows convert."""
        training = _training(experiment, options)
        renderer_name = renderer_name_for(training)
        check_renderer_name(renderer_name)
        if options.dataset_from_stage is not None:
            # that stage writes the data when it runs: nothing to open yet
            earlier = earlier_stage_keys(experiment, self.name)
            if options.dataset_from_stage not in earlier:
                raise ConfigError(
                    f"stage {self.name!r}: dataset_from_stage {options.dataset_from_stage!r} is not an earlier "
                    f"enabled stage (earlier: {earlier or 'none'})"
                )
            return
        ref = _dataset_ref(training, options)
        tokenizer = ports.service.get_tokenizer(training.model.name)
        train, test = open_preference_splits(
            ports.datasets, ref, training, options.comparison_format, options.eval_batch_size, tokenizer, renderer_name
        )
        _check_data(ref, training, train, test)

    async def run(self, ctx: Context, options: DPOTrainOptions) -> dict[str, Any]:
        training = _training(ctx.experiment, options)
        ref = _dataset_ref(training, options, ctx)
        service = ctx.ports.service
        renderer_name = renderer_name_for(training)
        train, test = open_preference_splits(
            ctx.ports.datasets, ref, training, options.comparison_format, options.eval_batch_size,
            service.get_tokenizer(training.model.name), renderer_name,
        )
        if options.dataset_from_stage is not None:  # not checked in preflight: it did not exist yet
            _check_data(ref, training, train, test)
        sink = ctx.ports.metrics
        metric_logger, _ = setup_metric_loggers(
            ctx.run_dir.path, sink=sink if is_configured(sink) else None, config=training.model_dump(mode="json")
        )
        try:
            result = await train_dpo(
                service,
                training,
                train,
                ctx.run_dir.path,
                beta=options.dpo_beta,
                metric_logger=metric_logger,
                test_dataset=test,
                max_eval_batches=options.max_eval_batches,
                load_state_path=start_state_path(ctx, self.name, options.init_from_stage, training),
                stage=self.name,
                on_checkpoint=(lambda: ctx.artifacts.sync(ctx.run_dir.path)) if ctx.artifacts is not None else None,
                progress=ctx.report_progress,
            )
        finally:
            metric_logger.close()
        publish_checkpoint(
            ctx, "dpo", state_path=result.final_state_path, sampler_path=result.final_sampler_path,
            base_model=result.base_model, renderer=renderer_name, steps=result.steps,
        )
        outputs: dict[str, Any] = {
            "final_state_path": result.final_state_path,
            "final_sampler_path": result.final_sampler_path,
            "reference_path": result.reference_path,
            "steps": result.steps,
            "base_model": result.base_model,
            "renderer": renderer_name,
        }
        for key in ("test/pair_accuracy", "test/accuracy"):
            name = key.removeprefix("test/")
            if key in result.first_eval and key in result.last_eval:
                outputs[f"first_test_{name}"] = result.first_eval[key]
                outputs[f"final_test_{name}"] = result.last_eval[key]
        return outputs
