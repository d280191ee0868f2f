"""The `deploy` stage: a registered canary pair served by its own process, recorded in the SQLite registry.

The pipeline runs through the runtime's runner; the endpoint process is found from
the run directory's record and stopped in the fixture's teardown. Slow: the endpoint
process imports torch and transformers afresh (measured 84 s for the stage on a
loaded two-core machine, about 10 s unloaded).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
from cookbook_adapters.deploy import read_endpoint, stop_run_endpoint
from cookbook_adapters.files import FileBlobStore
from cookbook_adapters.local import TINY_CHAT
from cookbook_adapters.sqlite import SQLiteFeedbackStore, SqliteModelRegistry
from cookbook_runtime.framework import run
from cookbook_runtime.ir import Experiment, PortBinding, StageSpec
from cookbook_runtime.ports import ArtifactSource, Ports, Registration
from deploy_checkpoints import Checkpoints

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Deployed:
    run_dir: Path
    outputs: dict[str, Any]
    registry: SqliteModelRegistry
    feedback_db: Path


async def _register(registry: SqliteModelRegistry, checkpoints: Checkpoints) -> None:
    for i, path in enumerate((checkpoints.v1, checkpoints.v2), start=1):
        await registry.register(
            Registration(
                name="tiny", base_model=TINY_CHAT, renderer="qwen3_instruct", config={"v": i},
                artifacts=(ArtifactSource(name="sampler", kind="sampler", path=path),),
            )
        )


@pytest.fixture(scope="module")
def deployed(checkpoints: Checkpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    root = tmp_path_factory.mktemp("stage")
    registry = SqliteModelRegistry(root / "registry.db", blobs=FileBlobStore(root / "blobs"))
    asyncio.run(_register(registry, checkpoints))
    feedback_db = root / "feedback.db"
    ports = Ports(
        {
            "service": PortBinding(adapter="local", options={"device": "cpu", "cache_dir": str(checkpoints.cache)}),
            "feedback": PortBinding(adapter="sqlite", options={"path": str(feedback_db)}),
        },
        registry=registry,
    )
    experiment = Experiment(
        id="deploy-test",
        pipeline=[StageSpec(name="deploy", options={"model": "tiny:1", "canary": "tiny:2", "weight": 0.5, "seed": 3})],
    )
    run_dir = root / "run"
    started = time.perf_counter()
    ctx = asyncio.run(run(experiment, ports, run_dir))
    print(f"deploy stage: {time.perf_counter() - started:.1f} s")
    try:
        yield Deployed(run_dir, ctx.outputs["deploy"], registry, feedback_db)
    finally:
        asyncio.run(stop_run_endpoint(run_dir, registry))
        asyncio.run(registry.close())


def test_the_stage_leaves_a_record_of_a_live_endpoint(deployed: Deployed) -> None:
    found = read_endpoint(deployed.run_dir / "deploy")
    assert found is not None and found.pid == deployed.outputs["pid"]
    os.kill(found.pid, 0)  # raises if the process is gone
    record = json.loads(found.record.read_text())
    assert record["deployment_id"] == deployed.outputs["deployment_id"]
    assert deployed.outputs["versions"] == ["1", "2"] and deployed.outputs["strategy"] == "canary"


def test_the_openai_client_gets_answers_from_both_versions(deployed: Deployed) -> None:
    client = openai.OpenAI(base_url=deployed.outputs["url"], api_key="unused", max_retries=0)
    served = {
        client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "sort c b a"}],
                                       max_tokens=3, temperature=0).model
        for _ in range(16)
    }
    client.close()
    assert served == {"tiny:1", "tiny:2"}, f"16 requests at weight 0.5 (seed 3) were served by {served}"


def test_requests_are_logged_to_the_feedback_store_the_manifest_names(deployed: Deployed) -> None:
    client = openai.OpenAI(base_url=deployed.outputs["url"], api_key="unused", max_retries=0)
    reply = client.chat.completions.create(model="tiny:2", messages=[{"role": "user", "content": "copy a"}],
                                           max_tokens=3, temperature=0)
    client.close()

    async def read() -> Any:
        store = SQLiteFeedbackStore(deployed.feedback_db)
        try:
            return await store.get_event(reply.id)
        finally:
            await store.close()

    event = asyncio.run(read())
    assert event is not None and event.version == "2" and event.metadata["registry_version"] == "tiny:2"


def test_the_deployment_is_recorded_active_with_its_health_check(deployed: Deployed) -> None:
    deployments = asyncio.run(deployed.registry.list_deployments("tiny"))
    assert [d.id for d in deployments] == [deployed.outputs["deployment_id"]]
    d = deployments[0]
    port = deployed.outputs["base_url"].rsplit(":", 1)[1]
    assert (d.status, d.strategy, d.target, d.endpoint) == ("active", "canary", f"local-openai:127.0.0.1:{port}",
                                                             deployed.outputs["url"])
    assert [(t.version, t.weight) for t in d.traffic] == [(1, 0.5), (2, 0.5)]
    assert d.health is not None and d.health.ok and '"status": "ok"' in d.health.detail


def test_stopping_ends_the_process_and_terminates_the_deployment(deployed: Deployed) -> None:
    # Last in this module: later tests would find no endpoint.
    stopped = asyncio.run(stop_run_endpoint(deployed.run_dir, deployed.registry))
    assert stopped is not None and stopped.pid == deployed.outputs["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(stopped.pid, 0)
    assert read_endpoint(deployed.run_dir / "deploy") is None
    status = asyncio.run(deployed.registry.get_deployment(deployed.outputs["deployment_id"])).status
    assert status == "terminated"
