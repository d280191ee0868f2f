"""The runtime's service port contract holds for the tinker adapter against the local server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from cookbook_adapters.server import RunningServer
from cookbook_adapters.tinker import TinkerServiceClient
from cookbook_runtime.testing import SERVICE_CHECKS, ServiceSubject


@pytest.fixture
async def subject(fake_server: RunningServer) -> AsyncIterator[ServiceSubject]:
    service = TinkerServiceClient(base_url=fake_server.base_url)
    yield service, "fake/model"
    await service.close()


@pytest.mark.parametrize("check", sorted(SERVICE_CHECKS))
async def test_service_contract(check: str, subject: ServiceSubject) -> None:
    await SERVICE_CHECKS[check](subject)
