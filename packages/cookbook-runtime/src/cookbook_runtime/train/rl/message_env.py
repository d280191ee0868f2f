"""`MessageEnv`: multi-turn chat environments written in messages, not tokens.

An env author thinks in turns: here is the conversation so far, here is what the
model said, here is the reply (feedback, a tool result) and the reward.
`EnvFromMessageEnv` turns that into a token-level `Env` with a renderer: it renders
the history into each observation and parses each sampled action back into a
message. A reply that fails to parse ends the episode with `parse_error_reward`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from cookbook_runtime.train.renderers import Message, Renderer
from cookbook_runtime.train.rl.types import (
    Action,
    Env,
    Metrics,
    Observation,
    StepResult,
    StopCondition,
)
from cookbook_runtime.train.types import ModelInput

__all__ = ["EnvFromMessageEnv", "MessageEnv", "MessageStepResult"]


@dataclass(frozen=True)
class MessageStepResult:
    """The env's answer to one assistant message."""

    reward: float
    episode_done: bool
    next_messages: list[Message] = field(default_factory=list)
    """Messages appended after the assistant's (a user reply, a tool result)."""
    metrics: Metrics = field(default_factory=dict)


class MessageEnv(ABC):
    """A multi-turn chat episode over messages."""

    @abstractmethod
    def initial_messages(self) -> list[Message]:
        """The conversation the model answers first (system, user, ...)."""

    @abstractmethod
    async def step(self, message: Message) -> MessageStepResult:
        """React to one parsed assistant message."""


class EnvFromMessageEnv(Env):
    """A token-level `Env` over a `MessageEnv`, rendering with `renderer`.

    `max_turns` ends an episode that the env would let run on; the history grows by
    whole messages, so with a renderer that has the extension property every
    observation extends the previous one and the turns merge into one datum.
    """

    def __init__(
        self,
        env: MessageEnv,
        renderer: Renderer,
        *,
        max_turns: int = 8,
        parse_error_reward: float = -1.0,
    ) -> None:
        self.env = env
        self.renderer = renderer
        self.max_turns = max_turns
        self.parse_error_reward = parse_error_reward
        self.history: list[Message] = []
        self.turns = 0

    async def initial_observation(self) -> tuple[Observation, StopCondition]:
        self.history = list(self.env.initial_messages())
        return self.renderer.build_generation_prompt(self.history), self.renderer.get_stop_sequences()

    async def step(self, action: Action) -> StepResult:
        self.turns += 1
        stop = self.renderer.get_stop_sequences()
        message, termination = self.renderer.parse_response(action)
        if termination == "malformed":
            return StepResult(self.parse_error_reward, True, ModelInput.empty(), stop, {"parse_error": 1.0})
        self.history.append(message)
        result = await self.env.step(message)
        self.history.extend(result.next_messages)
        done = result.episode_done or self.turns >= self.max_turns
        metrics = {"parse_error": 0.0, **result.metrics}
        next_ob = ModelInput.empty() if done else self.renderer.build_generation_prompt(self.history)
        return StepResult(result.reward, done, next_ob, stop, metrics)
