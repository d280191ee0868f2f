"""The pipelined supervised loop.

A backend runs requests in submission order, so the loop keeps it busy by queueing
batch N+1's `forward_backward` and `optim_step` (and `lookahead - 1` more) before it
waits for batch N's results. Evaluations and checkpoint saves are queued at the right
place in that stream instead of being awaited, so they see exactly the weights
between two steps and never leave the backend idle. A sampling evaluation of weights
a checkpoint has just saved (the final one, or a periodic one on the same step)
reuses that checkpoint's sampler weights instead of saving them again.

The loop reaches the backend only through the `ServiceClient`/`TrainingClient` ports.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import Progress, ProgressListener
from cookbook_runtime.ir import TrainingConfig
from cookbook_runtime.ports import Pending, SamplingClient, ServiceClient, TrainingClient
from cookbook_runtime.train.checkpoints import (
    CheckpointRecord,
    CheckpointSaver,
    PendingCheckpoint,
    last_checkpoint,
)
from cookbook_runtime.train.data import Batch, SupervisedDataset
from cookbook_runtime.train.eval import EvalSchedule, NllEvaluator, PendingMetrics, nll_sums
from cookbook_runtime.train.metrics import JsonlMetricLogger, MetricLogger
from cookbook_runtime.train.schedules import learning_rate_at
from cookbook_runtime.types import AdamParams, ForwardBackwardOutput, OptimStepOutput

__all__ = ["CheckpointHook", "StepHook", "SupervisedResult", "adam_params_for", "train_supervised"]

logger = logging.getLogger(__name__)

StepHook = Callable[[int, Mapping[str, Any]], None]
CheckpointHook = Callable[[], Awaitable[object]]
"""Called after each step is logged with `(step, metrics)`; raising stops the loop."""

T = TypeVar("T")


class _Shared(Generic[T]):
    """A queued request several waiters share: the underlying handle is awaited once."""

    def __init__(self, inner: Pending[T]) -> None:
        self._inner = inner
        self._future: asyncio.Future[T] | None = None

    async def result(self) -> T:
        if self._future is None:
            self._future = asyncio.ensure_future(self._inner.result())
        return await asyncio.shield(self._future)


class _Ready:
    """A sampler path already known, in the shape of a queued save."""

    def __init__(self, path: str) -> None:
        self._path = path

    async def result(self) -> str:
        return self._path


@dataclass
class SupervisedResult:
    """What a supervised run produced."""

    final_state_path: str
    final_sampler_path: str | None
    steps: int
    base_model: str
    start_step: int = 0
    final_metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class _Submitted:
    step: int
    batch: Batch
    metrics: dict[str, Any]
    fwd_bwd: Pending[ForwardBackwardOutput]
    optim: Pending[OptimStepOutput]
    evaluation: _PendingEvals | None
    checkpoint: PendingCheckpoint | None


@dataclass
class _PendingEvals:
    """A step's evaluations: queued forward passes, and sampling evaluations already running."""

    queued: list[PendingMetrics]
    ran: dict[str, float]
    sampling: asyncio.Future[dict[str, float]] | None

    async def result(self) -> dict[str, float]:
        metrics = dict(self.ran)
        for pending in self.queued:
            metrics.update(await pending.result())
        if self.sampling is not None:
            metrics.update(await self.sampling)
        return metrics


def adam_params_for(training: TrainingConfig, learning_rate: float) -> AdamParams:
    """The optimizer parameters of one step: the scheduled rate plus the config's Adam settings."""
    return AdamParams(
        learning_rate=learning_rate,
        beta1=training.adam_beta1,
        beta2=training.adam_beta2,
        eps=training.adam_eps,
        weight_decay=training.weight_decay,
        grad_clip_norm=training.grad_clip_norm,
    )


def _next_position(epoch: int, batch: int, num_batches: int) -> tuple[int, int]:
    return (epoch + 1, 0) if batch + 1 >= num_batches else (epoch, batch + 1)


async def _open_client(
    service: ServiceClient, training: TrainingConfig, resume: CheckpointRecord | None
) -> TrainingClient:
    if resume is not None:
        logger.info("resuming from checkpoint %s (step %d)", resume.name, resume.step)
        return await service.create_training_client_from_state(resume.state_path, with_optimizer=True)
    if training.model.load_checkpoint_path:
        return await service.create_training_client_from_state(
            training.model.load_checkpoint_path, with_optimizer=False
        )
    return await service.create_lora_training_client(
        training.model.name, rank=training.lora_rank, seed=training.seed
    )


