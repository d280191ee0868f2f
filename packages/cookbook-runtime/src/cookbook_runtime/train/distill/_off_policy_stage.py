"""`distill_off_policy`: soft-target distillation through the supervised loop.

Before training, every conversation (the dataset's own completion, or a reply the
teacher generates for its prompt) is rendered and scored by the teacher, and
becomes an `(N, K)` soft-target datum (see `soft_targets`); the supervised loop
then trains on those datums with `cross_entropy` (checkpoints and resume are its
own). The labelled rows are held in memory, so `max_rows` bounds a large dataset.
The held-out teacher KL (top-K, per completion token) is measured on the starting
and the final weights with a forward pass and reported as before -> after.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import Context, EarlierStage
from cookbook_runtime.ir import Experiment, TrainingConfig
from cookbook_runtime.ports import Ports, Rows, SamplingClient, ServiceClient, is_configured
from cookbook_runtime.train.data import SupervisedDataset
from cookbook_runtime.train.distill.prompts_env import prompt_messages
from cookbook_runtime.train.distill.soft_targets import (
    align_rows,
    soft_target_datum,
    teacher_topk,
    topk_kl,
)
from cookbook_runtime.train.distill.teacher import TeacherSpec, open_teacher, resolve_teacher
from cookbook_runtime.train.loops.supervised import train_supervised
from cookbook_runtime.train.metrics import setup_metric_loggers
from cookbook_runtime.train.renderers import Renderer
from cookbook_runtime.train.rl.problem_env import message_text
from cookbook_runtime.train.stages._common import (
    check_train_on_what,
    make_to_datum,
    override_training,
    publish_checkpoint,
    renderer_for,
    renderer_name_for,
    require_dataset,
    require_training,
    start_state_path,
)
from cookbook_runtime.train.types import Datum, SamplingParams

__all__ = ["DistillOffPolicyOptions", "DistillOffPolicyStage", "SoftTargetDataset", "heldout_teacher_kl"]

logger = logging.getLogger(__name__)


class SoftTargetDataset(SupervisedDataset):
    """A supervised dataset whose rows were labelled by a teacher in advance (index -> soft datum)."""

    def __init__(self, rows: Rows, labelled: dict[int, Datum], **kwargs: Any) -> None:
        super().__init__(rows, lambda _m: None, **kwargs)  # type: ignore[arg-type,return-value]
        self.labelled = labelled

    def _convert(self, row: Any, index: int) -> Datum | None:
        return self.labelled.get(index)


class DistillOffPolicyOptions(BaseModel):
    """Settings of `distill_off_policy`; hyper-parameters and the dataset come from the training config."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    teacher: TeacherSpec = Field(description="The teacher (same tokenizer as the student).")
    topk: int = Field(default=20, ge=1, description="Teacher tokens kept per position (tinker-cookbook: 20).")
    completions: Literal["dataset", "teacher"] = Field(
        default="dataset", description="Score the dataset's own replies, or replies the teacher generates."
    )
    max_tokens: int = Field(default=256, ge=1, description="completions='teacher': cap on a generated reply.")
    temperature: float = Field(default=1.0, ge=0, description="completions='teacher': sampling temperature.")
    teacher_system_prompt: str | None = Field(
        default=None,
        description=(
            "Prompt distillation: the teacher sees this system message before each prompt (when writing and "
            "scoring replies); the student learns to answer the same way without it."
        ),
    )
    train_on_what: str = Field(default="all_assistant_messages", description="Which tokens carry the soft targets.")
    max_rows: int | None = Field(default=None, ge=1, description="Label and train on at most this many rows.")
    test_rows: int = Field(default=64, ge=0, description="Held-out rows for the teacher KL; 0: none.")
    teacher_concurrency: int = Field(default=64, ge=1, description="Teacher requests in flight at once.")
    lookahead: int = Field(default=1, ge=0, description="Batches queued beyond the one being waited on.")
    training: dict[str, JsonValue] = Field(default_factory=dict, description="Training-config overrides.")
    init_from_stage: Annotated[str | None, EarlierStage()] = Field(
        default=None, description="Start the student from this earlier stage's final_state_path."
    )

    @model_validator(mode="after")
    def _check(self) -> DistillOffPolicyOptions:
        check_train_on_what(self.train_on_what)
        unknown = sorted(set(self.training) - set(TrainingConfig.model_fields))
        if unknown:
            raise ValueError(f"training overrides {unknown} are not training-config fields")
        return self


async def _label(
    rows: Rows, to_datum: Any, renderer: Renderer, teacher: SamplingClient, options: DistillOffPolicyOptions,
    *, field: str, seed: int,
) -> dict[int, Datum]:
    limit = asyncio.Semaphore(options.teacher_concurrency)

    async def one(index: int, row: dict[str, Any]) -> tuple[int, Datum]:
        async with limit:
            messages = list(row[field]) if options.completions == "dataset" else prompt_messages(row, field)
            system = options.teacher_system_prompt
            prefix: list[Any] = [{"role": "system", "content": system}] if system else []
            if options.completions == "teacher":
                params = SamplingParams(max_tokens=options.max_tokens, temperature=options.temperature,
                                        stop=renderer.get_stop_sequences(), seed=seed + index)
                out = await teacher.sample(renderer.build_generation_prompt([*prefix, *messages]), 1, params)
                reply, _ = renderer.parse_response(out.sequences[0].tokens)
                messages = [*messages, {"role": "assistant", "content": message_text(reply)}]
            hard = to_datum(messages)
            if not prefix:
                return index, soft_target_datum(hard, await teacher_topk(teacher, hard, options.topk), options.topk)
            seen = to_datum([*prefix, *messages])
            rows = align_rows(seen, await teacher_topk(teacher, seen, options.topk), hard)
            return index, soft_target_datum(hard, rows, options.topk)

    pairs = await asyncio.gather(*(one(i, r) for i, r in enumerate(rows)))
    return dict(pairs)


