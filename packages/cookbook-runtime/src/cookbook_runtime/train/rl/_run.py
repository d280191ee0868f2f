"""What the three RL loops share: opening and resuming the client, preparing a batch,
the pipelined train step, held-out evaluation, checkpoints, metrics and rollout logs.

Each loop module (`sync`, `stream`, `off_policy`) only decides *when* rollouts are
sampled and with which weights; everything a step does with its groups is here, so
the modes cannot drift apart.

A checkpoint is the usual `checkpoints.jsonl` line (its `batch` is the next step)
plus `rl_state/<name>.json`, which records what a resumed run needs to replay
exactly: the reference sampler's path and, for the async mode, the sampler weights
the in-flight batches were being sampled with.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import Progress, ProgressListener, atomic_write_text, read_jsonl
from cookbook_runtime.ir import TrainingConfig
from cookbook_runtime.ports import Pending, SamplingClient, ServiceClient, TrainingClient
from cookbook_runtime.train.checkpoints import (
    CheckpointRecord,
    CheckpointSaver,
    PendingCheckpoint,
    last_checkpoint,
    record_run_path,
    resolve_run_path,
)
from cookbook_runtime.train.eval import EvalSchedule, SamplingClientEvaluator
from cookbook_runtime.train.metrics import JsonlMetricLogger, MetricLogger
from cookbook_runtime.train.rl.config import RLConfig
from cookbook_runtime.train.rl.data import (
    RLBatch,
    assemble_batch,
    compute_advantages,
    remove_constant_reward_groups,
)
from cookbook_runtime.train.rl.losses import incorporate_kl_penalty, loss_fn_config
from cookbook_runtime.train.rl.metrics import optim_metrics, trajectory_metrics
from cookbook_runtime.train.rl.rollouts import RolloutSettings, rollout_batch, sample_seed
from cookbook_runtime.train.rl.types import RLDataset, TrajectoryGroup
from cookbook_runtime.train.schedules import learning_rate_at
from cookbook_runtime.train.types import (
    AdamParams,
    ForwardBackwardOutput,
    OptimStepOutput,
    TensorData,
)

__all__ = ["RLResult", "RLRun", "close_sampler"]

logger = logging.getLogger(__name__)

EVAL_SEED_SALT = 7_777_777
RL_STATE_DIR = "rl_state"


@dataclass
class RLResult:
    """What an RL run produced."""

    final_state_path: str
    final_sampler_path: str | None
    steps: int
    base_model: str
    start_step: int = 0
    first_eval: dict[str, float] = field(default_factory=dict)
    last_eval: dict[str, float] = field(default_factory=dict)


async def close_sampler(sampler: SamplingClient | None) -> None:
    """Release a sampler's resources where the backend has any (local samplers hold a thread)."""
    close = getattr(sampler, "close", None)
    if close is not None:
        await close()


@dataclass
class PendingTrain:
    """A step's queued forward/backward and optimizer requests."""

    batch: RLBatch
    parts: list[tuple[int, int, Pending[ForwardBackwardOutput]]]
    """(first datum, end datum, handle) per forward_backward call."""
    optims: list[Pending[OptimStepOutput]]
    lr: float


