"""Small test envs over the fakes: a single-turn letter task and a two-turn chat."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cookbook_runtime.testing import ByteTokenizer
from cookbook_runtime.train.renderers import Message, Renderer, get_renderer
from cookbook_runtime.train.rl import (
    Env,
    EnvFromMessageEnv,
    EnvGroupBuilder,
    MessageEnv,
    MessageStepResult,
    ProblemEnv,
    ProblemGroupBuilder,
    RLDataset,
)
from cookbook_runtime.train.types import SampledSequence, SampleResult

TOKENIZER = ByteTokenizer()


def renderer() -> Renderer:
    return get_renderer("qwen3_instruct", TOKENIZER)


class LetterEnv(ProblemEnv):
    """Correct when the reply starts with a letter from the first half of the alphabet."""

    def __init__(self, renderer: Renderer, index: int) -> None:
        super().__init__(renderer)
        self.index = index

    def get_question(self) -> str:
        return f"Say a word ({self.index})."

    def check_answer(self, response: str) -> bool:
        return bool(response) and response[0] <= "m"

    def check_format(self, response: str) -> bool:
        return response.isalpha()


class TwoTurnChat(MessageEnv):
    """Two user turns; reward is the reply's length parity each turn."""

    def initial_messages(self) -> list[Message]:
        return [{"role": "user", "content": "first?"}]

    async def step(self, message: Message) -> MessageStepResult:
        text = str(message["content"])
        if message.get("role") == "assistant" and not getattr(self, "_asked", False):
            self._asked = True
            return MessageStepResult(float(len(text) % 2), False, [{"role": "user", "content": "second?"}])
        return MessageStepResult(float(len(text) % 2), True)


class LetterDataset(RLDataset):
    def __init__(self, num_batches: int, groups_per_batch: int, group_size: int, *, offset: int = 0) -> None:
        self.num_batches = num_batches
        self.groups_per_batch = groups_per_batch
        self.group_size = group_size
        self.offset = offset
        self.renderer = renderer()

    def get_batch(self, index: int) -> Sequence[EnvGroupBuilder]:
        out = []
        for g in range(self.groups_per_batch):
            problem = self.offset + index * self.groups_per_batch + g

            def thunk(problem: int = problem) -> Env:
                return LetterEnv(self.renderer, problem)

            out.append(ProblemGroupBuilder(thunk, self.group_size, "letters"))
        return out

    def __len__(self) -> int:
        return self.num_batches


class FailingBuilder(EnvGroupBuilder):
    async def make_envs(self) -> Sequence[Env]:
        raise RuntimeError("env server is down")


def two_turn_env() -> Env:
    return EnvFromMessageEnv(TwoTurnChat(), renderer())


class ScriptedSampler:
    """Always answers `reply` followed by the end-of-turn token."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[list[int]] = []

    async def sample(self, prompt: Any, num_samples: int, params: Any) -> SampleResult:
        self.prompts.append(prompt.to_ints())
        tokens = [*TOKENIZER.encode(self.reply), TOKENIZER.eos_token_id]
        return SampleResult([SampledSequence(list(tokens), [-0.5] * len(tokens), "stop") for _ in range(num_samples)])

    async def compute_logprobs(self, prompt: Any) -> list[float | None]:
        return [None] + [-1.0] * (prompt.length - 1)

    def tokenizer(self) -> ByteTokenizer:
        return TOKENIZER
