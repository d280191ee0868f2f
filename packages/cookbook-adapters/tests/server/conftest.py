"""A Tinker-compatible server over the runtime's fake backend, shared by the module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("tinker")
pytest.importorskip("fastapi")

from cookbook_adapters.server import RunningServer, running_server
from cookbook_runtime.testing import FakeServiceClient

DUMMY_KEY = "tml-dummy-key-never-logged-0123456789"


@pytest.fixture(scope="session", autouse=True)
def _sdk_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
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
def fake_server() -> Iterator[RunningServer]:
    with running_server(FakeServiceClient(), models=["fake/model"]) as server:
        yield server
