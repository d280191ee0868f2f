"""Which models the local engine opens, and how it rejects bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from cookbook_adapters.local import LocalServiceClient, tiny_chat_dir
from cookbook_runtime.errors import ConfigError, DataError
from cookbook_runtime.train.types import Datum, ImageChunk, ModelInput
from local_data import batch


async def test_local_directory_is_a_base_model(service: LocalServiceClient, model_cache: Path) -> None:
    directory = str(tiny_chat_dir(model_cache))
    client = await service.create_lora_training_client(directory, rank=2, seed=0)
    out = await (await client.forward(batch(client.tokenizer()))).result()
    assert len(out.loss_fn_outputs) == 2
    assert (await client.info()).base_model == directory


async def test_a_directory_under_a_given_name(model_cache: Path, tmp_path: Path) -> None:
    from cookbook_adapters.local._checkpoints import read_state_meta

    directory = tiny_chat_dir(model_cache)
    service = LocalServiceClient(
        device="cpu", cache_dir=model_cache, root=tmp_path, models={"org/served-name": directory}
    )
    try:
        client = await service.create_lora_training_client("org/served-name", rank=2, seed=0)
        assert (await client.info()).base_model == "org/served-name"
        path = await (await client.save_state("named")).result()
        assert read_state_meta(path).base_model == "org/served-name"
        resumed = await service.create_training_client_from_state(path)
        assert (await resumed.info()).base_model == "org/served-name"
    finally:
        await service.close()


async def test_unknown_model_says_how_to_get_it(service: LocalServiceClient) -> None:
    with pytest.raises(ConfigError, match="not-a-real/model.*local HF cache"):
        service.get_tokenizer("not-a-real/model")


async def test_directory_without_config_is_rejected(service: LocalServiceClient, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no config.json"):
        await service.create_lora_training_client(str(tmp_path), rank=2)


async def test_bad_datums_fail_at_the_call(service: LocalServiceClient, tiny: str) -> None:
    client = await service.create_lora_training_client(tiny, rank=2, seed=0)
    no_targets = Datum(ModelInput.from_ints([1, 2, 3]))
    with pytest.raises(DataError, match="target_tokens"):
        await client.forward_backward([no_targets], "cross_entropy")
    image = Datum(ModelInput((ImageChunk(b"", "png", 4),)))
    with pytest.raises(DataError, match="text-only"):
        await client.forward([image])


def test_unknown_dtype_is_a_config_error(model_cache: Path) -> None:
    with pytest.raises(ConfigError, match="float64x"):
        LocalServiceClient(device="cpu", dtype="float64x", cache_dir=model_cache)
