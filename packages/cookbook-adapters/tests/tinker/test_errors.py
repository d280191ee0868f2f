"""SDK failures surface as BackendErrors with a request id and without the API key."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from cookbook_adapters.server import RunningServer
from cookbook_adapters.tinker import TinkerServiceClient
from cookbook_adapters.tinker._errors import redact
from cookbook_runtime.errors import BackendError
from cookbook_runtime.train.types import Datum, ModelInput, TensorData

DUMMY_KEY = os.environ.get("TINKER_API_KEY", "tml-dummy-key-never-logged-0123456789")


async def test_unknown_checkpoint_is_a_backend_error_with_request_id(
    fake_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    service = TinkerServiceClient(base_url=fake_server.base_url)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(BackendError) as info:
        await service.create_training_client_from_state("tinker://nowhere/weights/x")
    assert "tinker://nowhere/weights/x" in str(info.value)
    assert info.value.request_id, "the error lost the service's request id"
    assert DUMMY_KEY not in str(info.value)
    assert DUMMY_KEY not in caplog.text
    await service.close()


async def test_failed_request_carries_its_request_id(fake_server: RunningServer) -> None:
    service = TinkerServiceClient(base_url=fake_server.base_url)
    client = await service.create_lora_training_client("fake/model", rank=2)
    datum = Datum(
        ModelInput.from_ints([1, 2]), {"target_tokens": TensorData.from_list([2, 3], "int64")}
    )
    handle = await client.forward_backward([datum], "not_a_loss")  # type: ignore[arg-type]
    with pytest.raises(BackendError) as info:
        await handle.result()
    assert "not_a_loss" in str(info.value)
    assert info.value.request_id is not None and info.value.request_id.startswith("req-")
    await service.close()


async def test_closed_training_client_refuses_calls(fake_server: RunningServer) -> None:
    service = TinkerServiceClient(base_url=fake_server.base_url)
    client = await service.create_lora_training_client("fake/model", rank=2)
    await client.close()
    with pytest.raises(BackendError, match="closed"):
        await client.save_state("after-close")
    await service.close()


def test_redact_hides_api_keys_and_tokens() -> None:
    text = f"auth failed for {DUMMY_KEY} and eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl"
    assert redact(text) == "auth failed for *** and ***"


async def test_missing_api_key_is_a_backend_error_saying_how_to_set_it(
    fake_server: RunningServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TINKER_API_KEY", raising=False)
    monkeypatch.delenv("TINKER_CREDENTIAL_CMD", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no stored credentials either
    service = TinkerServiceClient(base_url=fake_server.base_url)
    with pytest.raises(BackendError, match="TINKER_API_KEY"):
        await service.create_lora_training_client("fake/model", rank=2)


def test_remote_service_never_opens_a_run_to_find_a_tokenizer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    service = TinkerServiceClient(base_url="https://tinker.invalid")
    with pytest.raises(BackendError, match="huggingface-cli download org/never-cached"):
        service.get_tokenizer("org/never-cached")
    assert service._sdk is None  # no session, so no training run, was opened
