"""Advantages, constant-group removal and datum assembly (single and multi-turn)."""

from __future__ import annotations

import pytest
from cookbook_runtime.train.rl import (
    TokensWithLogprobs,
    Trajectory,
    TrajectoryGroup,
    Transition,
    assemble_batch,
    compute_advantages,
    remove_constant_reward_groups,
    trajectory_to_data,
)
from cookbook_runtime.train.types import ModelInput


def _traj(*turns: tuple[list[int], list[int], float]) -> Trajectory:
    transitions = [
        Transition(ModelInput.from_ints(ob), TokensWithLogprobs(ac, [-0.1 * (i + 1) for i in range(len(ac))]), r, False)
        for ob, ac, r in turns
    ]
    return Trajectory(transitions, ModelInput.empty())


def _group(*rewards: float) -> TrajectoryGroup:
    trajs = [_traj(([1, 2], [3], r)) for r in rewards]
    return TrajectoryGroup(trajs, [0.0] * len(rewards), [{} for _ in rewards])


def test_advantages_are_reward_minus_group_mean() -> None:
    assert compute_advantages([_group(1.0, 0.0, 0.0, 1.0), _group(3.0, 1.0)]) == [
        [0.5, -0.5, -0.5, 0.5],
        [1.0, -1.0],
    ]


def test_group_reward_adds_to_step_rewards() -> None:
    group = TrajectoryGroup([_traj(([1], [2], 1.0)), _traj(([1], [2], 0.0))], [0.0, 2.0], [{}, {}])
    assert compute_advantages([group]) == [[-0.5, 0.5]]


def test_std_normalisation_divides_by_group_std() -> None:
    advs = compute_advantages([_group(1.0, 0.0)], normalize_std=True)[0]
    assert advs == pytest.approx([1.0, -1.0], abs=1e-5)


def test_constant_group_has_zero_advantage_even_with_std() -> None:
    assert compute_advantages([_group(1.0, 1.0)], normalize_std=True) == [[0.0, 0.0]]


def test_constant_groups_are_removed_but_one_is_kept_if_all_are() -> None:
    mixed = _group(1.0, 0.0)
    assert remove_constant_reward_groups([_group(1.0, 1.0), mixed, _group(0.0, 0.0)]) == [mixed]
    only = [_group(1.0, 1.0), _group(0.0, 0.0)]
    assert remove_constant_reward_groups(only) == [only[0]]


def test_single_turn_datum_weights_observation_zero() -> None:
    [(datum, mask)] = trajectory_to_data(_traj(([10, 11, 12], [20, 21], 1.0)), advantage=0.5)
    assert datum.model_input.to_ints() == [10, 11, 12, 20]
    assert list(datum.loss_fn_inputs["target_tokens"].data) == [11, 12, 20, 21]
    assert list(datum.loss_fn_inputs["advantages"].data) == [0.0, 0.0, 0.5, 0.5]
    assert list(datum.loss_fn_inputs["logprobs"].data) == pytest.approx([0.0, 0.0, -0.1, -0.2])
    assert mask == [0.0, 0.0, 1.0, 1.0]


def test_multi_turn_merges_when_each_observation_extends_the_last() -> None:
    traj = _traj(([1, 2], [3, 4], 0.0), ([1, 2, 3, 4, 5], [6], 1.0))
    [(datum, mask)] = trajectory_to_data(traj, advantage=2.0)
    assert list(datum.loss_fn_inputs["target_tokens"].data) == [2, 3, 4, 5, 6]
    assert mask == [0.0, 1.0, 1.0, 0.0, 1.0]
    assert list(datum.loss_fn_inputs["advantages"].data) == [0.0, 2.0, 2.0, 0.0, 2.0]


def test_multi_turn_splits_when_history_is_rewritten() -> None:
    traj = _traj(([1, 2], [3], 0.0), ([9, 2, 3, 5], [6], 1.0))
    data = trajectory_to_data(traj, advantage=1.0)
    assert [list(d.loss_fn_inputs["target_tokens"].data) for d, _ in data] == [[2, 3], [2, 3, 5, 6]]
    assert [m for _, m in data] == [[0.0, 1.0], [0.0, 0.0, 0.0, 1.0]]


def test_assemble_batch_tracks_groups_and_masks() -> None:
    groups = [_group(1.0, 0.0), _group(0.0, 0.0, 1.0)]
    batch = assemble_batch(groups, compute_advantages(groups))
    assert len(batch) == 5
    assert batch.group_index == [0, 0, 1, 1, 1]
    assert all(len(m) == d.model_input.length for d, m in zip(batch.data, batch.masks, strict=True))
