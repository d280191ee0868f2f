"""`save_weights_external` and its download URLs, driven through the unmodified SDK.

The export is fetched with plain urllib from the URLs the server signs, loaded
with transformers + peft, and must score text as the server's own sampler does.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("pyrage")

import pyrage
import tinker
import torch
from cookbook_adapters.local import TINY_CHAT, LocalServiceClient
from cookbook_adapters.server import RunningServer, running_server
from tinker import types

_pyrage: Any = pyrage
_TOKENS = [5, 17, 42, 9, 101, 3, 77, 12, 60, 8, 33]


@contextmanager
def _server(root: Path, state_dir: Path | None = None) -> Iterator[RunningServer]:
    backend = LocalServiceClient(device="cpu", root=root)
    with running_server(backend, models=[TINY_CHAT], state_dir=state_dir) as server:
        yield server
    asyncio.run(backend.close())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with _server(tmp_path_factory.mktemp("external-files")) as running:
        yield running


def _trained(service: tinker.ServiceClient, steps: int = 3) -> tinker.TrainingClient:
    training = service.create_lora_training_client(base_model=TINY_CHAT, rank=4, seed=3).result()
    datum = types.Datum(
        model_input=types.ModelInput.from_ints(_TOKENS[:-1]),
        loss_fn_inputs={"target_tokens": _TOKENS[1:], "weights": [1.0] * (len(_TOKENS) - 1)},
    )
    for _ in range(steps):
        training.forward_backward([datum], "cross_entropy").result()
        training.optim_step(types.AdamParams(learning_rate=5e-2)).result()
    return training


def _fetch(urls: dict[str, str], dest: Path) -> dict[str, Path]:
    got: dict[str, Path] = {}
    for rel, url in urls.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(url, timeout=30) as response:
            target.write_bytes(response.read())
        got[rel] = target
    return got


def _status_and_detail(url: str) -> tuple[int, str]:
    try:
        urllib.request.urlopen(url, timeout=30).close()
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())["detail"]
    return 200, ""


def _peft_logprobs(adapter_dir: Path, tokens: list[int]) -> list[float]:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    base = AutoModelForCausalLM.from_pretrained(
        config["base_model_name_or_path"], dtype=torch.float32, local_files_only=True
    )
    model = PeftModel.from_pretrained(base, str(adapter_dir)).eval()
    with torch.no_grad():
        logits = model(torch.tensor([tokens])).logits[0].float()
    logprobs = torch.log_softmax(logits[:-1], dim=-1)
    return logprobs.gather(1, torch.tensor(tokens[1:])[:, None])[:, 0].tolist()


def test_an_export_downloads_and_scores_like_the_server(
    server: RunningServer, tmp_path: Path
) -> None:
    service = tinker.ServiceClient(base_url=server.base_url)
    training = _trained(service)
    path = training.save_weights_external("final").result().path
    assert path == f"tinker://{training.model_id}/external_weights/final"

    rest = tinker.RestClient(base_url=server.base_url)
    signed = rest.get_external_weights_urls(path).result()
    assert {"adapter_model.safetensors", "adapter_config.json"} <= set(signed.urls), signed.urls
    assert all(url.startswith(server.base_url + "/") for url in signed.urls.values()), signed.urls
    files = _fetch(signed.urls, tmp_path / "adapter")

    sampler = training.save_weights_and_get_sampling_client().result()
    served = sampler.compute_logprobs(types.ModelInput.from_ints(_TOKENS)).result()[1:]
    base = service.create_sampling_client(base_model=TINY_CHAT).result()
    untrained = base.compute_logprobs(types.ModelInput.from_ints(_TOKENS)).result()[1:]
    loaded = _peft_logprobs(files["adapter_config.json"].parent, _TOKENS)
    print("served", served, "\nloaded", loaded, "\nbase", untrained)
    assert max(abs(a - b) for a, b in zip(loaded, served, strict=True)) < 1e-3, (loaded, served)
    assert max(abs(a - b) for a, b in zip(untrained, served, strict=True)) > 1e-2, (
        "training moved nothing"
    )

    listed = {
        c.tinker_path: c for c in rest.list_checkpoints(training.model_id).result().checkpoints
    }
    assert listed[path].checkpoint_type == "external"
    assert listed[path].size_bytes == sum(p.stat().st_size for p in files.values())
    service.close("success").result()


def test_an_encrypted_export_decrypts_to_the_plain_one(
    server: RunningServer, tmp_path: Path
) -> None:
    service = tinker.ServiceClient(base_url=server.base_url)
    training = _trained(service, steps=1)
    identity = _pyrage.x25519.Identity.generate()
    plain = training.save_weights_external("plain").result().path
    sealed = (
        training.save_weights_external(
            "sealed", age_encryption_recipients=[str(identity.to_public())]
        )
        .result()
        .path
    )
    rest = tinker.RestClient(base_url=server.base_url)
    plain_files = _fetch(rest.get_external_weights_urls(plain).result().urls, tmp_path / "plain")
    sealed_files = _fetch(rest.get_external_weights_urls(sealed).result().urls, tmp_path / "sealed")
    assert sorted(sealed_files) == sorted(f"{rel}.age" for rel in plain_files), sealed_files
    for rel, file in plain_files.items():
        opened = _pyrage.decrypt(sealed_files[f"{rel}.age"].read_bytes(), [identity])
        assert opened == file.read_bytes(), f"{rel} decrypted differs from the plain export"

    with pytest.raises(Exception, match="age recipient 'age1nonsense' is not valid"):
        training.save_weights_external("bad", age_encryption_recipients=["age1nonsense"]).result()
    service.close("success").result()


def test_ttl_listing_expiry_traversal_and_delete(server: RunningServer) -> None:
    service = tinker.ServiceClient(base_url=server.base_url)
    training = _trained(service, steps=1)
    path = training.save_weights_external("kept", ttl_seconds=7200).result().path
    rest = tinker.RestClient(base_url=server.base_url)
    mine = [
        c
        for c in rest.list_user_checkpoints(limit=1000).result().checkpoints
        if c.tinker_path == path
    ]
    assert len(mine) == 1 and mine[0].expires_at is not None, mine
    rest.set_checkpoint_ttl_from_tinker_path(path, None).result()
    listed = {
        c.tinker_path: c for c in rest.list_checkpoints(training.model_id).result().checkpoints
    }
    assert listed[path].expires_at is None

    urls = rest.get_external_weights_urls(path).result().urls
    config_url = urls["adapter_config.json"]
    token_base = config_url.rsplit("/", 1)[0]
    for sneaky in ("../../../server.db", "%2e%2e/%2e%2e/etc/passwd", "..%2fadapter_config.json"):
        status, detail = _status_and_detail(f"{token_base}/{sneaky}")
        assert status == 404, (sneaky, status, detail)

    lifetime = server.state.downloads.lifetime_s
    server.state.downloads.lifetime_s = 0.0
    try:
        expired = rest.get_external_weights_urls(path).result().urls["adapter_config.json"]
    finally:
        server.state.downloads.lifetime_s = lifetime
    status, detail = _status_and_detail(expired)
    assert status == 404 and "unknown or expired" in detail, (status, detail)

    assert _status_and_detail(config_url)[0] == 200
    # The URLs name the host the client reached the server by.
    run_id, checkpoint_id = path.removeprefix("tinker://").split("/", 1)
    asked = urllib.request.Request(
        f"{server.base_url}/api/v1/training_runs/{run_id}/checkpoints/{checkpoint_id}/external_weights_urls",
        headers={"Host": "weights.example:8123"},
    )
    with urllib.request.urlopen(asked, timeout=30) as response:
        proxied = json.loads(response.read())["urls"]
    assert all(u.startswith("http://weights.example:8123/api/v1/") for u in proxied.values()), (
        proxied
    )
    rest.delete_checkpoint_from_tinker_path(path).result()
    status, detail = _status_and_detail(config_url)
    assert status == 404, (status, detail)
    assert path not in {
        c.tinker_path for c in rest.list_checkpoints(training.model_id).result().checkpoints
    }
    with pytest.raises(Exception, match="unknown checkpoint"):
        rest.get_external_weights_urls(path).result()
    service.close("success").result()


def test_an_export_survives_a_restart_on_the_state_dir(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    with _server(tmp_path / "files", state_dir) as first:
        service = tinker.ServiceClient(base_url=first.base_url)
        training = _trained(service, steps=1)
        path = training.save_weights_external("durable").result().path
        before = _fetch(
            tinker.RestClient(base_url=first.base_url)
            .get_external_weights_urls(path)
            .result()
            .urls,
            tmp_path / "a",
        )
        service.close("success").result()
    run_id = path.removeprefix("tinker://").split("/")[0]
    # What a server killed mid-export leaves: a half-filled temp beside the exports, a staging dir.
    half = state_dir / "exports" / "external_weights" / run_id / ".killed.abc123"
    staging = state_dir / "exports" / ".staging" / "abc123" / "export"
    for leftover in (half, staging):
        leftover.mkdir(parents=True)
        (leftover / "adapter_model.safetensors").write_bytes(b"partial")
    with _server(tmp_path / "files", state_dir) as second:
        assert not half.exists() and not staging.exists(), "a killed export's files were kept"
        rest = tinker.RestClient(base_url=second.base_url)
        listed = rest.list_checkpoints(run_id).result().checkpoints
        assert [c.checkpoint_id for c in listed if c.checkpoint_type == "external"] == [
            "external_weights/durable"
        ]
        after = _fetch(rest.get_external_weights_urls(path).result().urls, tmp_path / "b")
    assert {k: v.read_bytes() for k, v in after.items()} == {
        k: v.read_bytes() for k, v in before.items()
    }
