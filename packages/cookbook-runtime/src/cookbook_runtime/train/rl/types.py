"""The RL vocabulary: environments, the groups they are rolled out in, and trajectories.

An `Env` is one episode, used once: it shows an observation, takes the sampled
tokens of each action and answers with a reward. Envs come in groups built by an
`EnvGroupBuilder` (the G samples of one prompt that GRPO-style advantages compare),
and an `RLDataset` hands out the builders of one batch by index, deterministically,
so a resumed run sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from cookbook_runtime.train.types import ModelInput

__all__ = [
    "Action",
    "Env",
    "EnvGroupBuilder",
    "Metrics",
    "Observation",
    "RLDataset",
    "StepResult",
    "StopCondition",
    "TokensWithLogprobs",
    "Trajectory",
    "TrajectoryGroup",
    "Transition",
]

Action: TypeAlias = list[int]
Observation: TypeAlias = ModelInput
StopCondition: TypeAlias = list[str] | list[int]
"""Stop strings or stop token ids for the next sampled action (the renderer's stop sequences)."""
Metrics: TypeAlias = dict[str, float]


@dataclass(frozen=True)
class StepResult:
    """What an env answers to one action."""

    reward: float
    episode_done: bool
    next_observation: Observation
    next_stop_condition: StopCondition
    metrics: Metrics = field(default_factory=dict)


class Env(ABC):
    """One episode. Single use: `initial_observation` once, then `step` until done."""

    @abstractmethod
    async def initial_observation(self) -> tuple[Observation, StopCondition]:
        """The first prompt and what ends the first action."""

    @abstractmethod
    async def step(self, action: Action) -> StepResult:
        """Take the sampled tokens of one action; return the reward and what comes next."""


@dataclass(frozen=True)
class TokensWithLogprobs:
    """A sampled action: its tokens and the sampler's logprob of each."""

    tokens: list[int]
    logprobs: list[float]
    stop_reason: str = "stop"


@dataclass(frozen=True)
class Transition:
    """One turn: the observation shown, the action sampled, and the env's answer."""

    ob: Observation
    ac: TokensWithLogprobs
    reward: float
    episode_done: bool
    metrics: Metrics = field(default_factory=dict)


@dataclass(frozen=True)
class Trajectory:
    """A whole episode; `final_ob` is the observation after the last action."""

    transitions: list[Transition]
    final_ob: Observation

    @property
    def total_step_reward(self) -> float:
        return sum(t.reward for t in self.transitions)


@dataclass(frozen=True)
class TrajectoryGroup:
    """The trajectories of one env group, with per-trajectory group rewards and metrics."""

    trajectories: list[Trajectory]
    final_rewards: list[float]
    metrics: list[Metrics]
    tags: list[str] = field(default_factory=list)

    def total_rewards(self) -> list[float]:
        """Step rewards plus the group reward, per trajectory."""
        return [
            t.total_step_reward + r for t, r in zip(self.trajectories, self.final_rewards, strict=True)
        ]


class EnvGroupBuilder(ABC):
    """Builds the envs of one group and scores the group as a whole."""

    @abstractmethod
    async def make_envs(self) -> Sequence[Env]:
        """Fresh envs for one group (e.g. G copies of one problem)."""

    async def compute_group_rewards(
        self, trajectories: Sequence[Trajectory], envs: Sequence[Env]
    ) -> list[tuple[float, Metrics]]:
        """Reward and metrics per trajectory from the whole group (pairwise judges); zero by default."""
        return [(0.0, {}) for _ in trajectories]

    def logging_tags(self) -> list[str]:
        """Names the group's metrics are also reported under (`env/<tag>/...`)."""
        return []


class RLDataset(ABC):
    """Batches of env group builders, deterministic by index."""

    @abstractmethod
    def get_batch(self, index: int) -> Sequence[EnvGroupBuilder]:
        """The builders of batch `index`; the same index always gives the same problems."""

    @abstractmethod
    def __len__(self) -> int:
        """How many batches there are."""
