"""The local engine holds to the runtime's service port contract on the tiny model."""

from __future__ import annotations

from typing import Any

import pytest
from cookbook_adapters.local import TINY_CHAT, LocalServiceClient
from cookbook_runtime.testing import SERVICE_CHECKS


@pytest.mark.parametrize("check", SERVICE_CHECKS.values(), ids=list(SERVICE_CHECKS))
async def test_service_contract(check: Any, service: LocalServiceClient) -> None:
    await check((service, TINY_CHAT))
