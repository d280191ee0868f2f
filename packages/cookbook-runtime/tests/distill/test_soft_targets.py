"""Soft-target datums and the top-K KL against values worked out by hand."""

from __future__ import annotations

import math

import pytest
from cookbook_runtime.errors import DataError
from cookbook_runtime.train.distill.soft_targets import (
    align_rows,
    full_sequence,
    soft_target_datum,
    topk_kl,
)
from cookbook_runtime.train.types import Datum, ModelInput, TensorData


def _datum() -> Datum:
    # sequence 10 11 12 13: inputs 10 11 12, targets 11 12 13; the first target carries no loss
    return Datum(
        ModelInput.from_ints([10, 11, 12]),
        {
            "target_tokens": TensorData.from_list([11, 12, 13], "int64"),
            "weights": TensorData.from_list([0.0, 0.5, 0.5], "float32"),
        },
    )


ROWS = [
    None,
    [(11, math.log(0.9)), (5, math.log(0.1))],
    [(12, math.log(0.6)), (7, math.log(0.2))],  # renormalised: 0.75, 0.25
    [(13, math.log(0.5)), (2, math.log(0.5))],
]


def test_full_sequence_appends_the_last_target() -> None:
    assert full_sequence(_datum()) == [10, 11, 12, 13]


def test_weights_are_loss_weight_times_renormalised_teacher_probs() -> None:
    soft = soft_target_datum(_datum(), ROWS, 2)
    assert soft.loss_fn_inputs["target_tokens"].shape == (3, 2)
    assert list(soft.loss_fn_inputs["target_tokens"].data) == [11, 11, 12, 7, 13, 2]
    assert list(soft.loss_fn_inputs["weights"].data) == pytest.approx([0.0, 0.0, 0.375, 0.125, 0.25, 0.25])
    assert soft.model_input == _datum().model_input


def test_fewer_teacher_tokens_than_k_are_padded_with_zero_weight() -> None:
    soft = soft_target_datum(_datum(), ROWS, 3)
    assert list(soft.loss_fn_inputs["target_tokens"].data)[3:6] == [12, 7, 12]
    assert list(soft.loss_fn_inputs["weights"].data)[3:6] == pytest.approx([0.375, 0.125, 0.0])


def test_rows_must_cover_the_sequence() -> None:
    with pytest.raises(DataError, match="scored 3 positions"):
        soft_target_datum(_datum(), ROWS[:3], 2)


def test_topk_kl_of_the_teacher_itself_is_zero_and_of_uniform_is_hand_computed() -> None:
    soft = soft_target_datum(_datum(), ROWS, 2)
    teacher = [0.0, 0.0, math.log(0.75), math.log(0.25), math.log(0.5), math.log(0.5)]
    total, count = topk_kl(soft, TensorData(tuple(teacher), "float32", (3, 2)))
    assert count == 2 and total == pytest.approx(0.0, abs=1e-12)
    uniform = [math.log(0.5)] * 6
    total, _ = topk_kl(soft, TensorData(tuple(uniform), "float32", (3, 2)))
    expected = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)  # second position's KL is 0
    assert total == pytest.approx(expected)


def test_align_rows_moves_the_teachers_rows_onto_the_students_reply() -> None:
    # the teacher saw two more prompt tokens (a system message): same reply 12 13, shifted by 2
    teacher = Datum(
        ModelInput.from_ints([1, 2, 10, 11, 12]),
        {
            "target_tokens": TensorData.from_list([2, 10, 11, 12, 13], "int64"),
            "weights": TensorData.from_list([0, 0, 0, 1, 1], "float32"),
        },
    )
    rows = [None, [(2, 0.0)], [(10, 0.0)], [(11, 0.0)], [(12, -0.1)], [(13, -0.2)]]
    aligned = align_rows(teacher, rows, _datum())
    assert aligned == [None, None, [(12, -0.1)], [(13, -0.2)]]
    student_mismatch = Datum(
        _datum().model_input,
        {"target_tokens": TensorData.from_list([11, 12, 14], "int64"), "weights": _datum().loss_fn_inputs["weights"]},
    )
    with pytest.raises(DataError, match="renderings of a reply differ"):
        align_rows(teacher, rows, student_mismatch)