class _Loop:
    """One run of the loop; holds the state the submit and finish halves share."""

    def __init__(
        self,
        client: TrainingClient,
        training: TrainingConfig,
        dataset: SupervisedDataset,
        *,
        total_steps: int,
        saver: CheckpointSaver,
        schedule: EvalSchedule,
        service: ServiceClient,
        metric_logger: MetricLogger,
        stage: str,
        on_step: StepHook | None,
        on_checkpoint: CheckpointHook | None = None,
        progress: ProgressListener | None = None,
    ) -> None:
        self.client = client
        self.training = training
        self.dataset = dataset
        self.total_steps = total_steps
        self.saver = saver
        self.schedule = schedule
        self.service = service
        self.metric_logger = metric_logger
        self.stage = stage
        self.on_step = on_step
        self.on_checkpoint = on_checkpoint
        self.progress = progress
        self.started = time.perf_counter()
        self.last_finish = self.started
        self.last_metrics: dict[str, Any] = {}
        self.sampler: Pending[str] | None = None
        """A sampler save of the weights as queued now (no update since), for evaluations to reuse."""

    async def submit_evals(self, evaluators: Sequence[Any], name: str) -> _PendingEvals | None:
        """Queue the due evaluators behind the requests already submitted.

        Two-phase training evaluators (NLL) are queued in the request stream; one
        without `submit` runs now. Sampling evaluators get the weights through a
        queued sampler save and then run concurrently with the following steps.
        """
        if not evaluators:
            return None
        training_evals, sampling_evals = EvalSchedule.split(evaluators)
        queued: list[PendingMetrics] = []
        ran: dict[str, float] = {}
        for evaluator in training_evals:
            submit = getattr(evaluator, "submit", None)
            if submit is not None:
                queued.append(await submit(self.client))
            else:
                ran.update(await evaluator(self.client))
        sampling = None
        if sampling_evals:
            saved = self.sampler
            if saved is None:
                saved = self.sampler = _Shared(await self.client.save_weights_for_sampler(name))
            sampling = asyncio.ensure_future(_run_sampling_evals(self.service, saved, sampling_evals))
        return _PendingEvals(queued, ran, sampling)

    async def submit(self, batch: Batch, step: int) -> _Submitted:
        evaluation = await self.submit_evals(self.schedule.due(step), f"eval-{step:06d}")
        lr = learning_rate_at(
            self.training.learning_rate,
            self.training.lr_schedule,
            step,
            self.total_steps,
            warmup_steps=self.training.warmup_steps,
        )
        fwd_bwd = await self.client.forward_backward(batch.data, "cross_entropy")
        optim = await self.client.optim_step(adam_params_for(self.training, lr))
        self.sampler = None
        checkpoint = None
        if self.saver.due(step + 1) and step + 1 < self.total_steps:
            epoch, next_batch = _next_position(batch.epoch, batch.index, self.dataset.num_batches)
            checkpoint = await self.saver.submit(self.client, step=step + 1, epoch=epoch, batch=next_batch)
            if checkpoint.sampler is not None:
                checkpoint.sampler = self.sampler = _Shared(checkpoint.sampler)
        metrics: dict[str, Any] = {
            "epoch": batch.epoch,
            "progress": min((step + 1) / self.total_steps, 1.0),
            "learning_rate": lr,
        }
        return _Submitted(step, batch, metrics, fwd_bwd, optim, evaluation, checkpoint)

    async def finish(self, sub: _Submitted) -> None:
        out = await sub.fwd_bwd.result()
        optim = await sub.optim.result()
        metrics = sub.metrics
        metrics.update(optim.metrics)
        data = sub.batch.data
        total, weight = nll_sums(data, out.loss_fn_outputs)
        metrics.update(
            num_sequences=len(data),
            num_tokens=sum(d.num_tokens for d in data),
            num_loss_tokens=sum(sum(1 for w in d.weights() if w > 0) for d in data),
            train_mean_nll=total / weight if weight > 0 else float("nan"),
        )
        if sub.batch.skipped:
            metrics["data/skipped_rows"] = sub.batch.skipped
        if sub.evaluation is not None:
            metrics.update(await sub.evaluation.result())
        if sub.checkpoint is not None:
            await self.saver.finish(sub.checkpoint)
            if self.on_checkpoint is not None:
                await self.on_checkpoint()
        now = time.perf_counter()
        metrics["time/step"] = now - self.last_finish
        metrics["time/total"] = now - self.started
        self.last_finish = now
        self.metric_logger.log_metrics(metrics, sub.step)
        self.last_metrics = metrics
        if self.progress is not None:
            numeric = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
            self.progress(Progress(self.stage, sub.step + 1, self.total_steps, numeric))
        if self.on_step is not None:
            self.on_step(sub.step, metrics)


async def _run_sampling_evals(
    service: ServiceClient, saved: Pending[str], evaluators: Sequence[Any]
) -> dict[str, float]:
    """Wait for the sampler save, then run the sampling evaluators on those weights."""
    path = await saved.result()
    sampler: SamplingClient = await service.create_sampling_client(model_path=path)
    try:
        metrics: dict[str, float] = {}
        for result in await asyncio.gather(*(e(sampler) for e in evaluators)):
            metrics.update(result)
        return metrics
    finally:
        close = getattr(sampler, "close", None)
        if close is not None:
            await close()


