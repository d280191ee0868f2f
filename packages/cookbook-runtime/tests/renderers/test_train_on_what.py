"""Which tokens carry loss under each TrainOnWhat mode (qwen3_instruct over bytes)."""

from __future__ import annotations

import pytest
from cookbook_runtime.errors import DataError
from cookbook_runtime.testing import ByteTokenizer
from cookbook_runtime.train.renderers import Message, TrainOnWhat, get_renderer

TOK = ByteTokenizer()
CONV: list[Message] = [
    {"role": "system", "content": "S"},
    {"role": "user", "content": "U1"},
    {"role": "assistant", "content": "A1"},
    {"role": "user", "content": "U2"},
    {"role": "assistant", "content": "A2"},
]


def trained_text(mode: TrainOnWhat, conv: list[Message] = CONV) -> str:
    model_input, weights = get_renderer("qwen3_instruct", TOK).build_supervised_example(conv, mode)
    tokens = model_input.to_ints()
    assert len(weights) == len(tokens)
    return TOK.decode([t for t, w in zip(tokens, weights, strict=True) if w > 0])


def test_rendered_conversation_is_qwen_chatml() -> None:
    model_input, _ = get_renderer("qwen3_instruct", TOK).build_supervised_example(CONV)
    assert TOK.decode(model_input.to_ints()) == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n"
        "<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nU2<|im_end|>\n"
        "<|im_start|>assistant\nA2<|im_end|>"
    )


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (TrainOnWhat.LAST_ASSISTANT_MESSAGE, "A2<|im_end|>"),
        (TrainOnWhat.LAST_ASSISTANT_TURN, "A2<|im_end|>"),
        (TrainOnWhat.ALL_ASSISTANT_MESSAGES, "A1<|im_end|>A2<|im_end|>"),
        (TrainOnWhat.ALL_MESSAGES, "S<|im_end|>U1<|im_end|>A1<|im_end|>U2<|im_end|>A2<|im_end|>"),
        (TrainOnWhat.ALL_USER_AND_SYSTEM_MESSAGES, "S<|im_end|>U1<|im_end|>U2<|im_end|>"),
    ],
)
def test_mode_trains_the_expected_text(mode: TrainOnWhat, expected: str) -> None:
    assert trained_text(mode) == expected


def test_all_tokens_trains_headers_too() -> None:
    _, weights = get_renderer("qwen3_instruct", TOK).build_supervised_example(CONV, TrainOnWhat.ALL_TOKENS)
    assert set(weights) == {1.0}


def test_customized_follows_each_messages_trainable_flag() -> None:
    conv: list[Message] = [{**m, "trainable": m["content"] in ("U1", "A2")} for m in CONV]  # type: ignore[typeddict-item]
    assert trained_text(TrainOnWhat.CUSTOMIZED, conv) == "U1<|im_end|>A2<|im_end|>"


def test_customized_without_trainable_is_rejected() -> None:
    with pytest.raises(DataError, match="trainable"):
        trained_text(TrainOnWhat.CUSTOMIZED)


def test_trainable_with_another_mode_is_rejected() -> None:
    conv: list[Message] = [{**m, "trainable": True} for m in CONV]  # type: ignore[typeddict-item]
    with pytest.raises(DataError, match="trainable"):
        trained_text(TrainOnWhat.ALL_MESSAGES, conv)


def test_mode_can_be_given_by_its_string_value() -> None:
    assert trained_text("all_assistant_messages") == "A1<|im_end|>A2<|im_end|>"  # type: ignore[arg-type]
