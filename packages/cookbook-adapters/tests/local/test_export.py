"""Exported weights load back in peft and transformers and score text as the engine does."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from cookbook_adapters.local import LocalServiceClient, LocalWeightsExporter, tiny_chat_dir
from cookbook_runtime.errors import ConfigError, StageFailed
from cookbook_runtime.framework import run
from cookbook_runtime.ir import Experiment, StageSpec
from cookbook_runtime.ports import Ports
from cookbook_runtime.train.types import AdamParams, ModelInput
from local_data import batch
from peft import AutoPeftModelForCausalLM
from safetensors import safe_open
from transformers import AutoModelForCausalLM, AutoTokenizer

TEXT = "What is 12 + 7? The answer is 19, and abc reversed is cba."


async def _trained(service: LocalServiceClient, tiny: str, rank: int) -> tuple[Any, str, str]:
    """A client trained a few steps (so a LoRA's B factors are far from zero), its sampler and state paths."""
    client = await service.create_lora_training_client(tiny, rank=rank, seed=0)
    data = batch(client.tokenizer())
    for _ in range(4):
        await client.forward_backward(data, "cross_entropy")
        await client.optim_step(AdamParams(learning_rate=2e-2 if rank else 1e-3))
    sampler = await (await client.save_weights_for_sampler("final")).result()
    state = await (await client.save_state("final")).result()
    return client, sampler, state


def _logprobs(model: Any, ids: list[int]) -> list[float]:
    with torch.no_grad():
        logits = model.eval()(input_ids=torch.tensor([ids])).logits.float()
    picked = torch.log_softmax(logits[0, :-1], -1).gather(-1, torch.tensor(ids[1:]).unsqueeze(-1))
    out: list[float] = picked.squeeze(-1).tolist()
    return out


async def _engine_logprobs(service: LocalServiceClient, sampler: str, ids: list[int]) -> list[float]:
    client = await service.create_sampling_client(model_path=sampler)
    found = await client.compute_logprobs(ModelInput.from_ints(ids))
    await client.close()
    return [x for x in found[1:] if x is not None]


@pytest.fixture
def exporter(model_cache: Path) -> LocalWeightsExporter:
    return LocalWeightsExporter(device="cpu", cache_dir=model_cache)


async def test_lora_exports_match_the_engine(
    service: LocalServiceClient, tiny: str, model_cache: Path, exporter: LocalWeightsExporter, tmp_path: Path
) -> None:
    client, sampler, _ = await _trained(service, tiny, rank=4)
    ids = client.tokenizer().encode(TEXT, add_special_tokens=False)
    engine = await _engine_logprobs(service, sampler, ids)

    started = time.perf_counter()
    result = await exporter.export(sampler, tmp_path / "out")
    print(f"export (adapter + merged) took {time.perf_counter() - started:.2f}s")
    assert (result.base_model, result.lora_rank) == (tiny, 4)
    adapter_dir, merged_dir = Path(str(result.peft_adapter_dir)), Path(str(result.merged_dir))
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json"} <= {p.name for p in adapter_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in merged_dir.iterdir()}

    merged = AutoModelForCausalLM.from_pretrained(merged_dir)
    peft_model = AutoPeftModelForCausalLM.from_pretrained(adapter_dir)  # finds the base from the config
    base = AutoModelForCausalLM.from_pretrained(tiny_chat_dir(model_cache))
    assert AutoTokenizer.from_pretrained(merged_dir).encode(TEXT, add_special_tokens=False) == ids
    assert AutoTokenizer.from_pretrained(adapter_dir).encode(TEXT, add_special_tokens=False) == ids

    assert _logprobs(merged, ids) == pytest.approx(engine, abs=1e-4)
    assert _logprobs(peft_model, ids) == pytest.approx(engine, abs=1e-4)
    with torch.no_grad():
        a = merged(input_ids=torch.tensor([ids])).logits
        b = peft_model(input_ids=torch.tensor([ids])).logits
    assert torch.allclose(a, b, atol=1e-4), float((a - b).abs().max())
    drift = max(abs(x - y) for x, y in zip(_logprobs(base, ids), engine, strict=True))
    assert drift > 1e-2, f"training moved the logprobs by only {drift}: the comparison would not catch a lost adapter"


async def test_a_saved_state_exports_the_same_weights(
    service: LocalServiceClient, tiny: str, exporter: LocalWeightsExporter, tmp_path: Path
) -> None:
    client, sampler, state = await _trained(service, tiny, rank=4)
    ids = client.tokenizer().encode(TEXT, add_special_tokens=False)
    from_state = await exporter.export(state, tmp_path / "state", formats=["merged"])
    assert from_state.peft_adapter_dir is None and from_state.checkpoint == state
    merged = AutoModelForCausalLM.from_pretrained(str(from_state.merged_dir))
    assert _logprobs(merged, ids) == pytest.approx(await _engine_logprobs(service, sampler, ids), abs=1e-4)


async def test_full_finetune_exports_merged_weights_only(
    service: LocalServiceClient, tiny: str, exporter: LocalWeightsExporter, tmp_path: Path
) -> None:
    client, sampler, _ = await _trained(service, tiny, rank=0)
    ids = client.tokenizer().encode(TEXT, add_special_tokens=False)
    with pytest.raises(ConfigError, match="full fine-tune"):
        await exporter.export(sampler, tmp_path / "x")
    result = await exporter.export(sampler, tmp_path / "full", formats=["merged"])
    merged = AutoModelForCausalLM.from_pretrained(str(result.merged_dir))
    assert _logprobs(merged, ids) == pytest.approx(await _engine_logprobs(service, sampler, ids), abs=1e-4)


async def test_bfloat16_export(
    service: LocalServiceClient, tiny: str, exporter: LocalWeightsExporter, tmp_path: Path
) -> None:
    _, sampler, _ = await _trained(service, tiny, rank=4)
    result = await exporter.export(sampler, tmp_path / "bf16", formats=["merged"], dtype="bfloat16")
    merged_dir = Path(str(result.merged_dir))
    with safe_open(str(merged_dir / "model.safetensors"), "pt") as f:
        dtypes = {f.get_slice(k).get_dtype() for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
    assert dtypes == {"BF16"}, dtypes
    assert json.loads((merged_dir / "config.json").read_text())["dtype"] == "bfloat16"


async def test_bad_checkpoints_are_config_errors(exporter: LocalWeightsExporter, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sampler weights, which cannot be downloaded"):
        await exporter.export("tinker://run-1/sampler_weights/final", tmp_path / "x")
    with pytest.raises(ConfigError, match="not a Tinker checkpoint path"):
        await exporter.export("tinker://run-1/final", tmp_path / "x")
    with pytest.raises(ConfigError, match="not a directory"):
        await exporter.export(str(tmp_path / "missing"), tmp_path / "x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="neither saved sampler weights"):
        await exporter.export(str(tmp_path / "empty"), tmp_path / "x")
    assert not (tmp_path / "x").exists()


async def test_export_stage_through_the_runner(
    service: LocalServiceClient, tiny: str, exporter: LocalWeightsExporter, tmp_path: Path
) -> None:
    _, sampler, _ = await _trained(service, tiny, rank=4)
    spec = Experiment(id="export", pipeline=[StageSpec(name="export", options={"checkpoint_path": sampler})])
    ctx = await run(spec, Ports(exporter=exporter), tmp_path / "run")
    out = ctx.outputs["export"]
    assert out["merged_dir"] == str((tmp_path / "run" / "export" / "merged").resolve())
    assert Path(out["peft_adapter_dir"], "adapter_model.safetensors").is_file()
    bad = Experiment(id="export", pipeline=[StageSpec(name="export", options={"checkpoint_path": str(tmp_path)})])
    with pytest.raises(StageFailed, match="neither saved sampler weights"):
        await run(bad, Ports(exporter=exporter), tmp_path / "bad")


async def test_a_bare_peft_adapter_directory_exports_with_a_given_base(
    service: LocalServiceClient, tiny: str, exporter: LocalWeightsExporter, tmp_path: Path
) -> None:
    """What `tinker checkpoint download` leaves: adapter files only, naming a base not on this machine."""
    import shutil

    client, sampler, _ = await _trained(service, tiny, rank=4)
    bare = tmp_path / "downloaded"
    bare.mkdir()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        shutil.copy2(Path(sampler) / name, bare / name)
    config = json.loads((bare / "adapter_config.json").read_text())
    (bare / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": "org/not-here"}))
    with pytest.raises(ConfigError, match="org/not-here"):
        await exporter.export(str(bare), tmp_path / "nobase", formats=["merged"])
    result = await exporter.export(str(bare), tmp_path / "out", formats=["merged"], base_model=tiny)
    ids = client.tokenizer().encode(TEXT, add_special_tokens=False)
    merged = AutoModelForCausalLM.from_pretrained(str(result.merged_dir))
    assert _logprobs(merged, ids) == pytest.approx(await _engine_logprobs(service, sampler, ids), abs=1e-4)
