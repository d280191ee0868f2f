"""`reward_model_train`: a Bradley-Terry reward model on comparisons, published as a `RewardModelRef`.

The reward model is a fine-tuned copy of the model, its score of a reply the
(mean or summed) logprob of the reply's tokens, less the starting weights' by default,
times `beta` (see
`cookbook_runtime.train.preference.reward_model` for why that scalar and not a value
head). It starts from an earlier stage's `CheckpointRef` when `init_from_stage` names
one (the SFT model, so it reads replies the way the policy writes them), else from
`model.load_checkpoint_path`, else from the base model. `log_subdir` keeps its
metrics and checkpoints apart from the stage that owns the run's top level (the RL
stage of `rlhf`).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import Context, RewardModelRef
from cookbook_runtime.ir import DatasetRef, Experiment, TrainingConfig
from cookbook_runtime.ports import Ports, is_configured
from cookbook_runtime.train.metrics import setup_metric_loggers
from cookbook_runtime.train.preference.reward_model import RewardReference, ScoreReduction
from cookbook_runtime.train.preference.rm_loop import train_reward_model
from cookbook_runtime.train.stages._common import (
    check_renderer_name,
    override_training,
    renderer_name_for,
    require_training,
    start_state_path,
)
from cookbook_runtime.train.stages._comparisons import (
    ComparisonTrainOptions,
    check_comparison_data,
    open_preference_splits,
)

__all__ = ["RewardModelTrainOptions", "RewardModelTrainStage"]

logger = logging.getLogger(__name__)


class RewardModelTrainOptions(ComparisonTrainOptions):
    """Settings of `reward_model_train`; learning rate, steps, batch size and cadences come from the training config."""

    score: ScoreReduction = Field(
        default="mean", description="Reply score: 'mean' (length-neutral) or 'sum' of the reply's token logprobs."
    )
    beta: float = Field(default=1.0, gt=0, description="Scale of the score inside the Bradley-Terry sigmoid.")
    reference: RewardReference = Field(
        default="initial",
        description="'initial': score replies relative to the starting weights (DPO's implicit reward); "
        "'none': by the raw logprob.",
    )
    log_subdir: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
        description="Keep this stage's metrics.jsonl and checkpoints.jsonl in this sub-directory of the run.",
    )


def _dataset_ref(training: TrainingConfig, options: RewardModelTrainOptions) -> DatasetRef:
    ref = options.dataset or training.dataset
    if ref is None:
        raise ConfigError(
            "stage 'reward_model_train' needs comparisons: set its 'dataset' option or training.dataset"
        )
    return ref


class RewardModelTrainStage:
    """Trains a pairwise reward model, checkpointing into the run directory."""

    name: ClassVar[str] = "reward_model_train"
    Options: ClassVar[type[BaseModel]] = RewardModelTrainOptions

    async def preflight(self, experiment: Experiment, ports: Ports, options: RewardModelTrainOptions) -> None:
        """Before the run directory exists: the renderer is known, both splits open and their first rows convert."""
        training = override_training(require_training(experiment, self.name), options.training, self.name)
        ref = _dataset_ref(training, options)
        renderer_name = renderer_name_for(training)
        check_renderer_name(renderer_name)
        tokenizer = ports.service.get_tokenizer(training.model.name)
        train, test = open_preference_splits(
            ports.datasets, ref, training, options.comparison_format, options.eval_batch_size, tokenizer,
            renderer_name,
        )
        check_comparison_data(ref, training, train, test)

    async def run(self, ctx: Context, options: RewardModelTrainOptions) -> dict[str, Any]:
        training = override_training(require_training(ctx, self.name), options.training, self.name)
        ref = _dataset_ref(training, options)
        service = ctx.ports.service
        renderer_name = renderer_name_for(training)
        train, test = open_preference_splits(
            ctx.ports.datasets, ref, training, options.comparison_format, options.eval_batch_size,
            service.get_tokenizer(training.model.name), renderer_name,
        )
        log_dir = ctx.run_dir.path / options.log_subdir if options.log_subdir else ctx.run_dir.path
        sink = ctx.ports.metrics
        metric_logger, _ = setup_metric_loggers(
            log_dir, sink=sink if is_configured(sink) else None, config=training.model_dump(mode="json")
        )
        try:
            result = await train_reward_model(
                service,
                training,
                train,
                log_dir,
                score=options.score,
                beta=options.beta,
                reference=options.reference,
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
        if not result.final_sampler_path:
            raise ConfigError(
                f"stage {self.name!r}: the backend saved no sampler weights for the reward model, so nothing "
                "can score with it; use a backend that saves sampler weights"
            )
        accuracy = result.last_eval.get("test/pair_accuracy")
        ctx.publish(
            RewardModelRef(
                state_path=result.final_state_path,
                sampler_path=result.final_sampler_path,
                base_model=result.base_model,
                renderer=renderer_name,
                score=options.score,
                beta=options.beta,
                reference_sampler_path=result.reference_path,
                held_out_pair_accuracy=accuracy,
            )
        )
        outputs: dict[str, Any] = {
            "final_state_path": result.final_state_path,
            "final_sampler_path": result.final_sampler_path,
            "steps": result.steps,
            "base_model": result.base_model,
            "renderer": renderer_name,
            "score": options.score,
            "beta": options.beta,
        }
        for key in ("test/pair_accuracy", "test/loss"):
            name = key.removeprefix("test/")
            if key in result.first_eval and key in result.last_eval:
                outputs[f"first_test_{name}"] = result.first_eval[key]
                outputs[f"final_test_{name}"] = result.last_eval[key]
        return outputs