async def train_supervised(
    service: ServiceClient,
    training: TrainingConfig,
    dataset: SupervisedDataset,
    run_dir: Path,
    *,
    metric_logger: MetricLogger,
    evaluator: NllEvaluator | None = None,
    evaluators: Sequence[Any] = (),
    infrequent_evaluators: Sequence[Any] = (),
    lookahead: int = 1,
    final_eval: bool = True,
    stage: str = "supervised_train",
    on_step: StepHook | None = None,
    on_checkpoint: CheckpointHook | None = None,
    progress: ProgressListener | None = None,
) -> SupervisedResult:
    """Train on `dataset` for the config's epochs (or `max_steps`), resuming from `run_dir`.

    `lookahead` is how many batches are queued beyond the one being waited on; 0
    turns pipelining off. A rerun on the same `run_dir` continues from the last
    checkpoint with the same data order and optimizer state. `on_checkpoint` runs after
    each checkpoint is recorded (the stage mirrors the run's artifacts there, so a
    crash loses at most the steps since the last checkpoint, on any machine). `progress`
    receives one report per step (the stage passes its run's `Context.report_progress`).

    `evaluator` (held-out NLL) and `evaluators` run every `training.eval_every` steps,
    `infrequent_evaluators` every `training.infrequent_eval_every`, each before that
    step's update (step 0 sees the starting weights), and all of them once more on the
    final weights when `final_eval`. Their metrics join the step's row.
    """
    if lookahead < 0:
        raise ConfigError(f"lookahead must be >= 0, got {lookahead}")
    run_dir = Path(run_dir)
    num_batches = dataset.num_batches
    if num_batches == 0:
        raise ConfigError(
            f"dataset {dataset.name!r} has {dataset.num_rows} rows, fewer than one batch of "
            f"{dataset.batch_size}: lower batch_size"
        )
    total_steps = num_batches * training.num_epochs
    if training.max_steps is not None:
        total_steps = min(total_steps, training.max_steps)
    resume = last_checkpoint(run_dir)
    start_epoch, start_batch = (resume.epoch, resume.batch) if resume else (0, 0)
    start_step = start_epoch * num_batches + start_batch
    JsonlMetricLogger(run_dir).truncate_from(start_step)
    client = await _open_client(service, training, resume)
    saver = CheckpointSaver(run_dir, save_every=training.save_every)
    schedule = EvalSchedule(
        evaluators=[*([evaluator] if evaluator is not None else []), *evaluators],
        infrequent=list(infrequent_evaluators),
        eval_every=training.eval_every,
        infrequent_eval_every=training.infrequent_eval_every,
    )
    loop = _Loop(
        client,
        training,
        dataset,
        total_steps=total_steps,
        saver=saver,
        schedule=schedule,
        service=service,
        metric_logger=metric_logger,
        stage=stage,
        on_step=on_step,
        on_checkpoint=on_checkpoint,
        progress=progress,
    )
    logger.info(
        "training %d steps (%d batches x %d epochs), starting at step %d",
        total_steps, num_batches, training.num_epochs, start_step,
    )
    pending: deque[_Submitted] = deque()
    try:
        steps_done = start_step
        for epoch in range(start_epoch, training.num_epochs):
            first = start_batch if epoch == start_epoch else 0
            for batch in dataset.batches(epoch, first):
                step = epoch * num_batches + batch.index
                if step >= total_steps:
                    break
                steps_done = step + 1
                if not batch.data:
                    logger.warning("step %d: every row of batch %d was malformed; skipped", step, batch.index)
                    continue
                pending.append(await loop.submit(batch, step))
                while len(pending) > lookahead:
                    await loop.finish(pending.popleft())
            if steps_done >= total_steps:
                break
        while pending:
            await loop.finish(pending.popleft())
        final = resume if (resume is not None and resume.final and start_step >= total_steps) else None
        if final is None:
            epoch, batch_index = divmod(steps_done, num_batches)
            final = await saver.finish(
                await saver.submit(client, step=steps_done, epoch=epoch, batch=batch_index, final=True)
            )
            if on_checkpoint is not None:
                await on_checkpoint()
        final_metrics: dict[str, float] = {}
        loop.sampler = _Ready(final.sampler_path) if final.sampler_path else None
        if schedule and final_eval:
            final_evals = await loop.submit_evals(schedule.final(), f"eval-final-{steps_done:06d}")
            final_metrics = await final_evals.result() if final_evals is not None else {}
            metric_logger.log_metrics({**final_metrics, "progress": 1.0}, steps_done)
        info = await client.info()
    finally:
        for sub in pending:  # a failed run leaves no sampling evaluation running behind it
            if sub.evaluation is not None and sub.evaluation.sampling is not None:
                sub.evaluation.sampling.cancel()
        await client.close()
    return SupervisedResult(
        final_state_path=final.state_path,
        final_sampler_path=final.sampler_path,
        steps=steps_done,
        base_model=info.base_model,
        start_step=start_step,
        final_metrics=final_metrics,
    )
