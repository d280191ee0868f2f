"""The synchronous (on-policy) RL loop: sample a batch with the current weights, train, repeat.

Within a step the requests are pipelined the way the supervised loop does it: the
forward/backward and optimizer requests, the checkpoint save when due and the
next step's sampler weights are all queued back to back, and only then awaited,
so the backend never waits on the loop between them. Held-out evaluation runs
concurrently with the step's rollouts, on the same (pre-update) sampler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from cookbook_runtime.train.rl._run import RLResult, RLRun, close_sampler
from cookbook_runtime.train.rl.rollouts import rollout_batch

__all__ = ["train_sync"]

logger = logging.getLogger(__name__)


async def train_sync(run: RLRun) -> RLResult:
    """Run `run` to its last step on-policy, resuming from its run directory."""
    start = await run.open()
    logger.info("RL (sync): %d steps, starting at step %d", run.total_steps, start)
    sampler = await run.sampler(start)
    step = start
    try:
        for step in range(start, run.total_steps):
            metrics: dict[str, Any] = {}
            t0 = time.perf_counter()
            rollout = rollout_batch(
                run.batch_builders(step), sampler, run.settings, batch=step, on_error=run.config.on_rollout_error
            )
            if run.eval_due(step):
                result, evaluation = await asyncio.gather(rollout, run.evaluate(sampler, step))
                metrics.update(evaluation)
            else:
                result = await rollout
            metrics["time/rollout"] = time.perf_counter() - t0
            metrics["rollout_errors/groups"] = float(len(result.errors))
            run.log_rollouts(step, result.groups)
            batch, env_metrics = await run.prepare(result.groups)
            metrics.update(env_metrics)
            t1 = time.perf_counter()
            pending = await run.submit_train(batch, step)
            checkpoint = await run.submit_checkpoint(step + 1) if run.checkpoint_due(step + 1) else None
            next_sampler = asyncio.ensure_future(run.sampler(step + 1))
            metrics.update(await run.finish_train(pending))
            await close_sampler(sampler)
            sampler = await next_sampler
            metrics["time/train"] = time.perf_counter() - t1
            run.log(step, metrics)
            if checkpoint is not None:  # recorded after the step's metrics, so a resume never loses a row
                await run.finish_checkpoint(checkpoint)
        steps_done = max(start, run.total_steps)
    except BaseException:
        await close_sampler(sampler)
        raise
    return await run.finish(steps_done, sampler)
