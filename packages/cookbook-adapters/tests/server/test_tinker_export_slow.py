"""The `export` stage on a `tinker`-manifest run: its `tinker://` weights are downloaded and exported.

sl_basic trains through the tinker adapter against the local server; the export
stage then gets the run's final training state (Tinker has no sampler-weights
download), which the local exporter downloads through `save_weights_external`.
The merged model must score text as the server's sampler does on the final weights.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import tinker
import torch
from cookbook_adapters.local import LocalServiceClient
from cookbook_adapters.server import RunningServer, running_server
from cookbook_runtime.errors import UnknownNameError
from cookbook_runtime.ir import StageSpec
from cookbook_runtime.runtime import Runtime
from tinker import types

pytestmark = pytest.mark.slow

_TOKENS = [5, 17, 42, 9, 101, 3, 77, 12, 60, 8, 33]


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    with running_server(
        LocalServiceClient(device="cpu", root=tmp_path / "server-states")
    ) as running:
        monkeypatch.setenv("TINKER_BASE_URL", running.base_url)
        yield running


def _merged_logprobs(model_dir: str, tokens: list[int]) -> list[float]:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    with torch.no_grad():
        logits = model(torch.tensor([tokens])).logits[0].float()
    logprobs = torch.log_softmax(logits[:-1], dim=-1)
    return logprobs.gather(1, torch.tensor(tokens[1:])[:, None])[:, 0].tolist()


@pytest.mark.parametrize(
    ("lora_rank", "formats"), [(4, ["peft_adapter", "merged"]), (0, ["merged"])]
)
def test_export_stage_downloads_a_tinker_run(
    server: RunningServer, tmp_path: Path, lora_rank: int, formats: list[str]
) -> None:
    try:
        config: dict[str, Any] = Runtime("local").config("sl_basic").model_dump()
    except UnknownNameError:
        pytest.skip("the sl_basic recipe is not installed")
    config.update(
        max_steps=2, save_every=2, eval_every=2, lora_rank=lora_rank, log_path=str(tmp_path / "run")
    )
    runtime = Runtime("tinker")
    spec = runtime.build_spec("sl_basic", config)
    train = next(s for s in spec.pipeline if s.name == "supervised_train")
    export = StageSpec(name="export", options={"from_stage": train.key, "formats": formats})
    spec = spec.model_copy(update={"pipeline": [*spec.pipeline, export]})

    outputs = runtime.run_spec(spec).outputs
    sampler_path = outputs[train.key]["final_sampler_path"]
    assert sampler_path.startswith("tinker://"), sampler_path
    exported = outputs["export"]
    assert exported["checkpoint"] == outputs[train.key]["final_state_path"]
    assert exported["lora_rank"] == lora_rank
    if lora_rank:
        assert Path(exported["peft_adapter_dir"], "adapter_model.safetensors").is_file()

    service = tinker.ServiceClient(base_url=server.base_url)
    sampler = service.create_sampling_client(model_path=sampler_path).result()
    served = sampler.compute_logprobs(types.ModelInput.from_ints(_TOKENS)).result()[1:]
    merged = _merged_logprobs(exported["merged_dir"], _TOKENS)
    print("served", served, "\nmerged", merged)
    assert max(abs(a - b) for a, b in zip(merged, served, strict=True)) < 1e-3, (merged, served)
    service.close("success").result()

    left = tinker.RestClient(base_url=server.base_url).list_user_checkpoints(limit=1000).result()
    assert not [c.tinker_path for c in left.checkpoints if c.checkpoint_type == "external"]
