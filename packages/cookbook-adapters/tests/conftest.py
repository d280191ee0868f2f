"""Fixtures shared by the adapters' test folders.

The Tinker SDK fixtures live here (not in `tinker/` and `server/` each) and are
used only by the folders that request them, so the HF and S3 tests keep a normal
environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

DUMMY_KEY = "tml-dummy-key-never-logged-0123456789"


@pytest.fixture(scope="session")
def sdk_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The SDK's credential chain gets a dummy key; telemetry and the HF hub stay off.

    The HF cache moves to a temp dir, so tokenizers the server publishes stay there.
    """
    from huggingface_hub import constants

    mp = pytest.MonkeyPatch()
    mp.setattr(constants, "HF_HUB_CACHE", str(tmp_path_factory.mktemp("hf-hub-cache")))
    mp.setattr(constants, "HF_HUB_OFFLINE", True)
    mp.setenv("TINKER_API_KEY", DUMMY_KEY)
    mp.setenv("TINKER_TELEMETRY", "0")
    mp.setenv("HF_HUB_OFFLINE", "1")
    yield
    mp.undo()


@pytest.fixture(scope="session")
def fake_server(sdk_env: None) -> Iterator[Any]:
    """A Tinker-compatible server over the runtime's fake backend."""
    from cookbook_adapters.server import running_server
    from cookbook_runtime.testing import FakeServiceClient

    with running_server(FakeServiceClient(), models=["fake/model"]) as server:
        yield server
