"""`evaluate_nll`: held-out NLL of trained (or base) weights, as its own stage."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from cookbook_runtime.framework import Context, EvalResultRef
from cookbook_runtime.train.data import SupervisedDataset
from cookbook_runtime.train.evaluators import NllEvaluator
from cookbook_runtime.train.stages._common import (
    checkpoint_of,
    held_out_rows,
    make_to_datum,
    renderer_for,
    renderer_name_for,
    require_dataset,
    require_training,
)

__all__ = ["EvaluateNllOptions", "EvaluateNllStage"]


class EvaluateNllOptions(BaseModel):
    """Which weights to evaluate and on how much held-out data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state_path: str | None = Field(
        default=None,
        description="Saved state to evaluate; None takes `train_stage`'s final state, else the base model.",
    )
    train_stage: str = Field(default="supervised_train", description="Stage whose final state is evaluated.")
    batch_size: int = Field(default=32, ge=1, description="Sequences per forward pass.")
    max_batches: int | None = Field(default=None, ge=1, description="Evaluate at most this many batches.")
    train_on_what: str = Field(default="all_assistant_messages", description="Which tokens the NLL counts.")
    weight_reduction: Literal["none", "mean"] = Field(
        default="mean", description="'mean' weighs every example equally; 'none' every token."
    )


class EvaluateNllStage:
    """Mean NLL of the held-out split under a saved state (or the base model)."""

    name: ClassVar[str] = "evaluate_nll"
    Options: ClassVar[type[BaseModel]] = EvaluateNllOptions

    async def run(self, ctx: Context, options: EvaluateNllOptions) -> dict[str, Any]:
        training = require_training(ctx, self.name)
        ref = require_dataset(training, self.name)
        service = ctx.ports.service
        trained = checkpoint_of(ctx, options.train_stage)
        state_path = options.state_path or (trained.state_path if trained is not None else None)
        if state_path:
            client = await service.create_training_client_from_state(str(state_path), with_optimizer=False)
        else:
            client = await service.create_lora_training_client(training.model.name, rank=training.lora_rank)
        try:
            renderer = renderer_for(renderer_name_for(training), client.tokenizer())
            dataset = SupervisedDataset(
                held_out_rows(ctx.ports.datasets, ref, training.seed),
                make_to_datum(renderer, training, options.train_on_what, options.weight_reduction),
                batch_size=options.batch_size,
                name=ref.name,
                split=ref.test_split or ref.split,
                messages_field=ref.messages_field,
                skip_malformed=ref.skip_malformed,
                shuffle=False,
                drop_last=False,
            )
            metrics = await NllEvaluator(dataset, max_batches=options.max_batches)(client)
        finally:
            await client.close()
        ctx.publish(EvalResultRef(metrics={"nll": metrics["test/nll"]}, checkpoint=state_path))
        return {"nll": metrics["test/nll"], "state_path": state_path, "split": dataset.split}
