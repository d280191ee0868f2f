"""From trajectory groups to training data: advantages, constant groups, datums.

Advantages are each trajectory's total reward minus its group's mean
(tinker-cookbook's choice); `normalize_std=True` also divides by the group's
standard deviation (GRPO). A group whose rewards are all equal has zero advantage
everywhere and only costs compute; `remove_constant_reward_groups` drops such
groups (keeping one if all are constant, so a step always has data).

A trajectory becomes as few datums as possible: while each observation extends
the previous observation plus action (a chat history that only grows), the turns
share one sequence; otherwise a new datum starts. Observation tokens get weight 0
(mask 0, advantage 0, logprob 0); action tokens carry the sampled logprobs, for
importance sampling, and the trajectory's advantage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cookbook_runtime.errors import DataError
from cookbook_runtime.train.rl.types import Trajectory, TrajectoryGroup
from cookbook_runtime.train.types import Datum, ModelInput, TensorData

__all__ = [
    "RLBatch",
    "assemble_batch",
    "compute_advantages",
    "is_constant_group",
    "remove_constant_reward_groups",
    "trajectory_to_data",
]


def compute_advantages(groups: Sequence[TrajectoryGroup], *, normalize_std: bool = False) -> list[list[float]]:
    """Per group, each trajectory's reward minus the group mean (divided by the std if asked)."""
    out: list[list[float]] = []
    for group in groups:
        rewards = group.total_rewards()
        mean = math.fsum(rewards) / len(rewards) if rewards else 0.0
        centered = [r - mean for r in rewards]
        if normalize_std and rewards:
            std = math.sqrt(math.fsum(c * c for c in centered) / len(rewards))
            centered = [c / (std + 1e-6) for c in centered] if std > 0 else [0.0] * len(centered)
        out.append(centered)
    return out


def is_constant_group(group: TrajectoryGroup) -> bool:
    """Whether every trajectory of the group got the same total reward."""
    rewards = group.total_rewards()
    return all(math.isclose(r, rewards[0], rel_tol=0.0, abs_tol=1e-12) for r in rewards)


def remove_constant_reward_groups(groups: Sequence[TrajectoryGroup]) -> list[TrajectoryGroup]:
    """Groups with some reward spread; the first group alone if every group is constant."""
    kept = [g for g in groups if not is_constant_group(g)]
    if not kept and groups:
        return [groups[0]]
    return kept


def _ints(ob: ModelInput) -> list[int]:
    try:
        return ob.to_ints()
    except ValueError:
        raise DataError("RL observations must be text-only here; this one holds an image chunk") from None


def _datum(tokens: list[int], logprobs: list[float], advantages: list[float], mask: list[float]) -> tuple[Datum, list[float]]:
    # position t predicts token t+1: inputs drop the last token, targets the first
    datum = Datum(
        ModelInput.from_ints(tokens[:-1]),
        {
            "target_tokens": TensorData.from_list(tokens[1:], "int64"),
            "logprobs": TensorData.from_list(logprobs[1:], "float32"),
            "advantages": TensorData.from_list(advantages[1:], "float32"),
        },
    )
    return datum, mask[1:]


def trajectory_to_data(trajectory: Trajectory, advantage: float) -> list[tuple[Datum, list[float]]]:
    """The datums of one trajectory, each with its action mask (1 on sampled tokens)."""
    out: list[tuple[Datum, list[float]]] = []
    tokens: list[int] = []
    logprobs: list[float] = []
    advantages: list[float] = []
    mask: list[float] = []

    def flush() -> None:
        if len(tokens) >= 2 and any(mask[1:]):
            out.append(_datum(tokens, logprobs, advantages, mask))
        for part in (tokens, logprobs, advantages, mask):
            part.clear()

    for transition in trajectory.transitions:
        ob = _ints(transition.ob)
        if tokens and ob[: len(tokens)] == tokens:
            new = ob[len(tokens) :]
        else:
            flush()
            new = ob
        tokens.extend(new)
        logprobs.extend([0.0] * len(new))
        advantages.extend([0.0] * len(new))
        mask.extend([0.0] * len(new))
        ac = transition.ac
        if len(ac.logprobs) != len(ac.tokens):
            raise DataError(f"an action has {len(ac.tokens)} tokens but {len(ac.logprobs)} logprobs")
        tokens.extend(ac.tokens)
        logprobs.extend(ac.logprobs)
        advantages.extend([advantage] * len(ac.tokens))
        mask.extend([1.0] * len(ac.tokens))
    flush()
    return out


@dataclass
class RLBatch:
    """Datums ready for `forward_backward`, with the action mask of each (kept client-side)."""

    data: list[Datum]
    masks: list[list[float]]
    group_index: list[int]
    """Which of the step's groups each datum came from."""

    def __len__(self) -> int:
        return len(self.data)


def assemble_batch(groups: Sequence[TrajectoryGroup], advantages: Sequence[Sequence[float]]) -> RLBatch:
    """All datums of the groups; trajectories with zero advantage still train (their KL terms may not be zero)."""
    batch = RLBatch([], [], [])
    for g, (group, advs) in enumerate(zip(groups, advantages, strict=True)):
        for trajectory, adv in zip(group.trajectories, advs, strict=True):
            for datum, mask in trajectory_to_data(trajectory, adv):
                batch.data.append(datum)
                batch.masks.append(mask)
                batch.group_index.append(g)
    return batch
