"""`reward_model`: an RL env whose reward is a trained reward model's score of the reply.

Prompts come from comparison rows (the prompt side of each pair; ties are skipped),
so the RL stage of an RLHF pipeline asks the questions the reward model was trained
on. The reward model is an earlier stage's `RewardModelRef` (`reward_model_stage`,
or the latest one published); each reply is parsed with the renderer, rendered
after its prompt and scored through `SamplingClient.compute_logprobs` of the reward
model's sampler (`RewardScorer`): `beta * mean (or sum) of the reply's logprobs`, less
those of the reward model's starting weights when its ref names them. The
RL loop then centres rewards within each group as for any env, so only how a reply
compares with its siblings matters. The sampler is opened on first use and closed
when the stage ends (`EnvContext.cleanups`).

Metrics per reply: `rm_score` (the reward), `format` (the reply ended with a stop
sequence) and, where a pair's chosen side is one message, `matches_chosen` (the
reply is exactly that text): a check, on data with one right answer such as
tiny-prefs, of whether a rising score means better replies or a hacked reward model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import ClassVar, cast

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cookbook_runtime.errors import ConfigError, DataError
from cookbook_runtime.framework import RewardModelRef
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.ports import Rows, SamplingClient, ServiceClient
from cookbook_runtime.train.preference.formats import COMPARISON_FORMATS, get_comparison_format
from cookbook_runtime.train.preference.reward_model import RewardScorer
from cookbook_runtime.train.preference.types import Message
from cookbook_runtime.train.renderers import Message as ChatMessage
from cookbook_runtime.train.renderers import Renderer
from cookbook_runtime.train.rl.envs import EnvContext
from cookbook_runtime.train.rl.types import (
    Action,
    Env,
    EnvGroupBuilder,
    Observation,
    RLDataset,
    StepResult,
    StopCondition,
)
from cookbook_runtime.train.types import ModelInput

__all__ = ["RewardModelEnv", "RewardModelOptions", "RewardModelRL", "SharedScorer"]


class SharedScorer:
    """One reward-model sampler for every env of a run, opened on first use."""

    def __init__(self, service: ServiceClient, ref: RewardModelRef, renderer: Renderer) -> None:
        self.service, self.ref, self.renderer = service, ref, renderer
        self._scorer: RewardScorer | None = None
        self._samplers: list[SamplingClient] = []
        self._lock = asyncio.Lock()

    async def _open(self) -> RewardScorer:
        async with self._lock:
            if self._scorer is None:
                sampler = await self.service.create_sampling_client(model_path=self.ref.sampler_path)
                self._samplers.append(sampler)
                reference = None
                if self.ref.reference_sampler_path is not None:
                    reference = await self.service.create_sampling_client(model_path=self.ref.reference_sampler_path)
                    self._samplers.append(reference)
                self._scorer = RewardScorer(sampler, self.renderer, self.ref.score, self.ref.beta, reference)
            return self._scorer

    async def __call__(self, prompt: Sequence[Message], reply: Sequence[Message]) -> float:
        """The reward model's score of `reply` to `prompt`."""
        return await (await self._open())(prompt, reply)

    async def close(self) -> None:
        """Close the samplers that were opened."""
        samplers, self._samplers, self._scorer = self._samplers, [], None
        for sampler in samplers:
            close = getattr(sampler, "close", None)
            if close is not None:
                await close()


class RewardModelEnv(Env):
    """Show a prompt, take one reply, reward it with the reward model's score."""

    def __init__(
        self, renderer: Renderer, prompt: Sequence[Message], scorer: SharedScorer, chosen: str | None = None
    ) -> None:
        self.renderer, self.prompt, self.scorer, self.chosen = renderer, list(prompt), scorer, chosen

    async def initial_observation(self) -> tuple[Observation, StopCondition]:
        prompt = cast("list[ChatMessage]", self.prompt)
        return self.renderer.build_generation_prompt(prompt), self.renderer.get_stop_sequences()

    async def step(self, action: Action) -> StepResult:
        parsed, termination = self.renderer.parse_response(action)
        message: Message = dict(parsed)
        score = await self.scorer(self.prompt, [message])
        metrics = {"rm_score": score, "format": float(termination == "stop")}
        if self.chosen is not None:
            metrics["matches_chosen"] = float(_text(message).strip() == self.chosen.strip())
        return StepResult(
            reward=score,
            episode_done=True,
            next_observation=ModelInput.empty(),
            next_stop_condition=self.renderer.get_stop_sequences(),
            metrics=metrics,
        )


def _text(message: Message) -> str:
    content = message.get("content", "")
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))


