"""The runtime's service port contract holds for the tinker adapter against the local server,
over the fake backend and over the local engine (the server's default)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cookbook_adapters.server import RunningServer, running_server
from cookbook_adapters.tinker import TinkerServiceClient
from cookbook_runtime.testing import SERVICE_CHECKS, ServiceSubject


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    pytest.importorskip("torch")
    from cookbook_adapters.local import TINY_CHAT, LocalServiceClient

    states: Path = tmp_path_factory.mktemp("contract-states")
    with running_server(
        LocalServiceClient(device="cpu", root=states), models=[TINY_CHAT]
    ) as server:
        yield server


@pytest.fixture(params=["fake", "local"])
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[ServiceSubject]:
    if request.param == "fake":
        server: RunningServer = request.getfixturevalue("fake_server")
        model = "fake/model"
    else:
        server = request.getfixturevalue("local_server")
        model = "cookbook/tiny-chat"
    service = TinkerServiceClient(base_url=server.base_url)
    yield service, model
    await service.close()


@pytest.mark.parametrize("check", sorted(SERVICE_CHECKS))
async def test_service_contract(check: str, subject: ServiceSubject) -> None:
    await SERVICE_CHECKS[check](subject)
