"""`sample`: one completion from the trained sampler weights for a held-out prompt.

A quick look at what training produced: the prompt goes through the same renderer
the model was trained with, and the reply is parsed back into an assistant message.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import Context
from cookbook_runtime.train.data import conversation_from_row
from cookbook_runtime.train.stages._common import (
    held_out_rows,
    renderer_for,
    renderer_name_for,
    require_dataset,
    require_training,
    sampler_path_for,
)
from cookbook_runtime.types import SamplingParams

__all__ = ["SampleOptions", "SampleStage"]

logger = logging.getLogger(__name__)


class SampleOptions(BaseModel):
    """What to ask and how to sample."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str | None = Field(
        default=None, description="User message to answer; None takes the first held-out conversation."
    )
    sampler_path: str | None = Field(
        default=None,
        description="Sampler weights; None takes `train_stage`'s final weights, else the run's last checkpoint.",
    )
    train_stage: str = Field(default="supervised_train", description="Stage whose final sampler weights are used.")
    max_tokens: int = Field(default=64, ge=1, description="Cap on generated tokens.")
    temperature: float = Field(default=0.0, ge=0, description="Sampling temperature; 0 is greedy.")
    seed: int = Field(default=0, description="Sampling seed.")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))


class SampleStage:
    """Samples a reply to a held-out prompt from the final sampler weights."""

    name: ClassVar[str] = "sample"
    Options: ClassVar[type[BaseModel]] = SampleOptions

    def _messages(self, ctx: Context, options: SampleOptions) -> list[dict[str, Any]]:
        if options.prompt is not None:
            return [{"role": "user", "content": options.prompt}]
        training = require_training(ctx, self.name)
        ref = require_dataset(training, self.name)
        for index, row in enumerate(held_out_rows(ctx.ports.datasets, ref, training.seed).take(1)):
            messages = conversation_from_row(
                row, messages_field=ref.messages_field, dataset=ref.name, split=ref.test_split or ref.split, index=index
            )
            last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
            if last_user is not None:
                return messages[: last_user + 1]
        raise ConfigError(f"stage 'sample' found no held-out conversation in {ref.name!r}; set prompt")

    async def run(self, ctx: Context, options: SampleOptions) -> dict[str, Any]:
        training = require_training(ctx, self.name)
        sampler_path = sampler_path_for(ctx, self.name, options.sampler_path, options.train_stage)
        messages = self._messages(ctx, options)
        client = await ctx.ports.service.create_sampling_client(model_path=sampler_path)
        renderer = renderer_for(renderer_name_for(training), client.tokenizer())
        params = SamplingParams(
            max_tokens=options.max_tokens,
            temperature=options.temperature,
            stop=renderer.get_stop_sequences(),
            seed=options.seed,
        )
        result = await client.sample(renderer.build_generation_prompt(messages), 1, params)  # type: ignore[arg-type]
        reply, _ = renderer.parse_response(result.sequences[0].tokens)
        outputs = {
            "prompt": _text(messages[-1]["content"]),
            "completion": _text(reply["content"]),
            "sampler_path": sampler_path,
        }
        ctx.run_dir.write_json("sample.json", {**outputs, "messages": messages})
        logger.info("sample: %r -> %r", outputs["prompt"], outputs["completion"])
        return outputs
