"""Group rollouts through the sampler port, seeds, the error policy, multi-turn episodes."""

from __future__ import annotations

import pytest
from cookbook_runtime.testing import FakeSamplingClient
from cookbook_runtime.train.rl import (
    AllRolloutsFailed,
    ProblemGroupBuilder,
    RolloutSettings,
    assemble_batch,
    compute_advantages,
    rollout_batch,
    rollout_group,
)

from .envs import TOKENIZER, FailingBuilder, LetterDataset, ScriptedSampler, two_turn_env

SETTINGS = RolloutSettings(max_tokens=8, seed=3)


async def test_group_rollout_samples_each_env_and_keeps_logprobs() -> None:
    builder = LetterDataset(1, 1, 4).get_batch(0)[0]
    group = await rollout_group(builder, FakeSamplingClient(TOKENIZER), SETTINGS, batch=0, group=0)
    assert len(group.trajectories) == 4
    actions = [t.transitions[0].ac for t in group.trajectories]
    assert all(len(a.tokens) == len(a.logprobs) > 0 for a in actions)
    assert len({tuple(a.tokens) for a in actions}) > 1, "the group's samples should differ"
    assert {k for t in group.trajectories for k in t.transitions[0].metrics} == {"correct", "format"}


async def test_same_batch_and_seed_give_the_same_trajectories() -> None:
    builders = LetterDataset(1, 2, 3).get_batch(0)
    a = await rollout_batch(builders, FakeSamplingClient(TOKENIZER), SETTINGS, batch=5)
    b = await rollout_batch(builders, FakeSamplingClient(TOKENIZER), SETTINGS, batch=5)
    c = await rollout_batch(builders, FakeSamplingClient(TOKENIZER), SETTINGS, batch=6)
    tokens = lambda r: [t.transitions[0].ac.tokens for g in r.groups for t in g.trajectories]  # noqa: E731
    assert tokens(a) == tokens(b)
    assert tokens(a) != tokens(c)


async def test_skip_policy_drops_and_counts_a_failing_group() -> None:
    builders = [*LetterDataset(1, 2, 2).get_batch(0), FailingBuilder()]
    result = await rollout_batch(builders, FakeSamplingClient(TOKENIZER), SETTINGS, batch=0, on_error="skip")
    assert result.indices == [0, 1]
    assert result.errors == ["RuntimeError: env server is down"]


async def test_raise_policy_stops_on_a_failing_group() -> None:
    builders = [*LetterDataset(1, 1, 2).get_batch(0), FailingBuilder()]
    with pytest.raises(RuntimeError, match="env server is down"):
        await rollout_batch(builders, FakeSamplingClient(TOKENIZER), SETTINGS, batch=0, on_error="raise")


async def test_skip_policy_still_stops_when_every_group_fails() -> None:
    with pytest.raises(AllRolloutsFailed, match="every group of batch 0"):
        await rollout_batch([FailingBuilder()], FakeSamplingClient(TOKENIZER), SETTINGS, batch=0, on_error="skip")


async def test_multi_turn_message_env_merges_into_one_datum() -> None:
    sampler = ScriptedSampler("abc")
    group = await rollout_group(ProblemGroupBuilder(two_turn_env, 2), sampler, SETTINGS, batch=0, group=0)
    assert [len(t.transitions) for t in group.trajectories] == [2, 2]
    assert [tr.reward for tr in group.trajectories[0].transitions] == [1.0, 1.0]
    first, second = group.trajectories[0].transitions
    assert second.ob.to_ints()[: first.ob.length] == first.ob.to_ints()
    assert "second?" in TOKENIZER.decode(second.ob.to_ints())
    batch = assemble_batch([group], compute_advantages([group]))
    assert len(batch) == 2, "qwen3_instruct histories only grow, so both turns share one datum"
    assert sum(batch.masks[0]) == 2 * 4  # 'abc' + end of turn, twice
