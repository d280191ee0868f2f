"""`evaluate_exact_match`: the share of held-out prompts the trained weights answer exactly.

Runs after training: every held-out prompt is answered greedily through the run's
renderer and compared with its reference (see `ExactMatchEvaluator`). The held-out
split is the training config's `test_split` (or its held-out slice), whose rows are
either chats ending in the reference reply or `{prompt, answer}` objects. Every
answer is written to `exact_match.json` in the run directory, so a score can be
checked by reading what the model said.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cookbook_runtime.framework import Context
from cookbook_runtime.train.evaluators import ExactMatchEvaluator, qa_examples
from cookbook_runtime.train.stages._common import (
    held_out_rows,
    renderer_for,
    renderer_name_for,
    require_dataset,
    require_training,
    sampler_path_for,
)

__all__ = ["EvaluateExactMatchOptions", "EvaluateExactMatchStage"]

logger = logging.getLogger(__name__)

RECORDS_FILE = "exact_match.json"


class EvaluateExactMatchOptions(BaseModel):
    """Which weights answer, how many held-out prompts, and how long a reply may be."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sampler_path: str | None = Field(
        default=None,
        description="Sampler weights; None takes `train_stage`'s final weights, else the run's last checkpoint.",
    )
    train_stage: str = Field(default="supervised_train", description="Stage whose final sampler weights are used.")
    max_examples: int | None = Field(default=None, ge=1, description="Evaluate at most this many held-out rows.")
    max_tokens: int = Field(default=64, ge=1, description="Cap on each reply's tokens.")
    prompt_field: str = Field(default="prompt", description="Row field holding the prompt (prompt/answer rows).")
    answer_field: str = Field(default="answer", description="Row field holding the reference answer.")


class EvaluateExactMatchStage:
    """Greedy exact match of the held-out split under the trained sampler weights."""

    name: ClassVar[str] = "evaluate_exact_match"
    Options: ClassVar[type[BaseModel]] = EvaluateExactMatchOptions

    async def run(self, ctx: Context, options: EvaluateExactMatchOptions) -> dict[str, Any]:
        training = require_training(ctx, self.name)
        ref = require_dataset(training, self.name)
        sampler_path = sampler_path_for(ctx, self.name, options.sampler_path, options.train_stage)
        examples = qa_examples(
            held_out_rows(ctx.ports.datasets, ref, training.seed),
            messages_field=ref.messages_field,
            prompt_field=options.prompt_field,
            answer_field=options.answer_field,
            limit=options.max_examples,
        )
        client = await ctx.ports.service.create_sampling_client(model_path=sampler_path)
        try:
            renderer = renderer_for(renderer_name_for(training), client.tokenizer())
            evaluator = ExactMatchEvaluator(examples, renderer, max_tokens=options.max_tokens)
            result = await evaluator.evaluate(client)
        finally:
            await client.close()
        ctx.run_dir.write_json(
            RECORDS_FILE, {"correct": result.correct, "total": result.total, "records": result.records}
        )
        logger.info("exact match: %d/%d", result.correct, result.total)
        return {
            "exact_match": result.score,
            "correct": result.correct,
            "total": result.total,
            "split": ref.test_split or ref.split,
            "sampler_path": sampler_path,
        }
