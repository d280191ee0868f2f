"""The tinker adapter's training and sampling clients, end to end through the SDK and server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import pytest
from cookbook_adapters.server import RunningServer, running_server
from cookbook_adapters.tinker import TinkerServiceClient, TinkerTrainingClient
from cookbook_runtime.testing import FakePending, FakeServiceClient, FakeTrainingClient
from cookbook_runtime.train.types import (
    AdamParams,
    Datum,
    ForwardBackwardOutput,
    LossName,
    ModelInput,
    SamplingParams,
    TensorData,
)


class RecordingTrainingClient(FakeTrainingClient):
    """Remembers the loss name and config of every forward_backward."""

    calls: list[tuple[str, dict[str, float] | None]]

    async def forward_backward(
        self,
        data: Sequence[Datum],
        loss_fn: LossName,
        loss_fn_config: Mapping[str, float] | None = None,
    ) -> FakePending[ForwardBackwardOutput]:
        self.calls.append((loss_fn, dict(loss_fn_config) if loss_fn_config is not None else None))
        return await super().forward_backward(data, loss_fn, loss_fn_config)


class RecordingService(FakeServiceClient):
    async def create_lora_training_client(
        self, base_model: str, **kwargs: Any
    ) -> FakeTrainingClient:
        client = RecordingTrainingClient(base_model, kwargs.get("rank", 32))
        client.calls = []
        self.training_clients.append(client)
        return client


@pytest.fixture(scope="module")
def recording_server() -> Iterator[tuple[RunningServer, RecordingService]]:
    backend = RecordingService()
    with running_server(backend, models=["fake/model"]) as server:
        yield server, backend


@pytest.fixture
async def service(fake_server: RunningServer) -> AsyncIterator[TinkerServiceClient]:
    svc = TinkerServiceClient(base_url=fake_server.base_url)
    yield svc
    await svc.close()


def _data() -> list[Datum]:
    tokens = list(b"tinker adapter")
    n = len(tokens) - 1
    return [
        Datum(
            ModelInput.from_ints(tokens[:-1]),
            {
                "target_tokens": TensorData.from_list(tokens[1:], "int64"),
                "weights": TensorData.from_list([1.0] * n, "float32"),
                "logprobs": TensorData.from_list([-1.0] * n, "float32"),
                "advantages": TensorData.from_list([0.5] * n, "float32"),
            },
        )
    ]


@pytest.mark.parametrize("loss", ["cross_entropy", "importance_sampling", "ppo", "cispo", "dro"])
async def test_every_loss_and_config_reaches_the_backend(
    loss: LossName, recording_server: tuple[RunningServer, RecordingService]
) -> None:
    server, backend = recording_server
    svc = TinkerServiceClient(base_url=server.base_url)
    client = await svc.create_lora_training_client("fake/model", rank=2)
    config = (
        {"clip_low_threshold": 0.75, "clip_high_threshold": 1.25}
        if loss != "cross_entropy"
        else None
    )
    await (await client.forward_backward(_data(), loss, config)).result()
    recorded = backend.training_clients[-1]
    assert isinstance(recorded, RecordingTrainingClient)
    assert recorded.calls == [(loss, config)]
    await svc.close()


async def test_lora_options_and_info(service: TinkerServiceClient) -> None:
    client = await service.create_lora_training_client(
        "fake/model", rank=8, seed=3, train_mlp=False, train_attn=True, train_unembed=False
    )
    info = await client.info()
    assert (info.base_model, info.lora_rank) == ("fake/model", 8)
    assert info.tokenizer_id and info.model_id
    assert (
        client.tokenizer().decode(client.tokenizer().encode("abc", add_special_tokens=False))
        == "abc"
    )


async def test_custom_loss_sees_logprobs(service: TinkerServiceClient) -> None:
    client = await service.create_lora_training_client("fake/model", rank=2)
    seen: list[int] = []

    def loss_fn(data: list[Datum], logprobs: list[Any]) -> tuple[Any, dict[str, float]]:
        seen.extend(len(lp) for lp in logprobs)
        total = sum((-lp).sum() for lp in logprobs)
        return total, {"custom_metric": 1.5}

    out = await (await client.forward_backward_custom(_data(), loss_fn)).result()
    assert seen == [len(_data()[0].model_input.to_ints())]
    assert out.metrics["custom_metric"] == 1.5


async def test_state_round_trips_with_and_without_optimizer(service: TinkerServiceClient) -> None:
    client = await service.create_lora_training_client("fake/model", rank=2)
    await client.forward_backward(_data(), "cross_entropy")
    await client.optim_step(AdamParams(learning_rate=1e-2))
    path = await (await client.save_state("ttl-state", ttl_seconds=3600)).result()
    expected = (await (await client.forward(_data())).result()).loss_fn_outputs[0]["logprobs"]
    for with_optimizer in (True, False):
        restored = await service.create_training_client_from_state(
            path, with_optimizer=with_optimizer
        )
        got = (await (await restored.forward(_data())).result()).loss_fn_outputs[0]["logprobs"]
        assert got == expected, f"with_optimizer={with_optimizer}"
    fresh = await service.create_lora_training_client("fake/model", rank=2)
    await (await fresh.load_state(path, with_optimizer=False)).result()
    assert (await (await fresh.forward(_data())).result()).loss_fn_outputs[0][
        "logprobs"
    ] == expected


async def _saved_state(service: TinkerServiceClient, name: str) -> tuple[str, list[float]]:
    """A trained state's path and the logprobs it gives `_data()`."""
    client = await service.create_lora_training_client("fake/model", rank=2)
    await client.forward_backward(_data(), "cross_entropy")
    await client.optim_step(AdamParams(learning_rate=1e-2))
    path = await (await client.save_state(name)).result()
    logprobs = (await (await client.forward(_data())).result()).loss_fn_outputs[0]["logprobs"]
    return path, list(logprobs.data)


