"""Reinforcement learning: environments, rollouts, advantages, and the sync, stream and async loops.

Write an env (`Env`, or `ProblemEnv` / `MessageEnv` for the common shapes), group
envs with an `EnvGroupBuilder`, hand out groups by batch index with an `RLDataset`,
and run one of the loops (`train_sync`, `train_stream`, `train_off_policy`) over an
`RLRun`; the `rl_train` stage does that from a spec, with envs found by name.
"""

from cookbook_runtime.train.rl._run import RLResult, RLRun
from cookbook_runtime.train.rl.config import RLConfig, StalePolicy
from cookbook_runtime.train.rl.data import (
    RLBatch,
    assemble_batch,
    compute_advantages,
    is_constant_group,
    remove_constant_reward_groups,
    trajectory_to_data,
)
from cookbook_runtime.train.rl.losses import RLLossName, incorporate_kl_penalty, loss_fn_config
from cookbook_runtime.train.rl.message_env import EnvFromMessageEnv, MessageEnv, MessageStepResult
from cookbook_runtime.train.rl.metrics import optim_metrics, trajectory_metrics
from cookbook_runtime.train.rl.off_policy import train_off_policy
from cookbook_runtime.train.rl.problem_env import ProblemEnv, ProblemGroupBuilder, message_text
from cookbook_runtime.train.rl.rollouts import (
    AllRolloutsFailed,
    BatchRollouts,
    RolloutErrorPolicy,
    RolloutSettings,
    rollout_batch,
    rollout_group,
    rollout_group_or_error,
    sample_seed,
)
from cookbook_runtime.train.rl.stream import train_stream
from cookbook_runtime.train.rl.sync import train_sync
from cookbook_runtime.train.rl.types import (
    Action,
    Env,
    EnvGroupBuilder,
    Metrics,
    Observation,
    RLDataset,
    StepResult,
    StopCondition,
    TokensWithLogprobs,
    Trajectory,
    TrajectoryGroup,
    Transition,
)

__all__ = [
    "Action",
    "AllRolloutsFailed",
    "BatchRollouts",
    "Env",
    "EnvFromMessageEnv",
    "EnvGroupBuilder",
    "MessageEnv",
    "MessageStepResult",
    "Metrics",
    "Observation",
    "ProblemEnv",
    "ProblemGroupBuilder",
    "RLBatch",
    "RLConfig",
    "RLDataset",
    "RLLossName",
    "RLResult",
    "RLRun",
    "RolloutErrorPolicy",
    "RolloutSettings",
    "StalePolicy",
    "StepResult",
    "StopCondition",
    "TokensWithLogprobs",
    "Trajectory",
    "TrajectoryGroup",
    "Transition",
    "assemble_batch",
    "compute_advantages",
    "incorporate_kl_penalty",
    "is_constant_group",
    "loss_fn_config",
    "message_text",
    "optim_metrics",
    "remove_constant_reward_groups",
    "rollout_batch",
    "rollout_group",
    "rollout_group_or_error",
    "sample_seed",
    "train_off_policy",
    "train_stream",
    "train_sync",
    "trajectory_metrics",
    "trajectory_to_data",
]
