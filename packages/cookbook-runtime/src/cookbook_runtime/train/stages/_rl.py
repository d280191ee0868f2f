"""`rl_train`: the RL loops as a pipeline stage, with the env named in the spec.

Every option, the env's own included, is validated when the spec is: a typo in
`env_options` fails the dry run, not the first rollout. The model starts from the
previous stage's final weights when `init_from_stage` names one (SFT warm start),
else from `model.load_checkpoint_path`, else from the base model.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import Context, EarlierStage
from cookbook_runtime.ir import Experiment, TrainingConfig
from cookbook_runtime.ports import Ports, is_configured
from cookbook_runtime.train.metrics import setup_metric_loggers
from cookbook_runtime.train.rl import (
    RLConfig,
    RLLossName,
    RLResult,
    RLRun,
    RolloutErrorPolicy,
    StalePolicy,
)
from cookbook_runtime.train.rl.envs import EnvContext, get_env
from cookbook_runtime.train.stages._common import (
    publish_checkpoint,
    renderer_for,
    renderer_name_for,
    require_training,
    start_state_path,
)
from cookbook_runtime.train.stages._task_evals import (
    TaskEvalSpec,
    build_task_evaluators,
    check_tasks,
)

__all__ = ["RLTrainOptions", "RLTrainStage"]

logger = logging.getLogger(__name__)

RLMode = Literal["sync", "stream", "async"]


class RLTrainOptions(BaseModel):
    """Loop settings of `rl_train`; learning rate, steps, seed and cadences come from the training config."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    env: str = Field(description="Registered RL env name, e.g. 'arithmetic' (see the 'cookbook.rl_envs' entry points).")
    env_options: dict[str, JsonValue] = Field(default_factory=dict, description="Options of the env, validated by it.")
    mode: RLMode = Field(
        default="sync",
        description="'sync' (on-policy), 'stream' (train minibatches as groups finish) or 'async' (off-policy).",
    )
    group_size: int = Field(default=4, ge=1, description="Samples per problem; advantages compare within a group.")
    groups_per_batch: int | None = Field(
        default=None, ge=1, description="Problems per step; None uses training.batch_size."
    )
    max_tokens: int = Field(default=64, ge=1, description="Cap on each sampled action's tokens.")
    temperature: float = Field(default=1.0, ge=0, description="Sampling temperature of rollouts.")
    loss_fn: RLLossName = Field(default="importance_sampling", description="Policy loss run by the backend.")
    clip_low_threshold: float = Field(default=0.8, gt=0, description="ppo/cispo: lower ratio clip.")
    clip_high_threshold: float = Field(default=1.2, gt=0, description="ppo/cispo: upper ratio clip.")
    dro_beta: float = Field(default=0.05, ge=0, description="dro: weight of the quadratic penalty.")
    kl_penalty_coef: float = Field(
        default=0.0, ge=0, description="KL penalty against the starting weights (reward shaping); 0 disables."
    )
    num_substeps: int = Field(default=1, ge=1, description="Optimizer steps per batch.")
    normalize_advantages_std: bool = Field(default=False, description="Divide advantages by the group std (GRPO).")
    remove_constant_reward_groups: bool = Field(
        default=False, description="Drop groups whose samples all got the same reward (they carry no signal)."
    )
    rollout_error_policy: RolloutErrorPolicy = Field(
        default="raise", description="'raise' stops on a failed rollout; 'skip' drops its group and counts it."
    )
    eval_temperature: float | None = Field(
        default=None, ge=0, description="Temperature of held-out evaluation; None uses `temperature`."
    )
    eval_max_batches: int | None = Field(default=None, ge=1, description="Evaluate at most this many held-out batches.")
    num_groups_to_log: int = Field(default=4, ge=0, description="Groups per step written to rollouts/<step>.jsonl.")
    max_turns: int = Field(default=32, ge=1, description="Bound on an episode's turns.")
    num_minibatches: int = Field(default=1, ge=1, description="stream: forward_backward calls per batch.")
    max_steps_off_policy: int = Field(default=1, ge=0, description="async: oldest weights a trained group may use.")
    sample_ahead: int | None = Field(
        default=None, ge=0, description="async: batches sampled ahead of training; None: max_steps_off_policy."
    )
    stale_policy: StalePolicy = Field(default="requeue", description="async: 'requeue' or 'drop' a too-old group.")
    training: dict[str, JsonValue] = Field(
        default_factory=dict,
        description=(
            "Training-config fields to override for this stage (e.g. learning_rate, max_steps), when the "
            "experiment's training section is set for an earlier stage such as an SFT warm start."
        ),
    )
    init_from_stage: Annotated[str | None, EarlierStage()] = Field(
        default=None, description="Start from this earlier stage's final_state_path (e.g. 'supervised_train')."
    )
    eval_tasks: list[TaskEvalSpec] = Field(
        default_factory=list,
        description=(
            "Benchmark tasks scored alongside the held-out envs (metrics eval/<task>/pass@k): every eval_every "
            "steps, or every infrequent_eval_every for an entry with infrequent=true."
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> RLTrainOptions:
        factory = get_env(self.env)
        try:
            factory.Options.model_validate(self.env_options)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "env_options"
            raise ValueError(f"env {self.env!r} option {where}: {err['msg']}") from None
        unknown = sorted(set(self.training) - set(TrainingConfig.model_fields))
        if unknown:
            raise ValueError(f"training overrides {unknown} are not training-config fields")
        if self.mode == "stream" and self.num_minibatches % self.num_substeps:
            raise ValueError("stream mode needs num_minibatches to be a multiple of num_substeps")
        return self

    def rl_config(self) -> RLConfig:
        return RLConfig(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            loss=self.loss_fn,
            clip_low=self.clip_low_threshold,
            clip_high=self.clip_high_threshold,
            dro_beta=self.dro_beta,
            kl_penalty_coef=self.kl_penalty_coef,
            num_substeps=self.num_substeps,
            normalize_advantages_std=self.normalize_advantages_std,
            remove_constant_reward_groups=self.remove_constant_reward_groups,
            on_rollout_error=self.rollout_error_policy,
            eval_temperature=self.eval_temperature,
            eval_max_batches=self.eval_max_batches,
            num_groups_to_log=self.num_groups_to_log,
            max_turns=self.max_turns,
            num_minibatches=self.num_minibatches,
            max_steps_off_policy=self.max_steps_off_policy,
            sample_ahead=self.sample_ahead,
            stale_policy=self.stale_policy,
        )


def _loop(mode: RLMode) -> Callable[[RLRun], Awaitable[RLResult]]:
    if mode == "stream":
        from cookbook_runtime.train.rl.stream import train_stream

        return train_stream
    if mode == "async":
        from cookbook_runtime.train.rl.off_policy import train_off_policy

        return train_off_policy
    from cookbook_runtime.train.rl.sync import train_sync

    return train_sync


class RLTrainStage:
    """Trains the model with RL on a named env, checkpointing into the run directory."""

    name: ClassVar[str] = "rl_train"
    Options: ClassVar[type[BaseModel]] = RLTrainOptions

    async def preflight(self, experiment: Experiment, ports: Ports, options: RLTrainOptions) -> None:
        """Before the run directory exists: every eval task loads."""
        check_tasks(options.eval_tasks)

    def _training(self, ctx: Context, options: RLTrainOptions) -> TrainingConfig:
        base = require_training(ctx, self.name)
        if not options.training:
            return base
        try:
            return TrainingConfig.model_validate({**base.model_dump(mode="json"), **options.training})
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"stage 'rl_train': training override {where}: {err['msg']}") from None

    async def run(self, ctx: Context, options: RLTrainOptions) -> dict[str, Any]:
        training = self._training(ctx, options)
        service = ctx.ports.service
        renderer_name = renderer_name_for(training)
        renderer = renderer_for(renderer_name, service.get_tokenizer(training.model.name))
        factory = get_env(options.env)()
        env_options = factory.Options.model_validate(options.env_options)
        env_ctx = EnvContext(
            renderer=renderer,
            datasets=ctx.ports.datasets,
            group_size=options.group_size,
            groups_per_batch=options.groups_per_batch or training.batch_size,
            seed=training.seed,
            service=service,
            artifact=ctx.artifact,
        )
        train, test = factory.build(env_options, env_ctx)
        task_evals, infrequent_evals = build_task_evaluators(options.eval_tasks, renderer, work_dir=ctx.run_dir.path)
        sink = ctx.ports.metrics
        metric_logger, _ = setup_metric_loggers(
            ctx.run_dir.path,
            sink=sink if is_configured(sink) else None,
            config=training.model_dump(mode="json"),
        )
        try:
            run = RLRun(
                service,
                training,
                options.rl_config(),
                train,
                ctx.run_dir.path,
                test_dataset=test,
                metric_logger=metric_logger,
                stage=self.name,
                load_state_path=start_state_path(ctx, self.name, options.init_from_stage, training),
                on_checkpoint=(lambda: ctx.artifacts.sync(ctx.run_dir.path)) if ctx.artifacts is not None else None,
                progress=ctx.report_progress,
                evaluators=task_evals,
                infrequent_evaluators=infrequent_evals,
            )
            result = await _loop(options.mode)(run)
        finally:
            metric_logger.close()
            for close in env_ctx.cleanups:
                await close()
        publish_checkpoint(
            ctx, "rl", state_path=result.final_state_path, sampler_path=result.final_sampler_path,
            base_model=result.base_model, renderer=renderer_name, steps=result.steps,
        )
        outputs: dict[str, Any] = {
            "final_state_path": result.final_state_path,
            "final_sampler_path": result.final_sampler_path,
            "steps": result.steps,
            "base_model": result.base_model,
            "renderer": renderer_name,
        }
        key = "test/env/all/reward/total"
        if key in result.first_eval and key in result.last_eval:
            outputs["first_test_reward"] = result.first_eval[key]
            outputs["final_test_reward"] = result.last_eval[key]
        return outputs
