"""Fixtures of the deploy tests: the tiny model's two sampler checkpoints, built once per session."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("torch")
pytest.importorskip("fastapi")
pytest.importorskip("openai")

from cookbook_adapters.local import tiny_chat_dir
from deploy_checkpoints import Checkpoints, save_two


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Checkpoints:
    cache = tmp_path_factory.mktemp("cookbook-cache")
    tiny_chat_dir(cache)
    v1, v2 = asyncio.run(save_two(cache, tmp_path_factory.mktemp("states")))
    return Checkpoints(cache, v1, v2)
