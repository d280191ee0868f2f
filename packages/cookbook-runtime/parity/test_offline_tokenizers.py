"""The offline tokenizers the parity suite runs on are the real vocabularies."""

from __future__ import annotations

import random

import offline_tokenizers as tokenizers
import pytest

SAMPLES = [
    "Hello world",
    "日本語のテキスト、中文、한국어",
    "emoji 🎉🚀👩‍👩‍👧",
    "   spaces\t\ttabs\n\n\nnewlines\r\n",
    "typed <|eot_id|> and <|begin_of_text|> specials",
    "numbers 1234567 3.14159",
]


@pytest.mark.parametrize(
    ("tok", "text", "ids"),
    [
        (tokenizers.qwen3, "Hello world", [9707, 1879]),
        (tokenizers.llama3, "Hello world", [9906, 1917]),
        (tokenizers.harmony, "Hello world", [13225, 2375]),
    ],
)
def test_known_encodings(tok: object, text: str, ids: list[int]) -> None:
    assert tok().encode(text) == ids  # type: ignore[operator]


@pytest.mark.parametrize(
    ("tok", "token", "token_id"),
    [
        (tokenizers.qwen3, "<|endoftext|>", 151643),
        (tokenizers.qwen3, "<|im_start|>", 151644),
        (tokenizers.qwen3, "<|im_end|>", 151645),
        (tokenizers.qwen3, "<tool_call>", 151657),
        (tokenizers.qwen3, "<think>", 151667),
        (tokenizers.qwen3, "</think>", 151668),
        (tokenizers.llama3, "<|begin_of_text|>", 128000),
        (tokenizers.llama3, "<|start_header_id|>", 128006),
        (tokenizers.llama3, "<|end_header_id|>", 128007),
        (tokenizers.llama3, "<|eot_id|>", 128009),
        (tokenizers.llama3, "<|python_tag|>", 128010),
        (tokenizers.deepseek_v31, "<｜begin▁of▁sentence｜>", 0),
        (tokenizers.deepseek_v31, "<｜end▁of▁sentence｜>", 1),
        (tokenizers.deepseek_v31, "<｜User｜>", 128803),
        (tokenizers.deepseek_v31, "<｜Assistant｜>", 128804),
        (tokenizers.deepseek_v31, "<think>", 128798),
        (tokenizers.harmony, "<|return|>", 200002),
        (tokenizers.harmony, "<|start|>", 200006),
        (tokenizers.harmony, "<|call|>", 200012),
    ],
)
def test_special_token_ids(tok: object, token: str, token_id: int) -> None:
    t = tok()  # type: ignore[operator]
    assert t.encode(token) == [token_id]
    assert t.convert_tokens_to_ids(token) == token_id


def test_qwen_split_special_tokens_keeps_think_whole() -> None:
    t = tokenizers.qwen3()
    ids = t.encode("<|im_end|><think>", split_special_tokens=True)
    assert 151645 not in ids
    assert ids[-1] == 151667


def test_llama3_matches_meta_reference_tokenizer() -> None:
    from llama_models.llama3.tokenizer import Tokenizer

    meta = Tokenizer.get_instance()
    rng = random.Random(0)
    alphabet = "".join(SAMPLES)
    texts = [*SAMPLES, *("".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 80))) for _ in range(300))]
    for text in texts:
        assert tokenizers.llama3().encode(text) == meta.encode(text, bos=False, eos=False, allowed_special="all"), text


def test_decode_round_trips() -> None:
    for tok in (tokenizers.qwen3, tokenizers.llama3, tokenizers.deepseek_v31, tokenizers.harmony):
        for text in SAMPLES:
            assert tok().decode(tok().encode(text)) == text


def test_rebuilt_hf_qwen3_matches_the_offline_one() -> None:
    hf = tokenizers.qwen3_hf()
    ref = tokenizers.qwen3()
    rng = random.Random(1)
    alphabet = "".join(SAMPLES) + "<|im_end|><think></think><tool_call>"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))
        for split in (False, True):
            ids = hf.encode(text, add_special_tokens=False, split_special_tokens=split)  # type: ignore[attr-defined]
            assert ids == ref.encode(text, split_special_tokens=split), (text, split)
            assert hf.decode(ids) == ref.decode(ids)  # type: ignore[attr-defined]
