"""Saved states resume training; saved sampler weights load in peft and transformers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cookbook_adapters.local import LocalServiceClient, tiny_chat_dir
from cookbook_runtime.train.types import AdamParams, ModelInput
from local_data import batch
from peft import PeftModel
from transformers import AutoModelForCausalLM


async def test_state_round_trip_continues_identically(
    service: LocalServiceClient, tiny: str
) -> None:
    client = await service.create_lora_training_client(tiny, rank=4, seed=0)
    data = batch(client.tokenizer())
    await client.forward_backward(data, "cross_entropy")
    await client.optim_step(AdamParams(learning_rate=1e-2))
    path = await (await client.save_state("ckpt")).result()
    assert Path(path).is_absolute() and Path(path).is_dir()

    resumed = await service.create_training_client_from_state(path)
    assert resumed.step == 1
    for c in (client, resumed):  # one more identical step on each: Adam moments must match too
        await c.forward_backward(data, "cross_entropy")
        await c.optim_step(AdamParams(learning_rate=1e-2))
    a = (await (await client.forward(data)).result()).loss_fn_outputs[0]["logprobs"].data
    b = (await (await resumed.forward(data)).result()).loss_fn_outputs[0]["logprobs"].data
    assert a == pytest.approx(b, abs=1e-5)


async def test_load_state_into_a_fresh_client(service: LocalServiceClient, tiny: str) -> None:
    client = await service.create_lora_training_client(tiny, rank=4, seed=0)
    data = batch(client.tokenizer())
    await client.forward_backward(data, "cross_entropy")
    await client.optim_step(AdamParams(learning_rate=1e-2))
    path = await (await client.save_state("s")).result()
    other = await service.create_lora_training_client(tiny, rank=4, seed=1)
    await (await other.load_state(path, with_optimizer=False)).result()
    a = (await (await client.forward(data)).result()).loss_fn_outputs[0]["logprobs"].data
    b = (await (await other.forward(data)).result()).loss_fn_outputs[0]["logprobs"].data
    assert a == pytest.approx(b, abs=1e-6)


async def test_peft_loads_the_sampler_adapter(
    service: LocalServiceClient, tiny: str, model_cache: Path
) -> None:
    client = await service.create_lora_training_client(tiny, rank=4, seed=0)
    data = batch(client.tokenizer())
    for _ in range(2):
        await client.forward_backward(data, "cross_entropy")
        await client.optim_step(AdamParams(learning_rate=1e-2))
    path = await (await client.save_weights_for_sampler("final")).result()
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {
        p.name for p in Path(path).iterdir()
    }

    base = AutoModelForCausalLM.from_pretrained(tiny_chat_dir(model_cache))
    model = PeftModel.from_pretrained(base, path).eval()
    ids = client.tokenizer().encode("What is 12 + 7?", add_special_tokens=False)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits
    lp = (
        torch.log_softmax(logits[0, :-1], -1)
        .gather(-1, torch.tensor(ids[1:]).unsqueeze(-1))
        .squeeze(-1)
    )

    sampler = await service.create_sampling_client(model_path=path)
    ours = await sampler.compute_logprobs(ModelInput.from_ints(ids))
    assert ours[1:] == pytest.approx(lp.tolist(), abs=1e-4)


async def test_full_finetune_sampler_is_an_hf_model_dir(
    service: LocalServiceClient, tiny: str
) -> None:
    client = await service.create_lora_training_client(tiny, rank=0, seed=0)
    path = await (await client.save_weights_for_sampler("full")).result()
    model = AutoModelForCausalLM.from_pretrained(path)
    assert model.config.model_type == "qwen3"
    sampler = await service.create_sampling_client(model_path=path)
    assert sampler.tokenizer().eos_token_id == client.tokenizer().eos_token_id
