"""The pair loop (DPO and the reward model share it) and the DPO loop on top of it.

Each step takes one batch of pairs, builds the batch's custom loss (DPO: from the
pinned reference's sequence logprobs; a reward model: Bradley-Terry, no reference),
queues one `forward_backward_custom` and one `optim_step`, and logs the loss's
metrics. Held-out pairs are scored before steps `0, eval_every, ...` and after the
last. Checkpoints are the usual `checkpoints.jsonl` lines, so a rerun on the same
directory continues with the same data order, optimizer state and (DPO) reference.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import Progress, ProgressListener
from cookbook_runtime.ir import TrainingConfig
from cookbook_runtime.ports import CustomLossFn, SamplingClient, ServiceClient, TrainingClient
from cookbook_runtime.train.checkpoints import CheckpointRecord, CheckpointSaver, last_checkpoint
from cookbook_runtime.train.loops.supervised import adam_params_for
from cookbook_runtime.train.metrics import JsonlMetricLogger, MetricLogger
from cookbook_runtime.train.preference.dataset import PairBatch, PreferenceDataset
from cookbook_runtime.train.preference.evaluate import PairEvaluator
from cookbook_runtime.train.preference.loss import dpo_loss_fn
from cookbook_runtime.train.preference.reference import (
    ReferenceCache,
    pin_reference,
    pinned_reference,
)
from cookbook_runtime.train.schedules import learning_rate_at

__all__ = ["DPOResult", "PairEval", "PairRun", "PairStep", "plan_pairs", "run_pairs", "train_dpo"]

logger = logging.getLogger(__name__)


@dataclass
class DPOResult:
    """What a DPO run produced."""

    final_state_path: str
    final_sampler_path: str | None
    reference_path: str
    steps: int
    base_model: str
    start_step: int = 0
    first_eval: dict[str, float] = field(default_factory=dict)
    last_eval: dict[str, float] = field(default_factory=dict)


async def _open(
    service: ServiceClient, training: TrainingConfig, run_dir: Path, resume: CheckpointRecord | None,
    load_state_path: str | None,
) -> tuple[TrainingClient, str]:
    """The training client and the reference path (pinned now for a fresh run, read back on resume)."""
    if resume is not None:
        reference = pinned_reference(run_dir)
        logger.info("resuming DPO from checkpoint %s (step %d), reference %s", resume.name, resume.step, reference)
        client = await service.create_training_client_from_state(resume.state_path, with_optimizer=True)
        return client, reference
    if load_state_path:
        client = await service.create_training_client_from_state(load_state_path, with_optimizer=False)
    else:
        client = await service.create_lora_training_client(
            training.model.name, rank=training.lora_rank, seed=training.seed
        )
    return client, await pin_reference(client, run_dir)


async def _close(sampler: SamplingClient) -> None:
    close = getattr(sampler, "close", None)
    if close is not None:
        await close()


@dataclass
class PairRun:
    """What the shared pair loop returns: the final checkpoint and the evaluations."""

    final: CheckpointRecord
    steps: int
    base_model: str
    start_step: int
    first_eval: dict[str, float]
    last_eval: dict[str, float]


PairStep = Callable[[PairBatch], Awaitable[tuple[CustomLossFn, dict[str, Any]]]]
"""One batch -> its custom loss and extra metrics to log (DPO: the reference logprobs)."""

PairEval = Callable[[TrainingClient], Awaitable[dict[str, float]]]


def plan_pairs(dataset: PreferenceDataset, training: TrainingConfig, run_dir: Path) -> tuple[int, CheckpointRecord | None]:
    """(total steps, the checkpoint to resume from) of a pair loop over `dataset`; metrics past it are cut."""
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
    start_step = min(resume.epoch * num_batches + resume.batch, total_steps) if resume else 0
    JsonlMetricLogger(run_dir).truncate_from(start_step)
    return total_steps, resume


async def run_pairs(
    client: TrainingClient,
    training: TrainingConfig,
    dataset: PreferenceDataset,
    run_dir: Path,
    *,
    total_steps: int,
    resume: CheckpointRecord | None,
    loss_for: PairStep,
    metric_logger: MetricLogger,
    evaluator: PairEval | None = None,
    eval_key: str = "test/pair_accuracy",
    stage: str,
    on_checkpoint: Callable[[], Awaitable[object]] | None = None,
    progress: ProgressListener | None = None,
) -> PairRun:
    """The loop DPO and reward-model training share: one custom-loss step per batch of pairs.

    Held-out pairs are scored before steps `0, eval_every, ...` and after the last;
    checkpoints are `checkpoints.jsonl` lines, so a rerun continues with the same data
    order and optimizer state. Closes `client`.
    """
    num_batches = dataset.num_batches
    start_epoch, start_batch = (resume.epoch, resume.batch) if resume else (0, 0)
    start_step = min(start_epoch * num_batches + start_batch, total_steps)
    saver = CheckpointSaver(run_dir, save_every=training.save_every)
    first_eval: dict[str, float] = {}
    last_eval: dict[str, float] = {}
    started = last = time.perf_counter()

    async def step_once(batch: PairBatch, step: int) -> None:
        nonlocal last, first_eval, last_eval
        metrics: dict[str, Any] = {}
        if evaluator is not None and training.eval_every > 0 and step % training.eval_every == 0:
            last_eval = await evaluator(client)
            first_eval = first_eval or last_eval
            metrics.update(last_eval)
        lr = learning_rate_at(
            training.learning_rate, training.lr_schedule, step, total_steps, warmup_steps=training.warmup_steps
        )
        loss_fn, extra = await loss_for(batch)
        fwd_bwd = await client.forward_backward_custom(batch.data, loss_fn)
        optim = await client.optim_step(adam_params_for(training, lr))
        out = await fwd_bwd.result()
        metrics.update({k: v for k, v in out.metrics.items() if ":" not in k})
        metrics.update((await optim.result()).metrics)
        metrics.update(
            epoch=batch.epoch,
            learning_rate=lr,
            progress=min((step + 1) / total_steps, 1.0),
            num_tokens=sum(d.num_tokens for d in batch.data),
            **extra,
        )
        if batch.ties:
            metrics["data/ties_skipped"] = batch.ties
        if batch.skipped:
            metrics["data/skipped_rows"] = batch.skipped
        checkpoint = None
        if saver.due(step + 1) and step + 1 < total_steps:
            epoch, next_batch = divmod(step + 1, num_batches)
            checkpoint = await saver.submit(client, step=step + 1, epoch=epoch, batch=next_batch)
        now = time.perf_counter()
        metrics["time/step"] = now - last
        metrics["time/total"] = now - started
        last = now
        metric_logger.log_metrics(metrics, step)
        if checkpoint is not None:  # recorded after the step's row, so a resume never lacks one
            await saver.finish(checkpoint)
            if on_checkpoint is not None:
                await on_checkpoint()
        if progress is not None:
            numeric = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
            progress(Progress(stage, step + 1, total_steps, numeric))

    logger.info("%s: %d steps (%d batches x %d epochs), starting at step %d",
                stage, total_steps, num_batches, training.num_epochs, start_step)
    try:
        steps_done = start_step
        for epoch in range(start_epoch, training.num_epochs):
            if steps_done >= total_steps:
                break
            for batch in dataset.batches(epoch, start_batch if epoch == start_epoch else 0):
                step = epoch * num_batches + batch.index
                if step >= total_steps:
                    break
                steps_done = step + 1
                if batch.num_pairs == 0:
                    logger.warning("step %d: batch %d has no pairs (all ties or malformed); skipped", step, batch.index)
                    continue
                await step_once(batch, step)
        if resume is not None and resume.final and start_step >= total_steps:
            final = resume
        else:
            epoch, batch_index = divmod(steps_done, num_batches)
            final = await saver.finish(
                await saver.submit(client, step=steps_done, epoch=epoch, batch=batch_index, final=True)
            )
            if on_checkpoint is not None:
                await on_checkpoint()
        if evaluator is not None:
            last_eval = await evaluator(client)
            metric_logger.log_metrics({**last_eval, "progress": 1.0}, steps_done)
        info = await client.info()
    finally:
        await client.close()
    first, final_row = _evals_from_log(run_dir, eval_key)
    return PairRun(
        final=final,
        steps=steps_done,
        base_model=info.base_model,
        start_step=start_step,
        first_eval=first or first_eval,
        last_eval=final_row or last_eval,
    )


async def train_dpo(
    service: ServiceClient,
    training: TrainingConfig,
    dataset: PreferenceDataset,
    run_dir: Path,
    *,
    beta: float,
    metric_logger: MetricLogger,
    test_dataset: PreferenceDataset | None = None,
    max_eval_batches: int | None = None,
    load_state_path: str | None = None,
    stage: str = "dpo_train",
    on_checkpoint: Callable[[], Awaitable[object]] | None = None,
    progress: ProgressListener | None = None,
) -> DPOResult:
    """Train with DPO on `dataset` for the config's epochs (or `max_steps`), resuming from `run_dir`.

    The reference is the weights the run starts from: `load_state_path` when given
    (an SFT warm start), else the new client's initial weights. Each step asks the
    pinned reference sampler for the sequence logprobs of every datum (once per
    batch) and logs their batch means (`ref/chosen_logprob`, `ref/rejected_logprob`:
    a resumed run that kept its reference logs the same values an uninterrupted one does).
    """
    if beta <= 0:
        raise ConfigError(f"dpo_beta must be > 0, got {beta}")
    run_dir = Path(run_dir)
    total_steps, resume = plan_pairs(dataset, training, run_dir)
    client, reference_path = await _open(service, training, run_dir, resume, load_state_path)
    reference = await service.create_sampling_client(model_path=reference_path)
    reference_logprobs = ReferenceCache(reference)
    evaluator = (
        PairEvaluator(test_dataset, reference, beta, max_batches=max_eval_batches) if test_dataset is not None else None
    )

    async def loss_for(batch: PairBatch) -> tuple[CustomLossFn, dict[str, Any]]:
        ref = await reference_logprobs(batch.data)
        extra = {"ref/chosen_logprob": sum(ref[0::2]) / batch.num_pairs,
                 "ref/rejected_logprob": sum(ref[1::2]) / batch.num_pairs}
        return dpo_loss_fn(ref, beta), extra

    try:
        result = await run_pairs(
            client, training, dataset, run_dir, total_steps=total_steps, resume=resume, loss_for=loss_for,
            metric_logger=metric_logger, evaluator=evaluator, stage=stage, on_checkpoint=on_checkpoint,
            progress=progress,
        )
    finally:
        await _close(reference)
    return DPOResult(
        final_state_path=result.final.state_path,
        final_sampler_path=result.final.sampler_path,
        reference_path=reference_path,
        steps=result.steps,
        base_model=result.base_model,
        start_step=result.start_step,
        first_eval=result.first_eval,
        last_eval=result.last_eval,
    )


def _evals_from_log(run_dir: Path, key: str) -> tuple[dict[str, float], dict[str, float]]:
    """The first and last held-out rows of the whole run (a resumed run's first was in an earlier process)."""
    from cookbook_runtime.framework import read_jsonl

    rows = [r for r in read_jsonl(run_dir / "metrics.jsonl") if key in r]
    if not rows:
        return {}, {}

    def pick(row: dict[str, Any]) -> dict[str, float]:
        return {k: float(v) for k, v in row.items() if k.startswith("test/") and isinstance(v, int | float)}

    return pick(rows[0]), pick(rows[-1])