async def test_load_state_calls_no_retired_sdk_method(
    service: TinkerServiceClient, caplog: pytest.LogCaptureFixture
) -> None:
    path, _ = await _saved_state(service, "retired-check")
    fresh = await service.create_lora_training_client("fake/model", rank=2)
    with caplog.at_level(logging.WARNING, logger="tinker"):
        for with_optimizer in (True, False):
            await (await fresh.load_state(path, with_optimizer=with_optimizer)).result()
    retired = [r.getMessage() for r in caplog.records if "DEPRECATED" in r.getMessage()]
    assert not retired, f"load_state went through a retired SDK method: {retired}"


async def test_requests_queued_after_load_state_see_the_loaded_weights(
    service: TinkerServiceClient,
) -> None:
    path, expected = await _saved_state(service, "queued-after-load")
    fresh = await service.create_lora_training_client("fake/model", rank=2)
    loading = await fresh.load_state(path, with_optimizer=False)
    forward = await fresh.forward(_data())  # queued before the load's result is awaited
    await loading.result()
    got = (await forward.result()).loss_fn_outputs[0]["logprobs"]
    assert list(got.data) == expected


async def test_named_sampler_weights_and_sampling_clients(service: TinkerServiceClient) -> None:
    client = await service.create_lora_training_client("fake/model", rank=2)
    assert isinstance(client, TinkerTrainingClient)
    path = await (await client.save_weights_for_sampler("named")).result()
    assert path.startswith("tinker://") and path.endswith("/named")
    prompt = ModelInput.from_ints(list(b"hi"))
    params = SamplingParams(max_tokens=4, seed=5)
    from_path = await service.create_sampling_client(model_path=path)
    named = await client.sampling_client("named-2")
    a = await from_path.sample(prompt, 1, params)
    b = await named.sample(prompt, 1, params)
    assert a.sequences[0].tokens == b.sequences[0].tokens
    base = await service.create_sampling_client(base_model="fake/model")
    assert base.tokenizer().encode("x", add_special_tokens=False) == [ord("x")]


async def test_tokenizer_of_an_unpublished_model_comes_from_the_service() -> None:
    with running_server(
        FakeServiceClient()
    ) as server:  # no models announced, nothing in the HF cache
        svc = TinkerServiceClient(base_url=server.base_url)
        tokenizer = svc.get_tokenizer("fake/unpublished")
        assert tokenizer.encode("ok", add_special_tokens=False) == [ord("o"), ord("k")]
        assert tokenizer.convert_tokens_to_ids("<|im_start|>") == 257
        await svc.close()