Prompt = tuple[list[Message], str | None]
"""A prompt and, where the pair's chosen side is one assistant message, its text."""


class _Group(EnvGroupBuilder):
    def __init__(self, renderer: Renderer, prompt: Prompt, scorer: SharedScorer, group_size: int) -> None:
        self.renderer, self.prompt, self.scorer, self.group_size = renderer, prompt, scorer, group_size

    async def make_envs(self) -> Sequence[Env]:
        messages, chosen = self.prompt
        return [RewardModelEnv(self.renderer, messages, self.scorer, chosen) for _ in range(self.group_size)]

    def logging_tags(self) -> list[str]:
        return ["reward_model"]


class _Batches(RLDataset):
    def __init__(
        self, prompts: list[Prompt], renderer: Renderer, scorer: SharedScorer, per_batch: int, group_size: int
    ) -> None:
        self.prompts, self.renderer, self.scorer = prompts, renderer, scorer
        self.per_batch, self.group_size = per_batch, group_size

    def get_batch(self, index: int) -> Sequence[EnvGroupBuilder]:
        chunk = self.prompts[index * self.per_batch : (index + 1) * self.per_batch]
        return [_Group(self.renderer, p, self.scorer, self.group_size) for p in chunk]

    def __len__(self) -> int:
        return len(self.prompts) // self.per_batch


class RewardModelOptions(BaseModel):
    """Where the prompts and the reward model come from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: DatasetRef = Field(description="Comparison rows; the prompt of each pair is an RL prompt.")
    comparison_format: str = Field(
        default="pairs", description=f"How a row becomes a comparison: one of {sorted(COMPARISON_FORMATS)}."
    )
    reward_model_stage: str | None = Field(
        default=None, description="Stage whose RewardModelRef scores replies; None: the latest one published."
    )
    max_prompts: int | None = Field(default=None, ge=1, description="Use at most this many training prompts.")
    test_prompts: int = Field(default=32, ge=0, description="Held-out prompts (one sample each); 0: no eval.")

    @model_validator(mode="after")
    def _check(self) -> RewardModelOptions:
        if self.comparison_format not in COMPARISON_FORMATS:
            known = ", ".join(sorted(COMPARISON_FORMATS))
            raise ValueError(f"unknown comparison_format {self.comparison_format!r}; known: {known}")
        return self


def _prompts(rows: Rows, comparison_format: str) -> list[Prompt]:
    row_format = get_comparison_format(comparison_format)
    out: list[Prompt] = []
    for row in rows:
        comparison = row_format(row)  # type: ignore[arg-type]
        if comparison is not None:
            chosen = _text(comparison.chosen[0]) if len(comparison.chosen) == 1 else None
            out.append(([dict(m) for m in comparison.prompt], chosen))  # type: ignore[misc]
    return out


class RewardModelRL:
    """Env factory `reward_model`."""

    name: ClassVar[str] = "reward_model"
    Options: ClassVar[type[BaseModel]] = RewardModelOptions

    def build(self, options: RewardModelOptions, ctx: EnvContext) -> tuple[RLDataset, RLDataset | None]:
        if ctx.service is None or ctx.artifact is None:
            raise ConfigError("env 'reward_model' needs the run's service and artifacts: run it from rl_train")
        ref: RewardModelRef = ctx.artifact(RewardModelRef, options.reward_model_stage)
        from cookbook_runtime.train.renderers import get_renderer

        scorer = SharedScorer(ctx.service, ref, get_renderer(ref.renderer, ctx.renderer.tokenizer))
        ctx.cleanups.append(scorer.close)
        data = options.dataset
        rows = ctx.datasets.open(data, data.split).shuffle(ctx.seed)
        test_rows = None
        if data.test_split is not None:
            test_rows = ctx.datasets.open(data, data.test_split)
        elif data.test_size > 0:
            test_rows, rows = rows.take(data.test_size), rows.skip(data.test_size)
        if options.max_prompts is not None:
            rows = rows.take(options.max_prompts)
        prompts = _prompts(rows, options.comparison_format)
        if len(prompts) < ctx.groups_per_batch:
            raise DataError(
                f"env 'reward_model': {len(prompts)} prompts cannot fill a batch of {ctx.groups_per_batch}; "
                "give more rows or lower groups_per_batch"
            )
        train = _Batches(prompts, ctx.renderer, scorer, ctx.groups_per_batch, ctx.group_size)
        test = None
        if test_rows is not None and options.test_prompts:
            held = _prompts(test_rows.take(options.test_prompts), options.comparison_format)
            if held:
                test = _Batches(held, ctx.renderer, scorer, len(held), 1)
        return train, test
