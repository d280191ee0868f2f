"""Reward-model training: the shared pair loop with the Bradley-Terry loss.

The model starts from `load_state_path` (an SFT checkpoint, so the reward model
reads replies the way the policy writes them) or a fresh LoRA of the base model, and
is trained to rank each pair's chosen reply above the rejected one. With
`reference="initial"` the starting weights are pinned in the run directory (as
DPO's reference is, so a resumed run keeps them) and every score is relative to
them. Held-out pairs are scored with `RewardPairEvaluator` before steps
`0, eval_every, ...` and after the last; a rerun on the same directory resumes from
the last checkpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import ProgressListener
from cookbook_runtime.ir import TrainingConfig
from cookbook_runtime.ports import CustomLossFn, SamplingClient, ServiceClient
from cookbook_runtime.train.metrics import MetricLogger
from cookbook_runtime.train.preference.dataset import PairBatch, PreferenceDataset
from cookbook_runtime.train.preference.loop import plan_pairs, run_pairs
from cookbook_runtime.train.preference.reference import (
    ReferenceCache,
    pin_reference,
    pinned_reference,
)
from cookbook_runtime.train.preference.reward_model import (
    RewardPairEvaluator,
    RewardReference,
    ScoreReduction,
    bradley_terry_loss_fn,
)

__all__ = ["RewardModelResult", "train_reward_model"]

logger = logging.getLogger(__name__)


@dataclass
class RewardModelResult:
    """What a reward-model run produced."""

    final_state_path: str
    final_sampler_path: str | None
    reference_path: str | None
    steps: int
    base_model: str
    start_step: int = 0
    first_eval: dict[str, float] = field(default_factory=dict)
    last_eval: dict[str, float] = field(default_factory=dict)


async def train_reward_model(
    service: ServiceClient,
    training: TrainingConfig,
    dataset: PreferenceDataset,
    run_dir: Path,
    *,
    score: ScoreReduction,
    beta: float,
    reference: RewardReference = "initial",
    metric_logger: MetricLogger,
    test_dataset: PreferenceDataset | None = None,
    max_eval_batches: int | None = None,
    load_state_path: str | None = None,
    stage: str = "reward_model_train",
    on_checkpoint: Callable[[], Awaitable[object]] | None = None,
    progress: ProgressListener | None = None,
) -> RewardModelResult:
    """Train a Bradley-Terry reward model on `dataset` for the config's epochs (or `max_steps`)."""
    if beta <= 0:
        raise ConfigError(f"reward model beta must be > 0, got {beta}")
    run_dir = Path(run_dir)
    total_steps, resume = plan_pairs(dataset, training, run_dir)
    if resume is not None:
        logger.info("resuming the reward model from checkpoint %s (step %d)", resume.name, resume.step)
        client = await service.create_training_client_from_state(resume.state_path, with_optimizer=True)
    elif load_state_path:
        client = await service.create_training_client_from_state(load_state_path, with_optimizer=False)
    else:
        client = await service.create_lora_training_client(
            training.model.name, rank=training.lora_rank, seed=training.seed
        )
    reference_path: str | None = None
    sampler: SamplingClient | None = None
    if reference == "initial":
        reference_path = pinned_reference(run_dir) if resume is not None else await pin_reference(client, run_dir)
        sampler = await service.create_sampling_client(model_path=reference_path)
    cache = ReferenceCache(sampler) if sampler is not None else None

    async def loss_for(batch: PairBatch) -> tuple[CustomLossFn, dict[str, Any]]:
        if cache is None:
            return bradley_terry_loss_fn(score, beta), {}
        return bradley_terry_loss_fn(score, beta, await cache(batch.data)), {}

    evaluator = (
        RewardPairEvaluator(test_dataset, score, beta, reference=sampler, max_batches=max_eval_batches)
        if test_dataset is not None
        else None
    )
    try:
        result = await run_pairs(
            client, training, dataset, run_dir, total_steps=total_steps, resume=resume, loss_for=loss_for,
            metric_logger=metric_logger, evaluator=evaluator, stage=stage, on_checkpoint=on_checkpoint,
            progress=progress,
        )
    finally:
        close = getattr(sampler, "close", None)
        if close is not None:
            await close()
    return RewardModelResult(
        final_state_path=result.final.state_path,
        final_sampler_path=result.final.sampler_path,
        reference_path=reference_path,
        steps=result.steps,
        base_model=result.base_model,
        start_step=result.start_step,
        first_eval=result.first_eval,
        last_eval=result.last_eval,
    )
