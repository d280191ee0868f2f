"""The inspect task through the `tinker` manifest against the local server (`cookbook serve`): same as local."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("tinker")
pytest.importorskip("fastapi")

from cookbook_adapters.inspect import INSPECT_LOG_SUBDIR
from cookbook_adapters.local import TINY_CHAT, LocalServiceClient
from cookbook_adapters.server import running_server
from cookbook_runtime.framework import read_jsonl
from cookbook_runtime.ir import BackendRef, Experiment, StageSpec
from cookbook_runtime.runtime import Runtime
from inspect_fakes import TASK

pytestmark = pytest.mark.slow


@pytest.fixture
def local_server(sdk_env: None, model_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    backend = LocalServiceClient(device="cpu", cache_dir=model_cache, root=tmp_path / "server-states")
    with running_server(backend, models=[TINY_CHAT]) as server:
        monkeypatch.setenv("TINKER_BASE_URL", server.base_url)
        yield server.base_url


def _spec(manifest: str) -> Experiment:
    options = {"task": f"inspect:{TASK}", "base_model": TINY_CHAT, "renderer": "qwen3_instruct", "max_tokens": 8}
    return Experiment(
        id=f"inspect-{manifest}",
        backend=BackendRef(manifest=manifest),
        pipeline=[StageSpec(name="evaluate", options=options)],
    )


async def test_inspect_task_over_the_tinker_manifest_matches_the_local_engine(
    local_server: str, model_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    remote = await Runtime("tinker", run_dir=tmp_path / "tinker").arun_spec(_spec("tinker"))
    print(f"inspect eval over the tinker manifest: {time.monotonic() - started:.1f}s")
    assert remote.outputs["evaluate"]["weights"] == f"base:{TINY_CHAT}"

    monkeypatch.setenv("COOKBOOK_CACHE_DIR", str(model_cache))
    local = await Runtime("local", run_dir=tmp_path / "local").arun_spec(_spec("local"))

    remote_items = list(read_jsonl(tmp_path / "tinker" / "eval" / "tiny_chat_exact.jsonl"))
    local_items = list(read_jsonl(tmp_path / "local" / "eval" / "tiny_chat_exact.jsonl"))
    assert [i["completions"] for i in remote_items] == [i["completions"] for i in local_items]
    assert remote.outputs["evaluate"]["scores"] == local.outputs["evaluate"]["scores"]
    log = next((tmp_path / "tinker" / INSPECT_LOG_SUBDIR).glob("*.json"))
    assert json.loads(log.read_text())["status"] == "success"
