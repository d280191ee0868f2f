"""`RLConfig`: the loop settings every RL mode shares (hyper-parameters come from `TrainingConfig`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cookbook_runtime.train.rl.losses import RLLossName
from cookbook_runtime.train.rl.rollouts import RolloutErrorPolicy

__all__ = ["RLConfig", "StalePolicy"]

StalePolicy = Literal["requeue", "drop"]


@dataclass(frozen=True)
class RLConfig:
    """How rollouts are sampled, turned into data and trained on."""

    max_tokens: int = 64
    temperature: float = 1.0
    loss: RLLossName = "importance_sampling"
    clip_low: float = 0.8
    clip_high: float = 1.2
    dro_beta: float = 0.05
    kl_penalty_coef: float = 0.0
    """Coefficient of the KL penalty against the starting weights; 0 disables it."""
    num_substeps: int = 1
    """Optimizer steps per batch (the batch is split evenly)."""
    normalize_advantages_std: bool = False
    remove_constant_reward_groups: bool = False
    on_rollout_error: RolloutErrorPolicy = "raise"
    eval_temperature: float | None = None
    """Sampling temperature of held-out evaluation; None uses `temperature`."""
    eval_max_batches: int | None = None
    num_groups_to_log: int = 4
    """Groups per step written to `rollouts/<step>.jsonl`; 0 disables."""
    max_turns: int = 32
    num_minibatches: int = 1
    """Stream mode: forward_backward calls per batch, each as soon as its groups finish."""
    max_steps_off_policy: int = 1
    """Async mode: the oldest weights a trained group may come from, in steps behind."""
    sample_ahead: int | None = None
    """Async mode: batches sampled ahead of training (None: `max_steps_off_policy`)."""
    stale_policy: StalePolicy = "requeue"
    """Async mode: what happens to a group older than `max_steps_off_policy`."""
