"""`evaluate`: score weights on a benchmark task, at any point of a pipeline.

Which weights: `sampler_path` when given; else `base_model`'s base weights when
that is given; else the sampler weights of `train_stage`'s `CheckpointRef` (or, when
unset, of the latest earlier stage that published one with some); else the run's last checkpoint; else
the training config's base model. The per-item replies and the summary go to
`eval/<name>.jsonl` and `eval/<name>.json` in the run directory.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import CheckpointRef, Context
from cookbook_runtime.ir import Experiment
from cookbook_runtime.ports import Ports
from cookbook_runtime.train.checkpoints import last_checkpoint
from cookbook_runtime.train.eval import result_paths, write_results
from cookbook_runtime.train.stages._common import check_renderer_name, renderer_for
from cookbook_runtime.train.stages._task_evals import TaskEvalSettings, check_tasks

__all__ = ["EvaluateOptions", "EvaluateStage"]

logger = logging.getLogger(__name__)


class EvaluateOptions(TaskEvalSettings):
    """The task, how it is sampled, and which weights answer."""

    name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
        description="Results file stem under eval/ and metric prefix; None uses the task's name.",
    )
    sampler_path: str | None = Field(default=None, description="Sampler weights to evaluate (a checkpoint's sampler_path).")
    base_model: str | None = Field(
        default=None, description="Evaluate this model's base weights (no training section needed)."
    )
    renderer: str | None = Field(default=None, description="Renderer; None uses the model's configured or recommended one.")
    train_stage: str | None = Field(
        default=None,
        description="Stage whose CheckpointRef's sampler weights are evaluated; None takes the latest one.",
    )


def _model_and_renderer(experiment: Experiment, options: EvaluateOptions) -> tuple[str, str]:
    training = experiment.training
    model = options.base_model or (training.model.name if training is not None else None)
    if model is None:
        raise ConfigError("stage 'evaluate' needs a model: set base_model, or give the experiment a training section")
    renderer = options.renderer
    if renderer is None and training is not None and training.model.name == model:
        renderer = training.model.renderer
    if renderer is None:
        from cookbook_runtime.train.renderers import recommended_renderer

        renderer = str(recommended_renderer(model))
    return model, renderer


def _weights(ctx: Context, options: EvaluateOptions) -> str | None:
    """The sampler path to evaluate, or None for the base model."""
    if options.sampler_path:
        return options.sampler_path
    if options.base_model:
        return None
    if options.train_stage is not None:
        found = ctx.artifact(CheckpointRef, stage=options.train_stage)  # raises, saying what to fix
        if not found.sampler_path:
            raise ConfigError(
                f"stage 'evaluate': stage {options.train_stage!r} saved no sampler weights: evaluate a stage "
                "that saves them or set sampler_path"
            )
        return found.sampler_path
    for key in reversed(list(ctx.refs)):
        ref = ctx.find_artifact(CheckpointRef, key) if key != ctx.stage else None
        if ref is not None and ref.sampler_path:
            return ref.sampler_path
    record = last_checkpoint(ctx.run_dir.path, sampler=True)
    return record.sampler_path if record is not None else None


class EvaluateStage:
    """pass@k of a benchmark task under the pipeline's (or given) weights."""

    name: ClassVar[str] = "evaluate"
    Options: ClassVar[type[BaseModel]] = EvaluateOptions

    async def preflight(self, experiment: Experiment, ports: Ports, options: EvaluateOptions) -> None:
        """The task loads, a model is known and its renderer exists: nothing is sampled."""
        check_tasks([options])
        _, renderer = _model_and_renderer(experiment, options)
        check_renderer_name(renderer)

    async def run(self, ctx: Context, options: EvaluateOptions) -> dict[str, Any]:
        model, renderer_name = _model_and_renderer(ctx.experiment, options)
        path = _weights(ctx, options)
        service = ctx.ports.service
        if path is None:
            client = await service.create_sampling_client(base_model=model)
        else:
            client = await service.create_sampling_client(model_path=path)
        try:
            renderer = renderer_for(renderer_name, client.tokenizer())
            evaluator = options.evaluator(renderer, name=options.name, work_dir=ctx.run_dir.path)
            result = await evaluator.evaluate(client)
        finally:
            await client.close()
        weights = path or f"base:{model}"
        write_results(ctx.run_dir.path, result, extra={"weights": weights, "renderer": renderer_name})
        _, summary_path = result_paths(ctx.run_dir.path, result.name)
        logger.info("eval %s: pass@1 %d/%d", result.name, result.correct_samples, result.total_samples)
        return {
            "task": result.name,
            "pass_at_k": {str(k): result.pass_at(k) for k in result.ks},
            **({"scores": dict(result.scores)} if result.scores else {}),
            "num_items": result.num_items,
            "num_samples": result.num_samples,
            "correct_samples": result.correct_samples,
            "total_samples": result.total_samples,
            "solved_items": result.solved_items,
            "weights": weights,
            "results": str(summary_path.relative_to(ctx.run_dir.path)),
        }
