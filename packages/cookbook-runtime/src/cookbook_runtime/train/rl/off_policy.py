"""The async off-policy RL loop: sampling runs ahead of training on slightly older weights.

Batch `b` is sampled with the weights after `max(0, b - sample_ahead)` steps, so
while step `t` trains, batches `t+1 .. t+sample_ahead` are already rolling out and
the sampler and the trainer work at the same time. A group whose weights are more
than `max_steps_off_policy` steps older than the step that trains on it is stale:
`requeue` samples it again with the current weights, `drop` discards it; both are
counted (`async/stale_requeued`, `async/stale_dropped`). With `sample_ahead` at its
default (`max_steps_off_policy`) no group is ever stale.

Which weights sample which batch is a function of the batch index, never of
timing, so a run is deterministic. A checkpoint records the sampler weights the
in-flight batches use (`rl_state/<name>.json`); a resumed run reopens them and
replays those batches exactly, then carries on, equal to an uninterrupted run.
The step after a checkpoint samples from the checkpoint's sampler weights rather
than saving the same weights again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ports import SamplingClient
from cookbook_runtime.train.checkpoints import record_run_path, resolve_run_path
from cookbook_runtime.train.rl._run import RLResult, RLRun, close_sampler
from cookbook_runtime.train.rl.rollouts import AllRolloutsFailed, rollout_group_or_error
from cookbook_runtime.train.rl.types import TrajectoryGroup

__all__ = ["train_off_policy"]

logger = logging.getLogger(__name__)

Outcome = TrajectoryGroup | str


class _Samplers:
    """Sampler clients by weight version (steps taken), opened from saved sampler weights."""

    def __init__(self, run: RLRun, recorded: dict[str, str]) -> None:
        self.run = run
        self.paths: dict[int, str] = {int(v): resolve_run_path(p, run.run_dir) or p for v, p in recorded.items()}
        self.clients: dict[int, SamplingClient] = {}

    async def get(self, version: int, current: int) -> SamplingClient:
        if version in self.clients:
            return self.clients[version]
        if version not in self.paths:
            if version != current:
                raise ConfigError(
                    f"the async run needs the sampler weights of step {version}, which this run directory "
                    "did not record; start a new run directory"
                )
            client = self.run.require_client()
            handle = await client.save_weights_for_sampler(f"rl-{version:06d}")
            self.paths[version] = await handle.result()
        sampler = await self.run.service.create_sampling_client(model_path=self.paths[version])
        self.clients[version] = sampler
        return sampler

    async def release_below(self, version: int) -> None:
        for v in [v for v in self.clients if v < version]:
            await close_sampler(self.clients.pop(v))
        for v in [v for v in self.paths if v < version]:
            del self.paths[v]

    async def close(self) -> None:
        await self.release_below(1 << 62)


async def train_off_policy(run: RLRun) -> RLResult:
    """Run `run` to its last step off-policy, resuming exactly from its run directory."""
    start = await run.open()
    cfg = run.config
    ahead = cfg.max_steps_off_policy if cfg.sample_ahead is None else cfg.sample_ahead
    logger.info(
        "RL (async, %d ahead, max %d off-policy): %d steps, starting at step %d",
        ahead, cfg.max_steps_off_policy, run.total_steps, start,
    )
    samplers = _Samplers(run, dict(run.resume_state.get("sampler_paths", {})))
    in_flight: dict[int, list[asyncio.Future[Outcome]]] = {}

    def version_for(batch: int) -> int:
        return max(0, batch - ahead)

    async def launch(batch: int, current: int) -> None:
        sampler = await samplers.get(version_for(batch), current)
        in_flight[batch] = [
            asyncio.ensure_future(
                rollout_group_or_error(b, sampler, run.settings, batch=batch, group=g, on_error=cfg.on_rollout_error)
            )
            for g, b in enumerate(run.batch_builders(batch))
        ]

    final_sampler: SamplingClient | None = None
    try:
        for step in range(start, run.total_steps):
            metrics: dict[str, Any] = {}
            t0 = time.perf_counter()
            current = await samplers.get(step, step)
            for batch in range(step, min(step + ahead, run.total_steps - 1) + 1):
                if batch not in in_flight:
                    await launch(batch, step)
            evaluation = asyncio.ensure_future(run.evaluate(current, step)) if run.eval_due(step) else None
            outcomes = [await t for t in in_flight.pop(step)]
            staleness = step - version_for(step)
            requeued = dropped = 0
            if staleness > cfg.max_steps_off_policy:
                builders = list(run.batch_builders(step))
                if cfg.stale_policy == "requeue":
                    requeued = sum(isinstance(o, TrajectoryGroup) for o in outcomes)
                    outcomes = list(
                        await asyncio.gather(
                            *(
                                rollout_group_or_error(
                                    b, current, run.settings, batch=step, group=g, on_error=cfg.on_rollout_error
                                )
                                if isinstance(o, TrajectoryGroup)
                                else _done(o)
                                for g, (b, o) in enumerate(zip(builders, outcomes, strict=True))
                            )
                        )
                    )
                    staleness = 0
                else:
                    dropped = sum(isinstance(o, TrajectoryGroup) for o in outcomes)
            groups = [o for o in outcomes if isinstance(o, TrajectoryGroup)]
            errors = [o for o in outcomes if isinstance(o, str)]
            if outcomes and not groups:
                raise AllRolloutsFailed(f"every group of batch {step} failed to roll out (first: {errors[0]})")
            metrics["time/rollout"] = time.perf_counter() - t0
            metrics["rollout_errors/groups"] = float(len(errors))
            metrics["async/stale_requeued"] = float(requeued)
            metrics["async/stale_dropped"] = float(dropped)
            metrics["sampling_client/steps_behind"] = float(staleness)
            run.log_rollouts(step, groups)
            batch_data, env_metrics = await run.prepare(groups)
            metrics.update(env_metrics)
            if evaluation is not None:
                metrics.update(await evaluation)
            # a dropped batch still counts as a step (schedule, progress) but trains on nothing
            pending = await run.submit_train(batch_data, step) if not dropped else None
            checkpoint = None
            if run.checkpoint_due(step + 1):
                keep = {version_for(b) for b in range(step + 1, min(step + ahead, run.total_steps - 1) + 1)}
                paths = {
                    str(v): record_run_path(samplers.paths[v], run.run_dir)
                    for v in sorted(keep) if v <= step and v in samplers.paths
                }
                checkpoint = await run.submit_checkpoint(step + 1, extra={"sampler_paths": paths})
            if pending is not None:
                metrics.update(await run.finish_train(pending))
            run.log(step, metrics)
            if checkpoint is not None:
                record = await run.finish_checkpoint(checkpoint)
                if record.sampler_path and step + 1 not in samplers.paths:  # the next step samples these weights
                    samplers.paths[step + 1] = record.sampler_path
            await samplers.release_below(min(version_for(step + 1), step + 1))
        steps_done = max(start, run.total_steps)
        final_sampler = await run.sampler(steps_done)
    except BaseException:
        for futures in in_flight.values():
            for f in futures:
                f.cancel()
        await close_sampler(final_sampler)
        raise
    finally:
        await samplers.close()
    return await run.finish(steps_done, final_sampler)


async def _done(outcome: Outcome) -> Outcome:
    return outcome

