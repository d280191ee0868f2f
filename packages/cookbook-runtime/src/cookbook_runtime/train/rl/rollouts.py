"""Rolling out env groups through the `SamplingClient` port.

Every sample call carries a seed derived from (run seed, batch, group, env, turn),
so a batch rolled out again (after a resume) with the same weights gives the same
trajectories. When all envs of a group open with the same observation (G answers to
one prompt), the first turn is one `sample(num_samples=G)` call, which backends
batch. All groups of a batch run concurrently.

A rollout that raises is handled by the error policy: `raise` stops the run,
`skip` drops that group and counts it, so one bad env cannot kill a long run
(unless every group of a batch fails, which is a bug worth stopping for).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from cookbook_runtime.errors import BackendError, CookbookError
from cookbook_runtime.ports import SamplingClient
from cookbook_runtime.train.rl.types import (
    Env,
    EnvGroupBuilder,
    Observation,
    StopCondition,
    TokensWithLogprobs,
    Trajectory,
    TrajectoryGroup,
    Transition,
)
from cookbook_runtime.train.types import SampledSequence, SamplingParams

__all__ = [
    "AllRolloutsFailed",
    "BatchRollouts",
    "RolloutErrorPolicy",
    "RolloutSettings",
    "rollout_batch",
    "rollout_group",
    "rollout_group_or_error",
    "sample_seed",
]

logger = logging.getLogger(__name__)

RolloutErrorPolicy = Literal["raise", "skip"]


class AllRolloutsFailed(CookbookError):
    """Every group of a batch failed to roll out."""


@dataclass(frozen=True)
class RolloutSettings:
    """How actions are sampled."""

    max_tokens: int
    temperature: float = 1.0
    seed: int = 0
    max_turns: int = 32
    """Safety bound on an episode's turns (an env that never ends is a bug)."""


def sample_seed(*parts: int) -> int:
    """A 63-bit seed from integers; stable across processes and Python versions."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _action(seq: SampledSequence) -> TokensWithLogprobs:
    if seq.logprobs is None:
        raise BackendError("the sampler returned no logprobs; RL needs the logprob of every sampled token")
    return TokensWithLogprobs(list(seq.tokens), list(seq.logprobs), seq.stop_reason)


def _params(settings: RolloutSettings, stop: StopCondition, seed: int) -> SamplingParams:
    return SamplingParams(
        max_tokens=settings.max_tokens, temperature=settings.temperature, stop=list(stop) or None, seed=seed
    )


async def _run_episode(
    env: Env,
    policy: SamplingClient,
    settings: RolloutSettings,
    ob: Observation,
    stop: StopCondition,
    first: TokensWithLogprobs | None,
    seed_parts: tuple[int, ...],
) -> Trajectory:
    transitions: list[Transition] = []
    for turn in range(settings.max_turns):
        if turn == 0 and first is not None:
            ac = first
        else:
            seed = sample_seed(*seed_parts, turn)
            result = await policy.sample(ob, 1, _params(settings, stop, seed))
            ac = _action(result.sequences[0])
        step = await env.step(ac.tokens)
        transitions.append(Transition(ob, ac, step.reward, step.episode_done, dict(step.metrics)))
        if step.episode_done:
            return Trajectory(transitions, step.next_observation)
        ob, stop = step.next_observation, step.next_stop_condition
    raise BackendError(f"an episode ran {settings.max_turns} turns without ending; raise max_turns or fix the env")


async def rollout_group(
    builder: EnvGroupBuilder,
    policy: SamplingClient,
    settings: RolloutSettings,
    *,
    batch: int,
    group: int,
) -> TrajectoryGroup:
    """Roll out every env of one group and score the group."""
    envs = list(await builder.make_envs())
    starts = [await env.initial_observation() for env in envs]
    firsts: list[TokensWithLogprobs | None] = [None] * len(envs)
    obs_tokens = [ob.chunks for ob, _ in starts]
    if len(envs) > 1 and all(c == obs_tokens[0] for c in obs_tokens) and all(s == starts[0][1] for _, s in starts):
        seed = sample_seed(settings.seed, batch, group, -1, 0)
        result = await policy.sample(starts[0][0], len(envs), _params(settings, starts[0][1], seed))
        firsts = [_action(seq) for seq in result.sequences]
    trajectories = await asyncio.gather(
        *(
            _run_episode(env, policy, settings, ob, stop, first, (settings.seed, batch, group, i))
            for i, (env, (ob, stop), first) in enumerate(zip(envs, starts, firsts, strict=True))
        )
    )
    scored = await builder.compute_group_rewards(trajectories, envs)
    return TrajectoryGroup(
        list(trajectories),
        [r for r, _ in scored],
        [dict(m) for _, m in scored],
        list(builder.logging_tags()),
    )


async def rollout_group_or_error(
    builder: EnvGroupBuilder,
    policy: SamplingClient,
    settings: RolloutSettings,
    *,
    batch: int,
    group: int,
    on_error: RolloutErrorPolicy,
) -> TrajectoryGroup | str:
    """`rollout_group`, with a failure returned as its message under the `skip` policy."""
    try:
        return await rollout_group(builder, policy, settings, batch=batch, group=group)
    except Exception as exc:
        if on_error == "raise":
            raise
        message = f"{type(exc).__name__}: {exc}"
        logger.warning("batch %d group %d failed to roll out, skipped: %s", batch, group, message)
        return message


@dataclass
class BatchRollouts:
    """The groups of one batch that rolled out, in batch order, and the errors of those that did not."""

    groups: list[TrajectoryGroup]
    indices: list[int]
    errors: list[str] = field(default_factory=list)


async def rollout_batch(
    builders: Sequence[EnvGroupBuilder],
    policy: SamplingClient,
    settings: RolloutSettings,
    *,
    batch: int,
    on_error: RolloutErrorPolicy = "raise",
) -> BatchRollouts:
    """Roll out all groups of a batch concurrently, applying the error policy."""
    results = await asyncio.gather(
        *(rollout_group(b, policy, settings, batch=batch, group=g) for g, b in enumerate(builders)),
        return_exceptions=True,
    )
    out = BatchRollouts([], [])
    for index, result in enumerate(results):
        if isinstance(result, BaseException):
            if on_error == "raise" or not isinstance(result, Exception):
                raise result
            message = f"{type(result).__name__}: {result}"
            logger.warning("batch %d group %d failed to roll out, skipped: %s", batch, index, message)
            out.errors.append(message)
        else:
            out.groups.append(result)
            out.indices.append(index)
    if builders and not out.groups:
        raise AllRolloutsFailed(
            f"every group of batch {batch} failed to roll out (first: {out.errors[0]}); fix the env or sampler"
        )
    return out
