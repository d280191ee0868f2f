"""The knobs every RL recipe shares, and how they become a training config and an `rl_train` stage."""

from __future__ import annotations

from typing import Any, Literal

from cookbook_runtime.ir import StageSpec, TrainingConfig
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from cookbook_recipes._spec_parts import model_ref

__all__ = ["RLRecipeConfig", "rl_stage", "rl_training"]


class RLRecipeConfig(BaseModel):
    """Model, RL loop and cadence settings (tinker-cookbook's `rl.train.Config` names where it has them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_name: str = Field(default="Qwen/Qwen3.5-9B-Base", description="Base model, or 'cookbook/tiny-chat'.")
    renderer_name: str | None = Field(
        default="role_colon", description="Chat renderer; None picks the model's recommended one."
    )
    load_checkpoint_path: str | None = Field(default=None, description="Start from these saved weights.")
    env_options: dict[str, JsonValue] = Field(default_factory=dict, description="Options of the env.")
    mode: Literal["sync", "stream", "async"] = Field(default="sync", description="RL loop mode.")
    group_size: int = Field(default=16, ge=1, description="Samples per problem.")
    groups_per_batch: int = Field(default=128, ge=1, description="Problems per step.")
    learning_rate: float = Field(default=4e-5, gt=0, description="Peak learning rate.")
    lr_schedule: Literal["constant", "linear", "cosine"] = Field(default="constant", description="LR decay.")
    max_tokens: int = Field(default=256, ge=1, description="Cap on each sampled reply.")
    temperature: float = Field(default=1.0, ge=0, description="Rollout sampling temperature.")
    eval_temperature: float | None = Field(default=None, ge=0, description="Held-out eval temperature; None: same.")
    loss_fn: Literal["importance_sampling", "ppo", "cispo", "dro"] = Field(
        default="importance_sampling", description="Policy loss."
    )
    kl_penalty_coef: float = Field(default=0.0, ge=0, description="KL penalty against the starting weights.")
    num_substeps: int = Field(default=1, ge=1, description="Optimizer steps per batch.")
    normalize_advantages_std: bool = Field(default=False, description="Divide advantages by the group std.")
    remove_constant_reward_groups: bool = Field(default=False, description="Drop all-same-reward groups.")
    rollout_error_policy: Literal["raise", "skip"] = Field(default="raise", description="On a failed rollout.")
    num_minibatches: int = Field(default=1, ge=1, description="stream mode: minibatches per batch.")
    max_steps_off_policy: int = Field(default=1, ge=0, description="async mode: max staleness in steps.")
    lora_rank: int = Field(default=32, ge=0, description="LoRA rank; 0 trains all weights where supported.")
    max_steps: int | None = Field(default=None, ge=1, description="Stop after this many steps.")
    eval_every: int = Field(default=20, ge=0, description="Held-out eval every N steps; 0 disables.")
    infrequent_eval_every: int = Field(
        default=0, ge=0, description="Infrequent evaluators every N steps; 0 runs them only at the end."
    )
    eval_tasks: list[str] = Field(
        default_factory=list, description="Benchmark tasks scored greedily beside the held-out envs, every eval_every."
    )
    save_every: int = Field(default=20, ge=0, description="Checkpoint every N steps.")
    seed: int = Field(default=0, description="Seed for problems and sampling.")
    log_path: str | None = Field(default=None, description="Run directory; rerunning it resumes.")
    wandb_project: str | None = Field(default=None, description="W&B project (needs wandb).")
    wandb_name: str | None = Field(default=None, description="W&B run name.")


def rl_training(config: RLRecipeConfig) -> TrainingConfig:
    """The training config of the RL stage (its problems come from the env, not a dataset)."""
    return TrainingConfig.derive(config, model=model_ref(config), batch_size=config.groups_per_batch, dataset=None)


def rl_stage(config: RLRecipeConfig, env: str, **extra: Any) -> StageSpec:
    """The `rl_train` stage for `env` with the config's loop settings."""
    options: dict[str, Any] = {
        "env": env,
        "env_options": dict(config.env_options),
        "mode": config.mode,
        "group_size": config.group_size,
        "groups_per_batch": config.groups_per_batch,
        "max_tokens": config.max_tokens,
        "temperature": config.temperature,
        "eval_temperature": config.eval_temperature,
        "loss_fn": config.loss_fn,
        "kl_penalty_coef": config.kl_penalty_coef,
        "num_substeps": config.num_substeps,
        "normalize_advantages_std": config.normalize_advantages_std,
        "remove_constant_reward_groups": config.remove_constant_reward_groups,
        "rollout_error_policy": config.rollout_error_policy,
        "num_minibatches": config.num_minibatches,
        "max_steps_off_policy": config.max_steps_off_policy,
        **extra,
    }
    if config.eval_tasks:
        options["eval_tasks"] = [{"task": task, "max_tokens": config.max_tokens} for task in config.eval_tasks]
    if config.wandb_project:
        options["wandb_project"] = config.wandb_project
    if config.wandb_name:
        options["wandb_name"] = config.wandb_name
    return StageSpec(name="rl_train", options=options)