class RLRun:
    """One RL run's shared state; a loop module drives it step by step."""

    def __init__(
        self,
        service: ServiceClient,
        training: TrainingConfig,
        config: RLConfig,
        dataset: RLDataset,
        run_dir: Path,
        *,
        test_dataset: RLDataset | None,
        metric_logger: MetricLogger,
        stage: str,
        load_state_path: str | None = None,
        on_checkpoint: Callable[[], Awaitable[object]] | None = None,
        progress: ProgressListener | None = None,
        evaluators: Sequence[SamplingClientEvaluator] = (),
        infrequent_evaluators: Sequence[SamplingClientEvaluator] = (),
    ) -> None:
        if len(dataset) == 0:
            raise ConfigError("the RL dataset has no batches; give the env more problems or a smaller batch")
        if config.num_substeps < 1 or config.num_minibatches < 1:
            raise ConfigError("num_substeps and num_minibatches must be >= 1")
        self.service = service
        self.training = training
        self.config = config
        self.dataset = dataset
        self.test_dataset = test_dataset
        self.run_dir = Path(run_dir)
        self.metric_logger = metric_logger
        self.stage = stage
        self.load_state_path = load_state_path
        self.on_checkpoint = on_checkpoint
        self.progress = progress
        self.total_steps = len(dataset) * training.num_epochs
        if training.max_steps is not None:
            self.total_steps = min(self.total_steps, training.max_steps)
        self.saver = CheckpointSaver(self.run_dir, save_every=training.save_every)
        self.settings = RolloutSettings(
            max_tokens=config.max_tokens,
            temperature=config.temperature,
            seed=training.seed,
            max_turns=config.max_turns,
        )
        eval_temperature = config.temperature if config.eval_temperature is None else config.eval_temperature
        self.eval_settings = RolloutSettings(
            max_tokens=config.max_tokens,
            temperature=eval_temperature,
            seed=sample_seed(training.seed, EVAL_SEED_SALT),
            max_turns=config.max_turns,
        )
        self.client: TrainingClient | None = None
        self.reference: SamplingClient | None = None
        self.reference_path: str | None = None
        self.resume: CheckpointRecord | None = None
        self.resume_state: dict[str, Any] = {}
        self.start_step = 0
        self.started = time.perf_counter()
        self.last_finish = self.started
        self.first_eval: dict[str, float] = {}
        self.last_eval: dict[str, float] = {}
        self.schedule = EvalSchedule(
            evaluators=list(evaluators),
            infrequent=list(infrequent_evaluators),
            eval_every=training.eval_every,
            infrequent_eval_every=training.infrequent_eval_every,
        )

    # -- opening ---------------------------------------------------------------------

    async def open(self) -> int:
        """Open (or resume) the training client; returns the first step to train."""
        self.resume = last_checkpoint(self.run_dir)
        if self.resume is not None:
            logger.info("resuming RL from checkpoint %s (step %d)", self.resume.name, self.resume.step)
            self.client = await self.service.create_training_client_from_state(
                self.resume.state_path, with_optimizer=True
            )
            self.start_step = self.resume.batch
            self.resume_state = self._read_state(self.resume.name)
        elif self.load_state_path:
            self.client = await self.service.create_training_client_from_state(
                self.load_state_path, with_optimizer=False
            )
        else:
            self.client = await self.service.create_lora_training_client(
                self.training.model.name, rank=self.training.lora_rank, seed=self.training.seed
            )
        JsonlMetricLogger(self.run_dir).truncate_from(self.start_step)
        if self.config.kl_penalty_coef > 0:
            await self._open_reference()
        return self.start_step

    async def _open_reference(self) -> None:
        path = resolve_run_path(self.resume_state.get("reference_path"), self.run_dir)
        if path is None:
            if self.resume is not None:
                raise ConfigError(
                    "this run's checkpoint has no KL reference recorded; resume with kl_penalty_coef=0 "
                    "or start a new run directory"
                )
            path = await (await self.require_client().save_weights_for_sampler("rl-reference")).result()
        self.reference_path = str(path)
        self.reference = await self.service.create_sampling_client(model_path=self.reference_path)

    def require_client(self) -> TrainingClient:
        if self.client is None:
            raise RuntimeError("RLRun.open() was not called")
        return self.client

    def _state_path(self, name: str) -> Path:
        return self.run_dir / RL_STATE_DIR / f"{name}.json"

    def _read_state(self, name: str) -> dict[str, Any]:
        path = self._state_path(name)
        if not path.is_file():
            return {}
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    # -- samplers ----------------------------------------------------------------------

    async def sampler(self, step: int) -> SamplingClient:
        """A fresh sampling client over the current weights (after `step` steps).

        Two names alternate, so a long run keeps two sets of sampler weights on disk,
        not one per step: the set being replaced is never the one the open client uses.
        """
        return await self.require_client().sampling_client(f"rl-sampler-{step % 2}")

    # -- one step ------------------------------------------------------------------------

    def batch_builders(self, step: int) -> Sequence[Any]:
        return self.dataset.get_batch(step % len(self.dataset))

    def learning_rate(self, step: int) -> float:
        t = self.training
        return learning_rate_at(t.learning_rate, t.lr_schedule, step, self.total_steps, warmup_steps=t.warmup_steps)

    async def prepare(self, groups: Sequence[TrajectoryGroup]) -> tuple[RLBatch, dict[str, float]]:
        """Advantages, optional constant-group removal and KL shaping; the groups' env metrics."""
        metrics = trajectory_metrics(groups)
        kept = list(groups)
        if self.config.remove_constant_reward_groups:
            kept = remove_constant_reward_groups(groups)
            metrics["data/constant_groups_removed"] = float(len(groups) - len(kept))
        advantages = compute_advantages(kept, normalize_std=self.config.normalize_advantages_std)
        batch = assemble_batch(kept, advantages)
        if self.reference is not None and batch.data:
            kl = await incorporate_kl_penalty(batch, self.reference, self.config.kl_penalty_coef)
            metrics.update(kl)
        metrics["data/num_datums"] = float(len(batch))
        return batch, metrics

    def _split(self, n: int, parts: int) -> list[tuple[int, int]]:
        parts = max(1, min(parts, n))
        bounds = [round(i * n / parts) for i in range(parts + 1)]
        return [(bounds[i], bounds[i + 1]) for i in range(parts) if bounds[i + 1] > bounds[i]]

    async def submit_forward_backward(self, batch: RLBatch, start: int, end: int) -> tuple[int, int, Pending[ForwardBackwardOutput]]:
        cfg = self.config
        config = loss_fn_config(cfg.loss, clip_low=cfg.clip_low, clip_high=cfg.clip_high, beta=cfg.dro_beta)
        handle = await self.require_client().forward_backward(batch.data[start:end], cfg.loss, config)
        return start, end, handle

    async def submit_optim(self, lr: float) -> Pending[OptimStepOutput]:
        t = self.training
        params = AdamParams(
            learning_rate=lr,
            beta1=t.adam_beta1,
            beta2=t.adam_beta2,
            eps=t.adam_eps,
            weight_decay=t.weight_decay,
            grad_clip_norm=t.grad_clip_norm,
        )
        return await self.require_client().optim_step(params)

    async def submit_train(self, batch: RLBatch, step: int) -> PendingTrain:
        """Queue `num_substeps` forward_backward + optim_step pairs over the batch."""
        lr = self.learning_rate(step)
        pending = PendingTrain(batch, [], [], lr)
        for start, end in self._split(len(batch), self.config.num_substeps):
            pending.parts.append(await self.submit_forward_backward(batch, start, end))
            pending.optims.append(await self.submit_optim(lr))
        return pending

    async def finish_train(self, pending: PendingTrain) -> dict[str, float]:
        """Wait for a step's requests; the optimizer and sampler-vs-trainer metrics."""
        logprobs: list[TensorData] = []
        loss = 0.0
        for _start, _end, handle in pending.parts:
            out = await handle.result()
            logprobs.extend(o["logprobs"] for o in out.loss_fn_outputs)
            loss += float(out.metrics.get("loss:sum", 0.0))
        metrics: dict[str, float] = {"optim/lr": pending.lr, "learning_rate": pending.lr, "loss:sum": loss}
        for optim in pending.optims:
            metrics.update((await optim.result()).metrics)
        if pending.batch.data:
            metrics.update(optim_metrics(pending.batch, logprobs))
        return metrics

    # -- evaluation --------------------------------------------------------------------------

    def _test_set_due(self, step: int | None) -> bool:
        every = self.training.eval_every
        return self.test_dataset is not None and (step is None or (every > 0 and step % every == 0))

    def eval_due(self, step: int) -> bool:
        """Whether anything evaluates before step `step`: the held-out envs or a scheduled evaluator."""
        return self._test_set_due(step) or bool(self.schedule.due(step))

    async def evaluate(self, sampler: SamplingClient, step: int | None = None) -> dict[str, float]:
        """What is due at `step` (everything when None), all on `sampler`, concurrently.

        The held-out envs are rolled out once (`test/env/...` metrics); the sampling
        evaluators due at `step` add their own (`eval/<task>/...`).
        """
        evaluators = self.schedule.final() if step is None else self.schedule.due(step)
        parts = await asyncio.gather(
            self._evaluate_test_set(sampler) if self._test_set_due(step) else _no_metrics(),
            *(e(sampler) for e in evaluators),
        )
        metrics: dict[str, float] = {}
        for part in parts:
            metrics.update(part)
        return metrics

    async def _evaluate_test_set(self, sampler: SamplingClient) -> dict[str, float]:
        """Roll out the held-out set once with `sampler`; `test/env/...` metrics."""
        if self.test_dataset is None:
            return {}
        groups: list[TrajectoryGroup] = []
        n = len(self.test_dataset)
        if self.config.eval_max_batches is not None:
            n = min(n, self.config.eval_max_batches)
        for index in range(n):
            result = await rollout_batch(
                self.test_dataset.get_batch(index),
                sampler,
                self.eval_settings,
                batch=index,
                on_error=self.config.on_rollout_error,
            )
            groups.extend(result.groups)
        metrics = trajectory_metrics(groups, prefix="test/env")
        if not self.first_eval:
            self.first_eval = metrics
        self.last_eval = metrics
        return metrics

    # -- checkpoints ---------------------------------------------------------------------------

    async def submit_checkpoint(
        self, steps_done: int, *, final: bool = False, extra: Mapping[str, Any] | None = None
    ) -> tuple[PendingCheckpoint, dict[str, Any]]:
        """Queue the state and sampler saves of the weights after `steps_done` steps."""
        pending = await self.saver.submit(
            self.require_client(), step=steps_done, epoch=0, batch=steps_done, final=final
        )
        reference = record_run_path(self.reference_path, self.run_dir)
        state: dict[str, Any] = {"step": steps_done, "reference_path": reference, **(extra or {})}
        return pending, state

    async def finish_checkpoint(self, submitted: tuple[PendingCheckpoint, dict[str, Any]]) -> CheckpointRecord:
        """Wait for the saves; write the replay state, then the checkpoint line (call after logging the step)."""
        pending, state = submitted
        await pending.state.result()
        atomic_write_text(self._state_path(pending.name), json.dumps(state, sort_keys=True))
        record = await self.saver.finish(pending)
        if self.on_checkpoint is not None:
            await self.on_checkpoint()
        return record

    async def checkpoint(self, steps_done: int, *, final: bool = False, extra: Mapping[str, Any] | None = None) -> CheckpointRecord:
        """Save and record now."""
        return await self.finish_checkpoint(await self.submit_checkpoint(steps_done, final=final, extra=extra))

    def checkpoint_due(self, steps_done: int) -> bool:
        return self.saver.due(steps_done) and steps_done < self.total_steps

    # -- logging ----------------------------------------------------------------------------------

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        now = time.perf_counter()
        metrics["progress/batch"] = step
        metrics["progress/done_frac"] = (step + 1) / self.total_steps
        metrics["progress"] = min((step + 1) / self.total_steps, 1.0)
        metrics["time/step"] = now - self.last_finish
        metrics["time/total"] = now - self.started
        self.last_finish = now
        self.metric_logger.log_metrics(metrics, step)
        numeric = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
        if self.progress is not None:
            self.progress(Progress(self.stage, step + 1, self.total_steps, numeric))

    def log_rollouts(self, step: int, groups: Sequence[TrajectoryGroup]) -> None:
        """A few groups of this step, decoded, in `rollouts/<step>.jsonl` for inspection."""
        limit = self.config.num_groups_to_log
        if limit <= 0:
            return
        tokenizer = self.require_client().tokenizer()
        lines = []
        for g, group in enumerate(groups[:limit]):
            for t, (traj, total) in enumerate(zip(group.trajectories, group.total_rewards(), strict=True)):
                turns = [
                    {
                        "observation": tokenizer.decode(tr.ob.to_ints()) if tr.ob.length else "",
                        "action": tokenizer.decode(tr.ac.tokens),
                        "reward": tr.reward,
                        "metrics": tr.metrics,
                    }
                    for tr in traj.transitions
                ]
                lines.append(json.dumps({"group": g, "trajectory": t, "total_reward": total, "turns": turns}))
        atomic_write_text(self.run_dir / "rollouts" / f"{step:06d}.jsonl", "".join(x + "\n" for x in lines))

    # -- the end ----------------------------------------------------------------------------------

    async def finish(self, steps_done: int, final_sampler: SamplingClient | None) -> RLResult:
        """Final evaluation row (at `step == total_steps`), final checkpoint, close."""
        client = self.require_client()
        try:
            if (self.test_dataset is not None or self.schedule) and final_sampler is not None:
                metrics: dict[str, Any] = await self.evaluate(final_sampler)
                metrics["progress"] = 1.0
                self.metric_logger.log_metrics(metrics, steps_done)
            resumed_final = self.resume is not None and self.resume.final and self.start_step >= self.total_steps
            record = self.resume if resumed_final and self.resume is not None else await self.checkpoint(steps_done, final=True)
            info = await client.info()
        finally:
            await close_sampler(final_sampler)
            await close_sampler(self.reference)
            await client.close()
        self._evals_from_log()
        return RLResult(
            final_state_path=record.state_path,
            final_sampler_path=record.sampler_path,
            steps=steps_done,
            base_model=info.base_model,
            start_step=self.start_step,
            first_eval=self.first_eval,
            last_eval=self.last_eval,
        )

    def _evals_from_log(self) -> None:
        """The first and last evaluation rows of the whole run (a resumed run's first was in an earlier process)."""
        rows = [r for r in read_jsonl(self.run_dir / "metrics.jsonl") if "test/env/all/reward/total" in r]
        if rows:
            self.first_eval = _test_metrics(rows[0])
            self.last_eval = _test_metrics(rows[-1])


async def _no_metrics() -> dict[str, float]:
    return {}


def _test_metrics(row: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in row.items() if k.startswith("test/") and isinstance(v, int | float)}
