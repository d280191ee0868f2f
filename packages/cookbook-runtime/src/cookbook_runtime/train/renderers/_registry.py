"""Renderers by name, and which renderer suits which model.

Names are the ones tinker-cookbook uses, so a config written for it picks the same
format here. Third-party packages add formats with `register_renderer`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from cookbook_runtime.errors import UnknownNameError
from cookbook_runtime.train.renderers._protocol import Renderer
from cookbook_runtime.train.renderers.deepseek_v3 import (
    DeepSeekV3DisableThinkingRenderer,
    DeepSeekV3ThinkingRenderer,
)
from cookbook_runtime.train.renderers.gpt_oss import GptOssRenderer
from cookbook_runtime.train.renderers.llama3 import Llama3Renderer
from cookbook_runtime.train.renderers.qwen3 import (
    Qwen3DisableThinkingRenderer,
    Qwen3InstructRenderer,
    Qwen3Renderer,
)
from cookbook_runtime.train.renderers.role_colon import RoleColonRenderer
from cookbook_runtime.types import Tokenizer

__all__ = ["get_renderer", "recommended_renderer", "register_renderer", "renderer_names"]

RendererFactory = Callable[[Tokenizer], Renderer]

_FACTORIES: dict[str, RendererFactory] = {
    "role_colon": RoleColonRenderer,
    "llama3": Llama3Renderer,
    "qwen3": Qwen3Renderer,
    "qwen3_disable_thinking": Qwen3DisableThinkingRenderer,
    "qwen3_instruct": Qwen3InstructRenderer,
    "deepseekv3": DeepSeekV3DisableThinkingRenderer,
    "deepseekv3_disable_thinking": DeepSeekV3DisableThinkingRenderer,
    "deepseekv3_thinking": DeepSeekV3ThinkingRenderer,
    "gpt_oss_no_sysprompt": GptOssRenderer,
    "gpt_oss_low_reasoning": lambda tok: GptOssRenderer(tok, reasoning_effort="low"),
    "gpt_oss_medium_reasoning": lambda tok: GptOssRenderer(tok, reasoning_effort="medium"),
    "gpt_oss_high_reasoning": lambda tok: GptOssRenderer(tok, reasoning_effort="high"),
}

# Model name (without the org) -> recommended renderer, as tinker-cookbook recommends.
_RECOMMENDED: dict[str, str] = {
    "cookbook/tiny-chat": "qwen3_instruct",
    "Llama-3.1-8B-Instruct": "llama3",
    "Llama-3.3-70B-Instruct": "llama3",
    "Llama-3.2-1B": "role_colon",
    "Llama-3.2-3B": "role_colon",
    "Llama-3.1-8B": "role_colon",
    "Llama-3.1-70B": "role_colon",
    "Qwen3-8B-Base": "role_colon",
    "Qwen3-30B-A3B-Base": "role_colon",
    "Qwen3-8B": "qwen3",
    "Qwen3-32B": "qwen3",
    "Qwen3-30B-A3B": "qwen3",
    "Qwen3-4B-Instruct-2507": "qwen3_instruct",
    "Qwen3-30B-A3B-Instruct-2507": "qwen3_instruct",
    "Qwen3-235B-A22B-Instruct-2507": "qwen3_instruct",
    "DeepSeek-V3.1": "deepseekv3",
    "DeepSeek-V3.1-Base": "role_colon",
    "gpt-oss-20b": "gpt_oss_no_sysprompt",
    "gpt-oss-120b": "gpt_oss_no_sysprompt",
}


# Family rules for sizes the table does not list, tried in order on the name without its org.
_FAMILIES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)^qwen3-.*-instruct-2507$"), "qwen3_instruct"),
    (re.compile(r"(?i)^qwen3-.*-base$"), "role_colon"),
    (re.compile(r"(?i)^qwen3-[\d.]+b(-a[\d.]+b)?(-fp8)?$"), "qwen3"),
    (re.compile(r"(?i)^(meta-)?llama-3(\.\d)?-.*-instruct$"), "llama3"),
    (re.compile(r"(?i)^(meta-)?llama-3(\.\d)?-[\d.]+b$"), "role_colon"),
    (re.compile(r"(?i)^deepseek-v3(\.\d)?-base$"), "role_colon"),
    (re.compile(r"(?i)^deepseek-v3(\.\d)?(-\w+)?$"), "deepseekv3"),
    (re.compile(r"(?i)^gpt-oss-\d+b$"), "gpt_oss_no_sysprompt"),
]


def register_renderer(name: str, factory: RendererFactory) -> None:
    """Make `get_renderer(name, tokenizer)` call `factory(tokenizer)`; replaces a same-named entry."""
    _FACTORIES[name] = factory


def renderer_names() -> list[str]:
    """Every name `get_renderer` accepts, sorted."""
    return sorted(_FACTORIES)


def get_renderer(name: str, tokenizer: Tokenizer) -> Renderer:
    """The renderer called `name`, over `tokenizer`."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise UnknownNameError("renderer", name, _FACTORIES)
    return factory(tokenizer)


def recommended_renderer(model_name: str) -> str:
    """The renderer a model was trained with, e.g. `Qwen/Qwen3-8B` -> `qwen3`.

    The org prefix is optional (`Qwen3-8B` works too), except for `cookbook/` models.
    Sizes the table does not list fall back to their family (`Qwen/Qwen3-1.7B` -> `qwen3`).
    """
    short = model_name.split("/", 1)[-1]
    found = _RECOMMENDED.get(model_name) or _RECOMMENDED.get(short)
    if found is None:
        found = next((name for pattern, name in _FAMILIES if pattern.match(short)), None)
    if found is None:
        raise UnknownNameError("model (for a recommended renderer)", model_name, _RECOMMENDED)
    return found
