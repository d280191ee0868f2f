"""`distill_on_policy`: on-policy distillation as a pipeline stage.

Every option is checked when the spec is validated (each source's env options,
the teachers' shape, training overrides), so a typo fails the dry run before the
run directory exists. The student starts like `rl_train`'s model: from
`init_from_stage`'s final weights, else `model.load_checkpoint_path`, else the base
model. Checkpoints and resume are the RL loop's.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator

from cookbook_runtime.framework import Context, EarlierStage
from cookbook_runtime.ir import TrainingConfig
from cookbook_runtime.ports import is_configured
from cookbook_runtime.train.distill.datasets import MixedDataset
from cookbook_runtime.train.distill.on_policy import TEST_KL_KEY, DistillRun
from cookbook_runtime.train.distill.teacher import TeacherSpec, open_teacher, resolve_teacher
from cookbook_runtime.train.metrics import setup_metric_loggers
from cookbook_runtime.train.rl import RLConfig, RLLossName
from cookbook_runtime.train.rl.envs import EnvContext, get_env
from cookbook_runtime.train.stages._common import (
    override_training,
    publish_checkpoint,
    renderer_for,
    renderer_name_for,
    require_training,
    start_state_path,
)

__all__ = ["DistillOnPolicyOptions", "DistillOnPolicyStage", "DistillSource", "check_env_options"]


def check_env_options(env: str, options: dict[str, JsonValue]) -> None:
    """Raise `ValueError` (a validation error) when `env` is unknown or rejects `options`."""
    factory = get_env(env)
    try:
        factory.Options.model_validate(options)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "env_options"
        raise ValueError(f"env {env!r} option {where}: {err['msg']}") from None


class DistillSource(BaseModel):
    """One prompt source and the teacher that scores the student on it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    env: str = Field(description="Registered env giving the prompts (its rewards are ignored), e.g. 'prompts'.")
    env_options: dict[str, JsonValue] = Field(default_factory=dict, description="Options of the env.")
    teacher: TeacherSpec = Field(description="The teacher of this source.")
    groups_per_batch: int | None = Field(default=None, ge=1, description="Prompts per step; None: training.batch_size.")

    @model_validator(mode="after")
    def _check(self) -> DistillSource:
        check_env_options(self.env, self.env_options)
        return self


class DistillOnPolicyOptions(BaseModel):
    """Settings of `distill_on_policy`; learning rate, steps, seed and cadences come from the training config."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    datasets: list[DistillSource] = Field(min_length=1, description="Prompt sources, each with its teacher.")
    group_size: int = Field(default=4, ge=1, description="Student samples per prompt.")
    max_tokens: int = Field(default=64, ge=1, description="Cap on each sampled completion's tokens.")
    temperature: float = Field(default=1.0, gt=0, description="Student sampling temperature.")
    kl_penalty_coef: float = Field(default=1.0, gt=0, description="Advantage = -coef * reverse KL to the teacher.")
    kl_discount_factor: float = Field(
        default=0.0, ge=0, le=1, description="0: per-token KL; >0: discounted sum of the KL still to come."
    )
    loss_fn: RLLossName = Field(default="importance_sampling", description="Policy loss run by the backend.")
    num_substeps: int = Field(default=1, ge=1, description="Optimizer steps per batch.")
    eval_temperature: float | None = Field(
        default=None, gt=0, description="Temperature of the held-out KL rollouts; None uses `temperature`."
    )
    eval_max_batches: int | None = Field(default=None, ge=1, description="Evaluate at most this many held-out batches.")
    num_groups_to_log: int = Field(default=4, ge=0, description="Groups per step written to rollouts/<step>.jsonl.")
    training: dict[str, JsonValue] = Field(
        default_factory=dict, description="Training-config fields to override for this stage (e.g. max_steps)."
    )
    init_from_stage: Annotated[str | None, EarlierStage()] = Field(
        default=None, description="Start the student from this earlier stage's final_state_path."
    )

    @model_validator(mode="after")
    def _check(self) -> DistillOnPolicyOptions:
        unknown = sorted(set(self.training) - set(TrainingConfig.model_fields))
        if unknown:
            raise ValueError(f"training overrides {unknown} are not training-config fields")
        return self

    def rl_config(self) -> RLConfig:
        return RLConfig(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            loss=self.loss_fn,
            num_substeps=self.num_substeps,
            eval_temperature=self.eval_temperature,
            eval_max_batches=self.eval_max_batches,
            num_groups_to_log=self.num_groups_to_log,
            max_turns=1,
        )


class DistillOnPolicyStage:
    """Distils teachers into the student on the student's own samples (reverse KL per token)."""

    name: ClassVar[str] = "distill_on_policy"
    Options: ClassVar[type[BaseModel]] = DistillOnPolicyOptions

    async def run(self, ctx: Context, options: DistillOnPolicyOptions) -> dict[str, Any]:
        training = override_training(require_training(ctx, self.name), options.training, self.name)
        service = ctx.ports.service
        renderer_name = renderer_name_for(training)
        renderer = renderer_for(renderer_name, service.get_tokenizer(training.model.name))
        trains, tests = [], []
        for src in options.datasets:
            factory = get_env(src.env)()
            env_ctx = EnvContext(
                renderer=renderer,
                datasets=ctx.ports.datasets,
                group_size=options.group_size,
                groups_per_batch=src.groups_per_batch or training.batch_size,
                seed=training.seed,
            )
            train, test = factory.build(factory.Options.model_validate(src.env_options), env_ctx)
            trains.append(train)
            tests.append(test)
        test_set = MixedDataset(tests) if any(t is not None for t in tests) else None
        teacher_specs = [resolve_teacher(s.teacher, ctx, self.name) for s in options.datasets]
        teachers = [await open_teacher(service, spec) for spec in teacher_specs]
        sink = ctx.ports.metrics
        metric_logger, _ = setup_metric_loggers(
            ctx.run_dir.path, sink=sink if is_configured(sink) else None, config=training.model_dump(mode="json")
        )
        try:
            run = DistillRun(
                service,
                training,
                options.rl_config(),
                MixedDataset(trains),
                ctx.run_dir.path,
                test_dataset=test_set,
                metric_logger=metric_logger,
                stage=self.name,
                load_state_path=start_state_path(ctx, self.name, options.init_from_stage, training),
                on_checkpoint=(lambda: ctx.artifacts.sync(ctx.run_dir.path)) if ctx.artifacts is not None else None,
                progress=ctx.report_progress,
                teachers=teachers,
                kl_coef=options.kl_penalty_coef,
                kl_discount=options.kl_discount_factor,
            )
            from cookbook_runtime.train.rl.sync import train_sync

            try:
                result = await train_sync(run)
            finally:
                await run.close_teachers()
        finally:
            metric_logger.close()
        publish_checkpoint(
            ctx, "distill_on_policy", state_path=result.final_state_path, sampler_path=result.final_sampler_path,
            base_model=result.base_model, renderer=renderer_name, steps=result.steps,
        )
        outputs: dict[str, Any] = {
            "final_state_path": result.final_state_path,
            "final_sampler_path": result.final_sampler_path,
            "steps": result.steps,
            "base_model": result.base_model,
            "renderer": renderer_name,
            "teachers": [s.model or s.path for s in teacher_specs],
        }
        if TEST_KL_KEY in result.first_eval and TEST_KL_KEY in result.last_eval:
            outputs["first_test_teacher_kl"] = result.first_eval[TEST_KL_KEY]
            outputs["final_test_teacher_kl"] = result.last_eval[TEST_KL_KEY]
        return outputs
