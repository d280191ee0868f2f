"""Serving registered versions: resolved and fetched from the SQLite registry, deployments recorded there.

In-process (the endpoint in a background thread), so torch is imported once; the
`deploy` stage's own process is covered by the slow `test_deploy_stage.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from cookbook_adapters.deploy import (
    DeploymentPlan,
    probe_health,
    running_endpoint,
    source_from_registry,
)
from cookbook_adapters.deploy._records import (
    local_target,
    record_deployment,
    record_health,
    record_stopped,
)
from cookbook_adapters.files import FileBlobStore
from cookbook_adapters.local import TINY_CHAT, LocalServiceClient
from cookbook_adapters.sqlite import SqliteModelRegistry
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import run
from cookbook_runtime.ir import Experiment, StageSpec
from cookbook_runtime.ports import ArtifactSource, Ports, Registration
from deploy_checkpoints import Checkpoints


@pytest.fixture
def registry(checkpoints: Checkpoints, tmp_path: Path) -> Iterator[SqliteModelRegistry]:
    reg = SqliteModelRegistry(tmp_path / "registry.db", blobs=FileBlobStore(tmp_path / "blobs"))

    async def fill() -> None:
        for i, path in enumerate((checkpoints.v1, checkpoints.v2), start=1):
            await reg.register(
                Registration(
                    name="tiny", base_model=TINY_CHAT, renderer="qwen3_instruct", config={"v": i},
                    artifacts=(ArtifactSource(name="sampler", kind="sampler", path=path),),
                )
            )
        await reg.promote("tiny", 2, "production")

    asyncio.run(fill())
    yield reg
    asyncio.run(reg.close())


@pytest.fixture
def service(checkpoints: Checkpoints, tmp_path: Path) -> Iterator[LocalServiceClient]:
    svc = LocalServiceClient(device="cpu", cache_dir=checkpoints.cache, root=tmp_path / "states")
    yield svc
    asyncio.run(svc.close())


def test_a_stage_name_resolves_to_that_version_fetched_from_the_blob_store(
    registry: SqliteModelRegistry, tmp_path: Path
) -> None:
    found, source = asyncio.run(source_from_registry(registry, "tiny:production", tmp_path / "weights"))
    assert (found.version, source.version, source.registry_id) == (2, "2", "tiny:2")
    assert source.sampler_path is not None and Path(source.sampler_path).is_relative_to(tmp_path / "weights")
    assert (Path(source.sampler_path) / "adapter_model.safetensors").is_file()
    assert (source.base_model, source.renderer) == (TINY_CHAT, "qwen3_instruct")


def test_a_version_without_sampler_weights_is_refused(registry: SqliteModelRegistry, tmp_path: Path) -> None:
    asyncio.run(registry.register(Registration(name="bare", base_model=TINY_CHAT)))
    with pytest.raises(ConfigError, match="no artifact of kind 'sampler'"):
        asyncio.run(source_from_registry(registry, "bare:1", tmp_path / "weights"))


def test_a_deployment_is_recorded_active_then_terminated(
    registry: SqliteModelRegistry, service: LocalServiceClient, tmp_path: Path
) -> None:
    _, primary = asyncio.run(source_from_registry(registry, "tiny:2", tmp_path / "weights"))
    plan = DeploymentPlan(model="tiny", primary=primary)
    with running_endpoint(plan, service) as ep:
        target = local_target("127.0.0.1", int(ep.base_url.rsplit(":", 1)[1]))
        recorded = asyncio.run(record_deployment(registry, plan, target=target, endpoint=ep.api_url))
        assert recorded is not None and recorded.status == "deploying"
        active = asyncio.run(record_health(registry, recorded.id, probe_health(ep.base_url)))
        client = openai.OpenAI(base_url=ep.api_url, api_key="unused", max_retries=0)
        reply = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "copy b"}],
                                               max_tokens=3, temperature=0)
        client.close()
    assert reply.model == "tiny:2"
    assert (active.status, active.target, active.endpoint) == ("active", target, ep.api_url)
    assert active.health is not None and active.health.ok and active.health.latency_ms is not None
    assert [(t.version, t.weight) for t in active.traffic] == [(2, 1.0)]
    stopped = asyncio.run(record_stopped(registry, recorded.id))
    assert asyncio.run(registry.get_deployment(recorded.id)).status == stopped.status == "terminated"


def test_a_canary_is_recorded_with_its_traffic_split(registry: SqliteModelRegistry, tmp_path: Path) -> None:
    _, v1 = asyncio.run(source_from_registry(registry, "tiny:1", tmp_path / "weights"))
    _, v2 = asyncio.run(source_from_registry(registry, "tiny:2", tmp_path / "weights"))
    plan = DeploymentPlan(model="tiny", strategy="canary", primary=v1, candidate=v2, weight=0.25)
    recorded = asyncio.run(record_deployment(registry, plan, target="local-openai:127.0.0.1:9", endpoint=None))
    assert recorded is not None and recorded.strategy == "canary"
    assert [(t.version, t.weight) for t in recorded.traffic] == [(1, 0.75), (2, 0.25)]


def test_a_failed_health_check_marks_the_deployment_failed(registry: SqliteModelRegistry, tmp_path: Path) -> None:
    _, v2 = asyncio.run(source_from_registry(registry, "tiny:2", tmp_path / "weights"))
    plan = DeploymentPlan(model="tiny", primary=v2)
    recorded = asyncio.run(record_deployment(registry, plan, target="local-openai:127.0.0.1:9", endpoint=None))
    assert recorded is not None
    probe = probe_health("http://127.0.0.1:9", timeout_s=1.0)  # nothing listens on the discard port
    failed = asyncio.run(record_health(registry, recorded.id, probe))
    assert failed.status == "failed" and failed.health is not None and not failed.health.ok


def test_the_stage_refuses_a_canary_of_another_model_before_anything_runs(tmp_path: Path) -> None:
    experiment = Experiment(
        id="bad", pipeline=[StageSpec(name="deploy", options={"model": "tiny:1", "canary": "other:2"})]
    )
    with pytest.raises(ConfigError, match="must be a version of"):
        asyncio.run(run(experiment, Ports(), tmp_path / "run"))
    assert not (tmp_path / "run").exists()
