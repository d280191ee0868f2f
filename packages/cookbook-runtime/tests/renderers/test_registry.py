"""Renderer lookup by name and the model -> renderer recommendations."""

from __future__ import annotations

import pytest
from cookbook_runtime.errors import UnknownNameError
from cookbook_runtime.testing import ByteTokenizer
from cookbook_runtime.train.renderers import (
    Renderer,
    get_renderer,
    recommended_renderer,
    register_renderer,
    renderer_names,
)
from cookbook_runtime.train.renderers.qwen3 import Qwen3InstructRenderer

BUILT_INS = {
    "role_colon",
    "llama3",
    "qwen3",
    "qwen3_disable_thinking",
    "qwen3_instruct",
    "deepseekv3",
    "deepseekv3_disable_thinking",
    "deepseekv3_thinking",
    "gpt_oss_no_sysprompt",
    "gpt_oss_low_reasoning",
    "gpt_oss_medium_reasoning",
    "gpt_oss_high_reasoning",
}


def test_every_built_in_is_registered() -> None:
    assert set(renderer_names()) >= BUILT_INS


def test_qwen_family_renderers_satisfy_the_protocol() -> None:
    for name in ("qwen3", "qwen3_disable_thinking", "qwen3_instruct", "role_colon"):
        assert isinstance(get_renderer(name, ByteTokenizer()), Renderer)


def test_unknown_renderer_names_the_closest_match() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'qwen3_instruct'"):
        get_renderer("qwen3_instruc", ByteTokenizer())


def test_registered_factory_is_used() -> None:
    register_renderer("test/my_format", lambda tok: Qwen3InstructRenderer(tok))
    assert isinstance(get_renderer("test/my_format", ByteTokenizer()), Qwen3InstructRenderer)
    assert "test/my_format" in renderer_names()


@pytest.mark.parametrize(
    ("model", "renderer"),
    [
        ("cookbook/tiny-chat", "qwen3_instruct"),
        ("Qwen/Qwen3-8B", "qwen3"),
        ("Qwen/Qwen3-30B-A3B-Instruct-2507", "qwen3_instruct"),
        ("meta-llama/Llama-3.1-8B-Instruct", "llama3"),
        ("meta-llama/Llama-3.2-1B", "role_colon"),
        ("deepseek-ai/DeepSeek-V3.1", "deepseekv3"),
        ("openai/gpt-oss-20b", "gpt_oss_no_sysprompt"),
        ("Qwen/Qwen3-1.7B", "qwen3"),
        ("Qwen/Qwen3-0.6B-Base", "role_colon"),
        ("Qwen/Qwen3-4B-Instruct-2507", "qwen3_instruct"),
        ("meta-llama/Llama-3.2-1B-Instruct", "llama3"),
        ("deepseek-ai/DeepSeek-V3-0324", "deepseekv3"),
    ],
)
def test_recommended_renderer(model: str, renderer: str) -> None:
    assert recommended_renderer(model) == renderer


def test_recommendation_for_an_unknown_model_is_an_error() -> None:
    with pytest.raises(UnknownNameError, match="nobody/model"):
        recommended_renderer("nobody/model")
