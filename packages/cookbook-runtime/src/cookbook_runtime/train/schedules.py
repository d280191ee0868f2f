"""Learning-rate schedules: a multiplier of the peak rate for each step.

Without warmup the multipliers are tinker-cookbook's (`compute_schedule_lr_multiplier`):
linear `1 - step/total`, cosine `0.5 * (1 + cos(pi * step/total))`, constant 1, so a
run moved between the two reaches the same learning rates. Warmup, when asked for,
ramps linearly up to the peak over its first steps and the decay then spans the rest.
"""

from __future__ import annotations

import math
from typing import Literal, TypeAlias

from cookbook_runtime.errors import ConfigError

__all__ = ["LrSchedule", "learning_rate_at", "lr_multiplier"]

LrSchedule: TypeAlias = Literal["constant", "linear", "cosine"]


def lr_multiplier(schedule: str, step: int, total_steps: int, *, warmup_steps: int = 0) -> float:
    """The fraction of the peak learning rate to use at 0-indexed `step` of `total_steps`."""
    if total_steps <= 0:
        raise ConfigError(f"learning-rate schedule needs total_steps > 0, got {total_steps}")
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    span = total_steps - warmup_steps
    progress = (step - warmup_steps) / span if span > 0 else 0.0
    if schedule == "constant":
        return 1.0
    if schedule == "linear":
        return 1.0 - progress
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ConfigError(f"unknown learning-rate schedule {schedule!r}; use constant, linear or cosine")


def learning_rate_at(
    peak: float, schedule: str, step: int, total_steps: int, *, warmup_steps: int = 0
) -> float:
    """The learning rate for `step`: `peak` times the schedule's multiplier."""
    return peak * lr_multiplier(schedule, step, total_steps, warmup_steps=warmup_steps)
