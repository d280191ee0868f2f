"""The registry end to end on the local engine: train the tiny model, register, promote, serve the fetched weights."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from cli_helpers import run_cli

pytestmark = pytest.mark.slow


def test_a_local_run_registers_real_weights_that_load_back(tmp_path: Path) -> None:
    env = {"COOKBOOK_DATA_DIR": str(tmp_path / "data")}
    spec = run_cli("spec", "sl_basic", "log_path=runs/sl", module=True, env=env)
    assert spec.returncode == 0, spec.stderr
    experiment = json.loads(spec.stdout)
    experiment["training"]["max_steps"] = 6
    experiment["pipeline"] = [
        {"name": "supervised_train"},
        {"name": "register", "options": {"name": "tiny-sft", "description": "six steps"}},
        {"name": "promote", "options": {"to": "staging", "max": {"test/nll": 100.0}}},
        {"name": "promote", "id": "release", "options": {"to": "production", "max": {"test/nll": 0.001}}},
    ]
    (tmp_path / "exp.json").write_text(json.dumps(experiment))
    started = time.perf_counter()
    ran = run_cli("run-spec", "exp.json", module=True, env=env, timeout=900)
    print(f"train + register + promote: {time.perf_counter() - started:.0f}s")
    assert ran.returncode == 0, ran.stderr[-3000:]

    shown = run_cli("models", "show", "tiny-sft:1", "--json", module=True, env=env)
    assert shown.returncode == 0, shown.stderr
    version = json.loads(shown.stdout)
    assert version["stage"] == "staging", version["history"]  # the production gate failed, and is recorded
    assert [(h["to_stage"], h["accepted"]) for h in version["history"]] == [("staging", True), ("production", False)]
    assert version["base_model"] == "cookbook/tiny-chat" and version["renderer"] == "qwen3_instruct"
    assert 0.0 < version["metrics"]["test/nll"] < 100.0 and "time/step" not in version["metrics"]
    sampler = next(a for a in version["artifacts"] if a["name"] == "sampler")
    assert sampler["storage"] == "blobs" and any(f["path"].endswith(".safetensors") for f in sampler["files"])

    async def sample_from_the_registry() -> list[int]:
        from cookbook_adapters.files import FileBlobStore
        from cookbook_adapters.local import LocalServiceClient
        from cookbook_adapters.sqlite import SqliteModelRegistry
        from cookbook_runtime.train.types import ModelInput, SamplingParams

        registry = SqliteModelRegistry(tmp_path / "data" / "registry.db", blobs=FileBlobStore(tmp_path / "data" / "blobs"))
        weights = await registry.fetch_artifact("tiny-sft", 1, "sampler", tmp_path / "fetched")
        await registry.close()
        service = LocalServiceClient(root=tmp_path / "engine")
        client = await service.create_sampling_client(model_path=str(weights))
        tokenizer = client.tokenizer()
        prompt = ModelInput.from_ints(tokenizer.encode("reverse a b c", add_special_tokens=False))
        result = await client.sample(prompt, 1, SamplingParams(max_tokens=4, temperature=0.0))
        await client.close()
        await service.close()
        return list(result.sequences[0].tokens)

    tokens = asyncio.run(sample_from_the_registry())
    assert 1 <= len(tokens) <= 4, f"the fetched sampler weights sampled {tokens}"
