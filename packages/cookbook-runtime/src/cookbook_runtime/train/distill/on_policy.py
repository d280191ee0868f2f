"""On-policy distillation as an RL run: the student samples, the teachers score each token.

`DistillRun` is an `RLRun` (so the sync loop, checkpoints, resume, rollout logs and
metrics are the RL ones) that changes two things: a step's advantages are the
teacher's per-token reverse KL (see `advantages`), not centered env rewards, and
the held-out evaluation reports the student's `test/teacher_kl` on held-out
prompts instead of env rewards. Each group's source tag picks its teacher.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from cookbook_runtime.framework import read_jsonl
from cookbook_runtime.ports import SamplingClient
from cookbook_runtime.train.distill.advantages import teacher_kl_advantages, teacher_kl_metrics
from cookbook_runtime.train.distill.datasets import source_of
from cookbook_runtime.train.rl._run import RLRun, close_sampler
from cookbook_runtime.train.rl.data import RLBatch, assemble_batch
from cookbook_runtime.train.rl.losses import reference_logprobs
from cookbook_runtime.train.rl.metrics import trajectory_metrics
from cookbook_runtime.train.rl.rollouts import rollout_batch
from cookbook_runtime.train.rl.types import TrajectoryGroup

__all__ = ["TEST_KL_KEY", "DistillRun"]

TEST_KL_KEY = "test/teacher_kl"


class DistillRun(RLRun):
    """An RL run whose advantages come from teachers (one sampler per source index)."""

    def __init__(self, *args: Any, teachers: Sequence[SamplingClient], kl_coef: float = 1.0,
                 kl_discount: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.teachers = list(teachers)
        self.kl_coef = kl_coef
        self.kl_discount = kl_discount

    async def _teacher_kl(self, groups: Sequence[TrajectoryGroup]) -> tuple[RLBatch, list[list[float]], list[int]]:
        batch = assemble_batch(groups, [[0.0] * len(g.trajectories) for g in groups])
        sources = [source_of(groups[g]) for g in batch.group_index]
        teacher_lps = await asyncio.gather(
            *(reference_logprobs(self.teachers[s], d) for s, d in zip(sources, batch.data, strict=True))
        )
        kls = teacher_kl_advantages(batch, teacher_lps, coef=self.kl_coef, discount=self.kl_discount)
        return batch, kls, sources

    async def prepare(self, groups: Sequence[TrajectoryGroup]) -> tuple[RLBatch, dict[str, float]]:
        metrics = trajectory_metrics(groups)
        batch, kls, sources = await self._teacher_kl(groups)
        metrics.update(teacher_kl_metrics(kls, batch.masks, sources))
        metrics["data/num_datums"] = float(len(batch))
        return batch, metrics

    async def _evaluate_test_set(self, sampler: SamplingClient) -> dict[str, float]:
        """Roll the held-out prompts out with the student; their teacher KL (`test/teacher_kl[/dataset_<i>]`)."""
        if self.test_dataset is None:
            return {}
        n = len(self.test_dataset)
        if self.config.eval_max_batches is not None:
            n = min(n, self.config.eval_max_batches)
        groups: list[TrajectoryGroup] = []
        for index in range(n):
            result = await rollout_batch(
                self.test_dataset.get_batch(index), sampler, self.eval_settings,
                batch=index, on_error=self.config.on_rollout_error,
            )
            groups.extend(result.groups)
        batch, kls, sources = await self._teacher_kl(groups)
        metrics = teacher_kl_metrics(kls, batch.masks, sources, prefix="test/")
        if not self.first_eval:
            self.first_eval = metrics
        self.last_eval = metrics
        return metrics

    def _evals_from_log(self) -> None:
        rows = [r for r in read_jsonl(self.run_dir / "metrics.jsonl") if TEST_KL_KEY in r]
        if rows:
            self.first_eval = {k: float(v) for k, v in rows[0].items() if k.startswith("test/")}
            self.last_eval = {k: float(v) for k, v in rows[-1].items() if k.startswith("test/")}

    async def close_teachers(self) -> None:
        for teacher in self.teachers:
            await close_sampler(teacher)
