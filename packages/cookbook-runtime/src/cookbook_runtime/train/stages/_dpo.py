"""`dpo_train`: the DPO loop as a pipeline stage.

Every option is checked when the spec is (the comparison format by name, training
overrides by field), and `preflight` converts the first rows of each split before
anything runs. The model starts from an earlier stage's final weights when
`init_from_stage` names one (an SFT warm start), else from
`model.load_checkpoint_path`, else from the base model; those starting weights are
the DPO reference, pinned in the run directory for resumes. With
`dataset_from_stage` the comparisons are those an earlier stage published as a
`DatasetArtifact` of kind 'pairs' (`export_feedback`'s), opened when the stage runs.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, model_validator

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import Context, EarlierStage
from cookbook_runtime.ir import DatasetRef, Experiment, TrainingConfig
from cookbook_runtime.ports import Ports, is_configured
from cookbook_runtime.train.metrics import setup_metric_loggers
from cookbook_runtime.train.preference import train_dpo
from cookbook_runtime.train.stages._common import (
    check_renderer_name,
    dataset_from_stage,
    override_training,
    publish_checkpoint,
    renderer_name_for,
    require_training,
    start_state_path,
)
from cookbook_runtime.train.stages._comparisons import (
    ComparisonTrainOptions,
    check_comparison_data,
    open_preference_splits,
)

__all__ = ["DPOTrainOptions", "DPOTrainStage"]

logger = logging.getLogger(__name__)


class DPOTrainOptions(ComparisonTrainOptions):
    """Loop settings of `dpo_train`; learning rate, steps, batch size and cadences come from the training config."""

    dpo_beta: float = Field(default=0.1, gt=0, description="DPO beta: scale of the implicit reward.")
    dataset_from_stage: Annotated[str | None, EarlierStage()] = Field(
        default=None,
        description=(
            "Train on the comparisons this earlier stage published (its DatasetArtifact of kind 'pairs', e.g. "
            "'export_feedback'); excludes 'dataset'."
        ),
    )

    @model_validator(mode="after")
    def _check_source(self) -> DPOTrainOptions:
        if self.dataset is not None and self.dataset_from_stage is not None:
            raise ValueError("set 'dataset' or 'dataset_from_stage', not both")
        return self


def _training(experiment: Experiment, options: DPOTrainOptions) -> TrainingConfig:
    return override_training(require_training(experiment, DPOTrainStage.name), options.training, DPOTrainStage.name)


def _dataset_ref(training: TrainingConfig, options: DPOTrainOptions, ctx: Context | None = None) -> DatasetRef:
    if options.dataset_from_stage is not None and ctx is not None:
        return dataset_from_stage(ctx, DPOTrainStage.name, options.dataset_from_stage, "pairs")
    ref = options.dataset or training.dataset
    if ref is None:
        raise ConfigError("stage 'dpo_train' needs preference data: set its 'dataset' option or training.dataset")
    return ref


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
            return
        ref = _dataset_ref(training, options)
        tokenizer = ports.service.get_tokenizer(training.model.name)
        train, test = open_preference_splits(
            ports.datasets, ref, training, options.comparison_format, options.eval_batch_size, tokenizer, renderer_name
        )
        check_comparison_data(ref, training, train, test)

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
            check_comparison_data(ref, training, train, test)
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
