"""The built-in tiny model: a Qwen3-style chat tokenizer and a cached HF directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from cookbook_adapters.local import LocalServiceClient, tiny_chat_dir
from cookbook_runtime.train.tokenizer import Tokenizer


def test_tokenizer_satisfies_the_runtime_protocol(service: LocalServiceClient, tiny: str) -> None:
    assert isinstance(service.get_tokenizer(tiny), Tokenizer)


@pytest.mark.parametrize(
    "token",
    [
        "<|endoftext|>",
        "<|im_start|>",
        "<|im_end|>",
        "<think>",
        "</think>",
        "<tool_call>",
        "</tool_call>",
    ],
)
def test_chat_tokens_are_single_ids(service: LocalServiceClient, tiny: str, token: str) -> None:
    tok = service.get_tokenizer(tiny)
    ids = tok.encode(token, add_special_tokens=False)
    assert ids == [tok.convert_tokens_to_ids(token)], f"{token} -> {ids}"


def test_think_tags_are_not_special(service: LocalServiceClient, tiny: str) -> None:
    tok = service.get_tokenizer(tiny)
    ids = tok.encode("<|im_start|><think>x</think><|im_end|>", add_special_tokens=False)
    assert tok.decode(ids, skip_special_tokens=True) == "<think>x</think>"
    assert tok.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")


def test_digits_are_one_token_each(service: LocalServiceClient, tiny: str) -> None:
    tok = service.get_tokenizer(tiny)
    assert len(tok.encode("1234567890", add_special_tokens=False)) == 10


def test_chat_template_is_qwen_style(service: LocalServiceClient, tiny: str) -> None:
    tok = service.get_tokenizer(tiny)
    text = tok.apply_chat_template(  # type: ignore[attr-defined]
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_common_words_are_whole_tokens(service: LocalServiceClient, tiny: str) -> None:
    tok = service.get_tokenizer(tiny)
    for word in (" the", " answer", " reverse", " string"):
        assert len(tok.encode(word, add_special_tokens=False)) == 1, word


def test_cached_directory_is_reused(model_cache: Path) -> None:
    first = tiny_chat_dir(model_cache)
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert tiny_chat_dir(model_cache) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp


def test_cache_dir_follows_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from cookbook_adapters.local._paths import cache_root

    monkeypatch.setenv("COOKBOOK_CACHE_DIR", str(tmp_path))
    assert cache_root() == tmp_path


@pytest.mark.slow
def test_concurrent_first_builds_agree(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        dirs = list(pool.map(lambda _: tiny_chat_dir(tmp_path), range(2)))
    assert dirs[0] == dirs[1]
    assert [p.name for p in tmp_path.joinpath("models").iterdir()] == [dirs[0].name]


@pytest.mark.slow
def test_builds_are_byte_identical(tmp_path: Path) -> None:
    a, b = tiny_chat_dir(tmp_path / "a"), tiny_chat_dir(tmp_path / "b")
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_letters_written_as_words_are_one_token_each(service: LocalServiceClient, tiny: str) -> None:
    """The tiny-chat tasks spell strings one letter per word; each letter must be its own token."""
    tok = service.get_tokenizer(tiny)
    letters = "abcdefghijklmnopqrstuvwxyz"
    assert len(tok.encode(" ".join(letters), add_special_tokens=False)) == len(letters)
    for task in ("copy", "reverse", "sort"):
        assert len(tok.encode(f"{task} q z", add_special_tokens=False)) == 3, task
