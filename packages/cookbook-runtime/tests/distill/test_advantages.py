"""Teacher-KL advantages and metrics against values worked out by hand."""

from __future__ import annotations

import pytest
from cookbook_runtime.train.distill import reverse_kl, teacher_kl_advantages, teacher_kl_metrics
from cookbook_runtime.train.rl.data import RLBatch
from cookbook_runtime.train.types import Datum, ModelInput, TensorData


def _batch(q: list[float], mask: list[float]) -> RLBatch:
    n = len(q)
    datum = Datum(
        ModelInput.from_ints(list(range(n))),
        {
            "target_tokens": TensorData.from_list(list(range(1, n + 1)), "int64"),
            "logprobs": TensorData.from_list(q, "float32"),
            "advantages": TensorData.from_list([0.0] * n, "float32"),
        },
    )
    return RLBatch([datum], [mask], [0])


def test_reverse_kl_is_student_minus_teacher_on_action_tokens() -> None:
    assert reverse_kl([-1.0, -0.5, -2.0], [-3.0, -1.0, -1.0], [0.0, 1.0, 1.0]) == [0.0, 0.5, -1.0]


def test_advantage_is_minus_coef_times_kl_per_token() -> None:
    # prompt token, then actions with q = -0.5, -2.0 and teacher -1.0, -1.0: kl = 0.5, -1.0
    batch = _batch([0.0, -0.5, -2.0], [0.0, 1.0, 1.0])
    kls = teacher_kl_advantages(batch, [[-7.0, -1.0, -1.0]], coef=2.0)
    assert kls == [[0.0, 0.5, -1.0]]
    assert list(batch.data[0].loss_fn_inputs["advantages"].data) == [0.0, -1.0, 2.0]


def test_discount_sums_the_kl_still_to_come() -> None:
    # kl on actions = [0.5, -1.0, 0.25]; g = 0.5:
    # t3: 0.25; t2: -1 + 0.5*0.25 = -0.875; t1: 0.5 + 0.5*-0.875 = 0.0625
    batch = _batch([0.0, -0.5, -2.0, -1.0], [0.0, 1.0, 1.0, 1.0])
    teacher_kl_advantages(batch, [[0.0, -1.0, -1.0, -1.25]], coef=1.0, discount=0.5)
    got = list(batch.data[0].loss_fn_inputs["advantages"].data)
    assert got == pytest.approx([0.0, -0.0625, 0.875, -0.25])


def test_metrics_average_per_action_token_and_per_source() -> None:
    kls = [[0.0, 1.0, 3.0], [0.0, 0.0, 2.0]]
    masks = [[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]
    got = teacher_kl_metrics(kls, masks, [0, 1], prefix="test/")
    assert got == {"test/teacher_kl": 2.0, "test/teacher_kl/dataset_0": 2.0, "test/teacher_kl/dataset_1": 2.0}
    assert teacher_kl_metrics(kls, masks, [1, 1]) == {"teacher_kl": 2.0, "teacher_kl/dataset_1": 2.0}
