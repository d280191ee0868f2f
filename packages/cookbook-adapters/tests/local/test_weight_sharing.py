"""Samplers from `sampling_client()` share the trainer's weights: a snapshot, no disk, freed on close."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest
from cookbook_adapters.local import LocalServiceClient
from cookbook_runtime.errors import BackendError
from cookbook_runtime.train.types import AdamParams, ModelInput, SamplingParams
from local_data import batch


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.parametrize("rank", [0, 8])
async def test_a_snapshot_ignores_later_steps_and_writes_no_files(
    service: LocalServiceClient, tiny: str, tmp_path: Path, rank: int
) -> None:
    client = await service.create_lora_training_client(tiny, rank=rank, seed=0)
    tok = client.tokenizer()
    data = batch(tok)
    prompt = ModelInput.from_ints(tok.encode("copy a b c", add_special_tokens=False))
    await client.forward_backward(data, "cross_entropy")
    await client.optim_step(AdamParams(learning_rate=1e-2))
    before = await client.sampling_client()  # queued after the step: sees its update
    first = await before.compute_logprobs(prompt)
    for _ in range(3):
        await client.forward_backward(data, "cross_entropy")
        await client.optim_step(AdamParams(learning_rate=1e-2))
    assert await before.compute_logprobs(prompt) == first, "later optimizer steps changed a snapshot"
    after = await client.sampling_client()
    assert await after.compute_logprobs(prompt) != first, "a new snapshot misses the later steps"
    trained = (await (await client.forward([data[0]])).result()).loss_fn_outputs[0]["logprobs"].data
    whole = [*data[0].model_input.to_ints(), int(data[0].loss_fn_inputs["target_tokens"].data[-1])]
    scored = await after.compute_logprobs(ModelInput.from_ints(whole))
    assert scored[1:] == pytest.approx(list(trained), abs=1e-4), "snapshot differs from the trainer's weights"
    assert not (tmp_path / "states" / "samplers").exists(), "sampling_client() wrote sampler files"
    await before.close()
    with pytest.raises(BackendError, match="closed"):
        await before.sample(prompt, 1, SamplingParams(max_tokens=2))
    await client.close()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
async def test_a_hundred_refreshes_keep_memory_flat(service: LocalServiceClient, tiny: str) -> None:
    client = await service.create_lora_training_client(tiny, rank=0, seed=0)
    tok = client.tokenizer()
    data = batch(tok)
    prompt = ModelInput.from_ints(tok.encode("sort c b a", add_special_tokens=False))
    params = SamplingParams(max_tokens=4, temperature=1.0, seed=0)

    async def refresh() -> None:
        await client.forward_backward(data, "cross_entropy")
        await client.optim_step(AdamParams(learning_rate=1e-3))
        sampler = await client.sampling_client()
        await sampler.sample(prompt, 2, params)
        await sampler.close()

    for _ in range(5):  # warm up allocator pools and the optimizer state
        await refresh()
    gc.collect()
    start = _rss_mb()
    for _ in range(100):
        await refresh()
    gc.collect()
    grown = _rss_mb() - start
    assert grown < 50, f"RSS grew {grown:.1f} MB over 100 sampler refreshes"
    await client.close()
