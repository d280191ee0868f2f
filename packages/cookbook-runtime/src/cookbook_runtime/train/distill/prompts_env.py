"""`prompts`: a prompt-only env over a chat dataset, the usual source for distillation.

Each row's conversation, up to (not including) its last assistant message, is the
prompt; the student's reply ends the episode with reward 0, because in
distillation the teacher, not a reward, says how good the reply was. Batches are
deterministic by index (rows shuffled once by the run's seed); the held-out set is
`test_split`, or the first `test_size` shuffled rows, as in the supervised stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cookbook_runtime.errors import DataError
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.train.renderers import Message, Renderer
from cookbook_runtime.train.rl.envs import EnvContext, register_env
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

__all__ = ["PromptOnlyEnv", "PromptsOptions", "PromptsRL", "prompt_messages"]


def prompt_messages(row: dict[str, Any], field: str = "messages") -> list[Message]:
    """The row's conversation without its final assistant reply (the prompt the teacher would answer)."""
    messages = row.get(field)
    if not isinstance(messages, list) or not messages:
        raise DataError(f"a row has no {field!r} list; give chat rows ({{'{field}': [...]}})")
    if messages[-1].get("role") == "assistant":
        messages = messages[:-1]
    if not messages:
        raise DataError("a row holds only an assistant message; a prompt needs a user turn")
    return [dict(m) for m in messages]  # type: ignore[misc]


class PromptOnlyEnv(Env):
    """Show a prompt, take one reply, reward 0."""

    def __init__(self, renderer: Renderer, messages: Sequence[Message]) -> None:
        self.renderer = renderer
        self.messages = list(messages)

    async def initial_observation(self) -> tuple[Observation, StopCondition]:
        return self.renderer.build_generation_prompt(self.messages), self.renderer.get_stop_sequences()

    async def step(self, action: Action) -> StepResult:
        return StepResult(
            reward=0.0,
            episode_done=True,
            next_observation=ModelInput.empty(),
            next_stop_condition=self.renderer.get_stop_sequences(),
        )


class _PromptGroup(EnvGroupBuilder):
    def __init__(self, renderer: Renderer, messages: list[Message], group_size: int) -> None:
        self.renderer, self.messages, self.group_size = renderer, messages, group_size

    async def make_envs(self) -> Sequence[Env]:
        return [PromptOnlyEnv(self.renderer, self.messages) for _ in range(self.group_size)]

    def logging_tags(self) -> list[str]:
        return ["prompts"]


class _PromptBatches(RLDataset):
    def __init__(self, prompts: list[list[Message]], renderer: Renderer, per_batch: int, group_size: int) -> None:
        self.prompts, self.renderer, self.per_batch, self.group_size = prompts, renderer, per_batch, group_size

    def get_batch(self, index: int) -> Sequence[EnvGroupBuilder]:
        chunk = self.prompts[index * self.per_batch : (index + 1) * self.per_batch]
        return [_PromptGroup(self.renderer, p, self.group_size) for p in chunk]

    def __len__(self) -> int:
        return len(self.prompts) // self.per_batch


class PromptsOptions(BaseModel):
    """Where the prompts come from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: DatasetRef = Field(description="Chat dataset; each row's conversation minus its last reply is a prompt.")
    max_prompts: int | None = Field(default=None, ge=1, description="Use at most this many training prompts.")
    test_prompts: int = Field(default=32, ge=0, description="Held-out prompts (one sample each); 0: no eval.")


@register_env
class PromptsRL:
    """Env factory `prompts`."""

    name: ClassVar[str] = "prompts"
    Options: ClassVar[type[BaseModel]] = PromptsOptions

    def build(self, options: PromptsOptions, ctx: EnvContext) -> tuple[RLDataset, RLDataset | None]:
        ref = options.dataset
        field = ref.messages_field
        rows = ctx.datasets.open(ref, ref.split).shuffle(ctx.seed)
        test_rows = None
        if ref.test_split is not None:
            test_rows = ctx.datasets.open(ref, ref.test_split)
        elif ref.test_size > 0:
            test_rows = rows.take(ref.test_size)
            rows = rows.skip(ref.test_size)
        if options.max_prompts is not None:
            rows = rows.take(options.max_prompts)
        prompts = [prompt_messages(r, field) for r in rows]
        if len(prompts) < ctx.groups_per_batch:
            raise DataError(
                f"env 'prompts': {len(prompts)} prompts cannot fill a batch of {ctx.groups_per_batch}; "
                "give more rows or lower groups_per_batch"
            )
        train = _PromptBatches(prompts, ctx.renderer, ctx.groups_per_batch, ctx.group_size)
        test = None
        if test_rows is not None and options.test_prompts:
            held = [prompt_messages(r, field) for r in test_rows.take(options.test_prompts)]
            if held:
                test = _PromptBatches(held, ctx.renderer, len(held), 1)
        return train, test
