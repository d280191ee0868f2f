"""The fakes hold to the same port contract every adapter is tested against."""

from __future__ import annotations

from typing import Any

import pytest
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.testing import (
    BLOB_STORE_CHECKS,
    DATASET_STORE_CHECKS,
    EMBEDDING_CHECKS,
    FEEDBACK_STORE_CHECKS,
    HUB_CHECKS,
    METRICS_SINK_CHECKS,
    REGISTRY_CHECKS,
    SERVICE_CHECKS,
    FakeBlobStore,
    FakeDatasetStore,
    FakeEmbeddingClient,
    FakeFeedbackStore,
    FakeHubClient,
    FakeMetricsSink,
    FakeModelRegistry,
    FakeServiceClient,
)


@pytest.mark.parametrize("check", BLOB_STORE_CHECKS.values(), ids=list(BLOB_STORE_CHECKS))
async def test_blob_contract(check: Any) -> None:
    await check(FakeBlobStore())


def _datasets(splits: dict[str, list[dict[str, Any]]]) -> tuple[FakeDatasetStore, DatasetRef]:
    return FakeDatasetStore({"d": splits}), DatasetRef(name="d")


@pytest.mark.parametrize("check", DATASET_STORE_CHECKS.values(), ids=list(DATASET_STORE_CHECKS))
async def test_dataset_contract(check: Any) -> None:
    await check(_datasets)


@pytest.mark.parametrize("check", SERVICE_CHECKS.values(), ids=list(SERVICE_CHECKS))
async def test_service_contract(check: Any) -> None:
    await check((FakeServiceClient(), "fake/model"))


@pytest.mark.parametrize("check", HUB_CHECKS.values(), ids=list(HUB_CHECKS))
async def test_hub_contract(check: Any) -> None:
    files = {"config.json": b"{}", "weights.bin": b"\x00\x01"}
    await check((FakeHubClient({"org/repo": files}), "org/repo", files))


@pytest.mark.parametrize("check", EMBEDDING_CHECKS.values(), ids=list(EMBEDDING_CHECKS))
async def test_embedding_contract(check: Any) -> None:
    await check(FakeEmbeddingClient())


async def test_training_requests_execute_in_submission_order() -> None:
    service = FakeServiceClient(server_time=0.001)
    client = await service.create_lora_training_client("m")
    from cookbook_runtime.testing.contract import _datum
    from cookbook_runtime.train import AdamParams

    data = [_datum([1, 2, 3, 4])]
    handles = [await client.forward_backward(data, "cross_entropy"), await client.optim_step(AdamParams())]
    handles.append(await client.forward_backward(data, "cross_entropy"))
    assert client.completed == []  # queued, not yet executed
    for h in reversed(handles):
        await h.result()
    assert [name for name, _ in client.completed] == ["forward_backward", "optim_step", "forward_backward"]
    await client.close()


@pytest.mark.parametrize("check", METRICS_SINK_CHECKS.values(), ids=list(METRICS_SINK_CHECKS))
async def test_metrics_sink_contract(check: Any) -> None:
    sink = FakeMetricsSink()
    await check(sink)
    assert sink.closed and sink.config is not None and len(sink.rows) == 4


@pytest.mark.parametrize("check", FEEDBACK_STORE_CHECKS.values(), ids=list(FEEDBACK_STORE_CHECKS))
async def test_feedback_store_contract(check: Any) -> None:
    await check(FakeFeedbackStore())


@pytest.mark.parametrize("check", REGISTRY_CHECKS.values(), ids=list(REGISTRY_CHECKS))
async def test_registry_contract(check: Any) -> None:
    blobs = FakeBlobStore()
    await check((FakeModelRegistry(blobs), blobs))
