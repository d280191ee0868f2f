"""`supervised_train`: the supervised loop as a pipeline stage."""

from __future__ import annotations

import logging
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import Context, EarlierStage
from cookbook_runtime.ir import DatasetRef, Experiment, TrainingConfig
from cookbook_runtime.ports import Ports, is_configured
from cookbook_runtime.train.data import open_supervised_splits
from cookbook_runtime.train.evaluators import NllEvaluator
from cookbook_runtime.train.loops.supervised import train_supervised
from cookbook_runtime.train.metrics import setup_metric_loggers
from cookbook_runtime.train.stages._common import (
    check_renderer_name,
    check_train_on_what,
    dataset_from_stage,
    make_to_datum,
    override_training,
    publish_checkpoint,
    renderer_for,
    renderer_name_for,
    require_dataset,
    require_training,
)
from cookbook_runtime.train.stages._task_evals import (
    TaskEvalSpec,
    build_task_evaluators,
    check_tasks,
)

__all__ = ["SupervisedTrainOptions", "SupervisedTrainStage"]

logger = logging.getLogger(__name__)


class SupervisedTrainOptions(BaseModel):
    """Loop settings of `supervised_train`; hyper-parameters come from the experiment's training config."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    train_on_what: str = Field(
        default="all_assistant_messages",
        description="Which tokens carry loss: a TrainOnWhat value such as 'all_assistant_messages'.",
    )
    weight_reduction: Literal["none", "mean"] = Field(
        default="mean",
        description="'mean' scales each example's loss weights to sum to 1 (tinker-cookbook's SFT default).",
    )
    lookahead: int = Field(
        default=1, ge=0, description="Batches queued beyond the one being waited on; 0 disables pipelining."
    )
    eval_batch_size: int | None = Field(
        default=None, ge=1, description="Batch size of held-out evaluation; None uses the training batch size."
    )
    max_eval_batches: int | None = Field(
        default=None, ge=1, description="Evaluate on at most this many held-out batches; None uses all."
    )
    final_eval: bool = Field(default=True, description="Run every evaluator once more after the last step.")
    eval_tasks: list[TaskEvalSpec] = Field(
        default_factory=list,
        description=(
            "Benchmark tasks sampled and scored in the loop (metrics eval/<task>/pass@k): every eval_every "
            "steps, or every infrequent_eval_every for an entry with infrequent=true."
        ),
    )
    training: dict[str, JsonValue] = Field(
        default_factory=dict,
        description=(
            "Training-config fields to override for this stage (e.g. max_steps), when the experiment's "
            "training section serves several stages."
        ),
    )
    log_subdir: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
        description=(
            "Keep this stage's metrics.jsonl and checkpoints.jsonl in this sub-directory of the run "
            "(for a warm start before another training stage, which then owns the top level)."
        ),
    )
    dataset_from_stage: Annotated[str | None, EarlierStage()] = Field(
        default=None,
        description=(
            "Train on the conversations this earlier stage published (its DatasetArtifact of kind 'sft', e.g. "
            "'export_feedback') instead of training.dataset."
        ),
    )

    @model_validator(mode="after")
    def _check_training(self) -> SupervisedTrainOptions:
        unknown = sorted(set(self.training) - set(TrainingConfig.model_fields))
        if unknown:
            raise ValueError(f"training overrides {unknown} are not training-config fields")
        return self


def _dataset_ref(ctx: Context, training: TrainingConfig, options: SupervisedTrainOptions) -> DatasetRef:
    if options.dataset_from_stage is None:
        return require_dataset(training, SupervisedTrainStage.name)
    return dataset_from_stage(ctx, SupervisedTrainStage.name, options.dataset_from_stage, "sft")


def _check_data(ref: DatasetRef, training: TrainingConfig, train: Any, test: Any) -> None:
    for dataset in (train, test):
        if dataset is not None:
            dataset.check_first_rows()
    if train.num_batches == 0:
        raise ConfigError(
            f"dataset {ref.name!r} has {train.num_rows} training rows, fewer than one batch of "
            f"{training.batch_size}: lower batch_size"
        )


class SupervisedTrainStage:
    """Fine-tunes the model on the experiment's dataset, checkpointing into the run directory."""

    name: ClassVar[str] = "supervised_train"
    Options: ClassVar[type[BaseModel]] = SupervisedTrainOptions

    async def preflight(self, experiment: Experiment, ports: Ports, options: SupervisedTrainOptions) -> None:
        """Before the run directory exists: the model resolves, the renderer is known,
        the dataset opens and its first rows of each split convert to datums."""
        training = override_training(require_training(experiment, self.name), options.training, self.name)
        renderer_name = renderer_name_for(training)
        check_renderer_name(renderer_name)
        check_train_on_what(options.train_on_what)
        check_tasks(options.eval_tasks)
        if options.dataset_from_stage is not None:
            # that stage writes the data when it runs: nothing to open yet
            return
        ref = require_dataset(training, self.name)
        tokenizer = ports.service.get_tokenizer(training.model.name)
        renderer = renderer_for(renderer_name, tokenizer)
        to_datum = make_to_datum(renderer, training, options.train_on_what, options.weight_reduction)
        train, test = open_supervised_splits(
            ports.datasets, ref, to_datum, batch_size=training.batch_size, seed=training.seed
        )
        _check_data(ref, training, train, test)

    async def run(self, ctx: Context, options: SupervisedTrainOptions) -> dict[str, Any]:
        training = override_training(require_training(ctx, self.name), options.training, self.name)
        ref = _dataset_ref(ctx, training, options)
        service = ctx.ports.service
        renderer_name = renderer_name_for(training)
        renderer = renderer_for(renderer_name, service.get_tokenizer(training.model.name))
        to_datum = make_to_datum(renderer, training, options.train_on_what, options.weight_reduction)
        train, test = open_supervised_splits(
            ctx.ports.datasets,
            ref,
            to_datum,
            batch_size=training.batch_size,
            seed=training.seed,
            test_batch_size=options.eval_batch_size,
        )
        if options.dataset_from_stage is not None:  # not checked in preflight: it did not exist yet
            _check_data(ref, training, train, test)
        evaluator = NllEvaluator(test, max_batches=options.max_eval_batches) if test is not None else None
        task_evals, infrequent_evals = build_task_evaluators(options.eval_tasks, renderer, work_dir=ctx.run_dir.path)
        sink = ctx.ports.metrics
        log_dir = ctx.run_dir.path / options.log_subdir if options.log_subdir else ctx.run_dir.path
        metric_logger, _ = setup_metric_loggers(
            log_dir,
            sink=sink if is_configured(sink) else None,
            config=training.model_dump(mode="json"),
        )
        try:
            result = await train_supervised(
                service,
                training,
                train,
                log_dir,
                metric_logger=metric_logger,
                evaluator=evaluator,
                evaluators=task_evals,
                infrequent_evaluators=infrequent_evals,
                lookahead=options.lookahead,
                final_eval=options.final_eval,
                stage=self.name,
                progress=ctx.report_progress,
                on_checkpoint=(lambda: ctx.artifacts.sync(ctx.run_dir.path)) if ctx.artifacts is not None else None,
            )
        finally:
            metric_logger.close()
        publish_checkpoint(
            ctx, "supervised", state_path=result.final_state_path, sampler_path=result.final_sampler_path,
            base_model=result.base_model, renderer=renderer_name, steps=result.steps,
        )
        outputs: dict[str, Any] = {
            "final_state_path": result.final_state_path,
            "final_sampler_path": result.final_sampler_path,
            "steps": result.steps,
            "base_model": result.base_model,
            "renderer": renderer_name,
        }
        if "test/nll" in result.final_metrics:
            outputs["final_test_nll"] = result.final_metrics["test/nll"]
        if train.skipped:
            outputs["skipped_rows"] = train.skipped
        return outputs
