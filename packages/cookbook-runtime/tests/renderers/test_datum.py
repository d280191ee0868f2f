"""Rendered tokens and weights to a training Datum."""

from __future__ import annotations

import pytest
from cookbook_runtime.errors import DataError
from cookbook_runtime.testing import ByteTokenizer
from cookbook_runtime.train.datum import conversation_to_datum, datum_from_model_input_weights
from cookbook_runtime.train.renderers import Message, TrainOnWhat, get_renderer
from cookbook_runtime.train.types import EncodedTextChunk, ModelInput


def test_inputs_drop_the_last_token_and_targets_the_first() -> None:
    datum = datum_from_model_input_weights(ModelInput.from_ints([1, 2, 3, 4]), [0, 0, 1, 1])
    assert datum.model_input.to_ints() == [1, 2, 3]
    assert datum.loss_fn_inputs["target_tokens"].data == (2, 3, 4)
    assert datum.loss_fn_inputs["target_tokens"].dtype == "int64"
    assert datum.loss_fn_inputs["weights"].data == (0.0, 1.0, 1.0)
    assert datum.loss_fn_inputs["weights"].dtype == "float32"


def test_max_length_cuts_from_the_right_across_chunks() -> None:
    model_input = ModelInput((EncodedTextChunk((1, 2, 3)), EncodedTextChunk((4, 5, 6))))
    datum = datum_from_model_input_weights(model_input, [1] * 6, max_length=4)
    assert datum.model_input.to_ints() == [1, 2, 3]
    assert datum.loss_fn_inputs["target_tokens"].data == (2, 3, 4)


def test_mean_reduction_makes_weights_sum_to_one() -> None:
    datum = datum_from_model_input_weights(ModelInput.from_ints(list(range(5))), [0, 1, 1, 1, 0], reduction="mean")
    assert sum(datum.loss_fn_inputs["weights"].data) == pytest.approx(1.0)


def test_a_single_token_cannot_make_a_datum() -> None:
    with pytest.raises(DataError, match="at least 2 tokens"):
        datum_from_model_input_weights(ModelInput.from_ints([7]), [1])


def test_conversation_to_datum_trains_assistant_text_by_default() -> None:
    tok = ByteTokenizer()
    conv: list[Message] = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "ab"}]
    datum = conversation_to_datum(conv, get_renderer("qwen3_instruct", tok), max_length=None, reduction="none")
    targets = datum.loss_fn_inputs["target_tokens"].data
    weights = datum.loss_fn_inputs["weights"].data
    assert tok.decode([t for t, w in zip(targets, weights, strict=True) if w]) == "ab<|im_end|>"


def test_conversation_to_datum_defaults_to_mean_reduction() -> None:
    conv: list[Message] = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "abc"}]
    datum = conversation_to_datum(conv, get_renderer("qwen3_instruct", ByteTokenizer()), 64, TrainOnWhat.LAST_ASSISTANT_MESSAGE)
    assert sum(datum.loss_fn_inputs["weights"].data) == pytest.approx(1.0)
