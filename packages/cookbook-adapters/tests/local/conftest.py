"""Shared fixtures: one tiny-model cache per test session, states in a temp dir."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")

from cookbook_adapters.local import TINY_CHAT, LocalServiceClient, tiny_chat_dir


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding the built tiny model, built once per session."""
    root = tmp_path_factory.mktemp("cookbook-cache")
    tiny_chat_dir(root)
    return root


@pytest.fixture
async def service(model_cache: Path, tmp_path: Path) -> AsyncIterator[LocalServiceClient]:
    svc = LocalServiceClient(device="cpu", cache_dir=model_cache, root=tmp_path / "states")
    yield svc
    await svc.close()


@pytest.fixture
def tiny() -> str:
    return TINY_CHAT