async def heldout_teacher_kl(
    service: ServiceClient, training: TrainingConfig, state_path: str | None, data: list[Datum], batch: int
) -> float:
    """Mean top-K teacher KL per completion token of the weights at `state_path` (the base model when None)."""
    if state_path:
        client = await service.create_training_client_from_state(state_path, with_optimizer=False)
    else:
        client = await service.create_lora_training_client(
            training.model.name, rank=training.lora_rank, seed=training.seed
        )
    total, count = 0.0, 0
    try:
        for start in range(0, len(data), batch):
            part = data[start : start + batch]
            out = await (await client.forward(part, "cross_entropy")).result()
            for datum, o in zip(part, out.loss_fn_outputs, strict=True):
                s, n = topk_kl(datum, o["logprobs"])
                total, count = total + s, count + n
    finally:
        await client.close()
    return total / count if count else 0.0


class DistillOffPolicyStage:
    """Trains the student on a teacher's top-K distributions over given or teacher-written replies."""

    name: ClassVar[str] = "distill_off_policy"
    Options: ClassVar[type[BaseModel]] = DistillOffPolicyOptions

    async def preflight(self, experiment: Experiment, ports: Ports, options: DistillOffPolicyOptions) -> None:
        """Before the run directory exists: a dataset is set (`validate` checked the stage references)."""
        require_dataset(override_training(require_training(experiment, self.name), options.training, self.name),
                        self.name)

    def _training(self, ctx: Context, options: DistillOffPolicyOptions) -> TrainingConfig:
        training = override_training(require_training(ctx, self.name), options.training, self.name)
        if options.init_from_stage is None:
            return training
        found = start_state_path(ctx, self.name, options.init_from_stage, training)
        return training.model_copy(update={"model": training.model.model_copy(update={"load_checkpoint_path": found})})

    async def run(self, ctx: Context, options: DistillOffPolicyOptions) -> dict[str, Any]:
        training = self._training(ctx, options)
        ref = require_dataset(training, self.name)
        service = ctx.ports.service
        renderer_name = renderer_name_for(training)
        renderer = renderer_for(renderer_name, service.get_tokenizer(training.model.name))
        to_datum = make_to_datum(renderer, training, options.train_on_what, "mean")
        rows = ctx.ports.datasets.open(ref, ref.split).shuffle(training.seed)
        test_rows: Rows | None = None
        if ref.test_split is not None:
            test_rows = ctx.ports.datasets.open(ref, ref.test_split)
        elif ref.test_size > 0:
            test_rows, rows = rows.take(ref.test_size), rows.skip(ref.test_size)
        if options.max_rows is not None:
            rows = rows.take(options.max_rows)
        spec = resolve_teacher(options.teacher, ctx, self.name)
        teacher = await open_teacher(service, spec)
        field = ref.messages_field
        try:
            labelled = await _label(rows, to_datum, renderer, teacher, options, field=field, seed=training.seed)
            held: list[Datum] = []
            if test_rows is not None and options.test_rows:
                held_map = await _label(test_rows.take(options.test_rows), to_datum, renderer, teacher, options,
                                        field=field, seed=training.seed + 1_000_003)
                held = [held_map[i] for i in sorted(held_map)]
        finally:
            close = getattr(teacher, "close", None)
            if close is not None:
                await close()
        dataset = SoftTargetDataset(rows, labelled, batch_size=training.batch_size, name=ref.name, split=ref.split,
                                    messages_field=field, seed=training.seed)
        if dataset.num_batches == 0:
            raise ConfigError(f"stage {self.name!r}: {dataset.num_rows} rows do not fill a batch of "
                              f"{training.batch_size}; lower batch_size")
        before = (await heldout_teacher_kl(service, training, training.model.load_checkpoint_path, held,
                                           training.batch_size) if held else None)
        sink = ctx.ports.metrics
        metric_logger, _ = setup_metric_loggers(
            ctx.run_dir.path, sink=sink if is_configured(sink) else None, config=training.model_dump(mode="json")
        )
        try:
            result = await train_supervised(
                service, training, dataset, ctx.run_dir.path, metric_logger=metric_logger, evaluator=None,
                lookahead=options.lookahead, final_eval=False, stage=self.name, progress=ctx.report_progress,
                on_checkpoint=(lambda: ctx.artifacts.sync(ctx.run_dir.path)) if ctx.artifacts is not None else None,
            )
        finally:
            metric_logger.close()
        publish_checkpoint(
            ctx, "distill_off_policy", state_path=result.final_state_path, sampler_path=result.final_sampler_path,
            base_model=result.base_model, renderer=renderer_name, steps=result.steps,
        )
        outputs: dict[str, Any] = {
            "final_state_path": result.final_state_path,
            "final_sampler_path": result.final_sampler_path,
            "steps": result.steps,
            "base_model": result.base_model,
            "renderer": renderer_name,
            "teachers": [spec.model or spec.path],
            "labelled_rows": len(labelled),
        }
        if before is not None:
            after = await heldout_teacher_kl(service, training, result.final_state_path, held, training.batch_size)
            outputs["first_test_teacher_kl"] = before
            outputs["final_test_teacher_kl"] = after
        return outputs
