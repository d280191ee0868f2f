"""The stream-minibatch RL loop: on-policy, but training starts before the batch is sampled.

A batch's groups roll out concurrently; the batch is cut into `num_minibatches`
runs of groups in batch order, and each run's `forward_backward` is queued as soon
as its groups are done, with an `optim_step` after every
`num_minibatches / num_substeps` of them. The backend starts on the first
minibatch while the later groups are still sampling. Minibatches are cut in batch
order, not completion order, so the run is deterministic and resumes exactly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from cookbook_runtime.train.rl._run import PendingTrain, RLResult, RLRun, close_sampler
from cookbook_runtime.train.rl.data import RLBatch
from cookbook_runtime.train.rl.metrics import trajectory_metrics
from cookbook_runtime.train.rl.rollouts import AllRolloutsFailed, rollout_group_or_error
from cookbook_runtime.train.rl.types import TrajectoryGroup

__all__ = ["train_stream"]

logger = logging.getLogger(__name__)


def _bounds(n: int, parts: int) -> list[tuple[int, int]]:
    parts = max(1, min(parts, n))
    edges = [round(i * n / parts) for i in range(parts + 1)]
    return [(edges[i], edges[i + 1]) for i in range(parts)]


async def train_stream(run: RLRun) -> RLResult:
    """Run `run` to its last step, streaming minibatches, resuming from its run directory."""
    start = await run.open()
    cfg = run.config
    logger.info("RL (stream, %d minibatches): %d steps, starting at step %d", cfg.num_minibatches, run.total_steps, start)
    sampler = await run.sampler(start)
    try:
        for step in range(start, run.total_steps):
            metrics: dict[str, Any] = {}
            t0 = time.perf_counter()
            builders = list(run.batch_builders(step))
            tasks = [
                asyncio.ensure_future(
                    rollout_group_or_error(b, sampler, run.settings, batch=step, group=g, on_error=cfg.on_rollout_error)
                )
                for g, b in enumerate(builders)
            ]
            evaluation = asyncio.ensure_future(run.evaluate(sampler, step)) if run.eval_due(step) else None
            lr = run.learning_rate(step)
            combined = RLBatch([], [], [])
            pending = PendingTrain(combined, [], [], lr)
            groups: list[TrajectoryGroup] = []
            errors: list[str] = []
            bounds = _bounds(len(builders), cfg.num_minibatches)
            n_optim = min(cfg.num_substeps, len(bounds))
            try:
                for m, (lo, hi) in enumerate(bounds):
                    done = [await t for t in tasks[lo:hi]]
                    mb_groups = [d for d in done if isinstance(d, TrajectoryGroup)]
                    errors.extend(d for d in done if isinstance(d, str))
                    groups.extend(mb_groups)
                    if mb_groups:
                        batch, mb_metrics = await run.prepare(mb_groups)
                        for key in ("kl_policy_base", "data/constant_groups_removed"):
                            if key in mb_metrics:
                                metrics[key] = metrics.get(key, 0.0) + mb_metrics[key] / len(bounds)
                        if batch.data:
                            offset = len(combined)
                            combined.data.extend(batch.data)
                            combined.masks.extend(batch.masks)
                            combined.group_index.extend(batch.group_index)
                            _, _, handle = await run.submit_forward_backward(combined, offset, len(combined))
                            pending.parts.append((offset, len(combined), handle))
                    if (m + 1) * n_optim // len(bounds) > m * n_optim // len(bounds):
                        pending.optims.append(await run.submit_optim(lr))
            except BaseException:
                for t in tasks:
                    t.cancel()
                raise
            if builders and not groups:
                raise AllRolloutsFailed(f"every group of batch {step} failed to roll out (first: {errors[0]})")
            metrics["time/rollout"] = time.perf_counter() - t0
            metrics["rollout_errors/groups"] = float(len(errors))
            metrics.update(trajectory_metrics(groups))
            metrics["data/num_datums"] = float(len(combined))
            run.log_rollouts(step, groups)
            if evaluation is not None:
                metrics.update(await evaluation)
            checkpoint = await run.submit_checkpoint(step + 1) if run.checkpoint_due(step + 1) else None
            next_sampler = asyncio.ensure_future(run.sampler(step + 1))
            metrics.update(await run.finish_train(pending))
            await close_sampler(sampler)
            sampler = await next_sampler
            run.log(step, metrics)
            if checkpoint is not None:
                await run.finish_checkpoint(checkpoint)
        steps_done = max(start, run.total_steps)
    except BaseException:
        await close_sampler(sampler)
        raise
    return await run.finish(steps_done, sampler)
