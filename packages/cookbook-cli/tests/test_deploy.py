"""`cookbook deploy`: bad input is one line and exit 2; a registered canary pair served to the `openai` client.

The end-to-end test runs the real command in a subprocess over a SQLite registry
named by a manifest file, and stops it with SIGINT (Ctrl-C) in its teardown.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bad name!",), "bad model name"),
        (("tiny:latest",), "bad model version"),
        (("tiny:1", "--canary", "other:2"), "must be another version of 'tiny'"),
        (("tiny:1", "--canary", "tiny:2", "--weight", "1.5"), "--weight must be between 0 and 1"),
        (("./runs/nothing-here",), "does not exist"),
        ((".", "--canary", "tiny:2"), "--canary needs a registered model"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli: Any, args: tuple[str, ...], message: str) -> None:
    result = cli("deploy", *args, "--port", str(_free_port()))
    assert result.exit_code == 2, f"{args}: {result.output}"
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, f"{args}: {result.stderr}"


def test_an_unknown_registered_model_names_what_is_known(cli: Any, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    result = cli("deploy", "nope:1", "--port", str(_free_port()), "--manifest", str(manifest))
    assert result.exit_code == 2 and "nope" in result.stderr, result.output


def test_stop_says_when_a_run_has_no_endpoint(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    result = cli("deploy", "run", "--stop")
    assert result.exit_code == 0 and "no endpoint is recorded in run" in result.stdout, result.output


def test_stop_of_a_missing_run_is_exit_2(cli: Any) -> None:
    result = cli("deploy", "nowhere", "--stop")
    assert result.exit_code == 2 and "is not a directory" in result.stderr, result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _manifest(root: Path, cache: Path | None = None) -> Path:
    service = f'\n[manifests.lab.ports.service]\nadapter = "local"\noptions = {{ device = "cpu", cache_dir = "{cache}" }}\n'
    text = (
        '[manifests.lab]\nextends = "local"\n'
        f'[manifests.lab.ports.registry]\nadapter = "sqlite"\noptions = {{ path = "{root / "registry.db"}" }}\n'
        f'[manifests.lab.ports.blobs]\nadapter = "files"\noptions = {{ root = "{root / "blobs"}" }}\n'
        f'[manifests.lab.ports.feedback]\nadapter = "sqlite"\noptions = {{ path = "{root / "feedback.db"}" }}\n'
        + (service if cache is not None else "")
    )
    path = root / "lab.toml"
    path.write_text(text)
    return path


# -- end to end (slow: the command imports torch in its own process) ---------------------------


async def _register_two(root: Path, cache: Path) -> None:
    from cookbook_adapters.files import FileBlobStore
    from cookbook_adapters.local import TINY_CHAT, LocalServiceClient
    from cookbook_adapters.sqlite import SqliteModelRegistry
    from cookbook_runtime.ports import ArtifactSource, Registration

    service = LocalServiceClient(device="cpu", cache_dir=cache, root=root / "states")
    registry = SqliteModelRegistry(root / "registry.db", blobs=FileBlobStore(root / "blobs"))
    try:
        client = await service.create_lora_training_client(TINY_CHAT, rank=4, seed=0)
        for i in (1, 2):
            path = await (await client.save_weights_for_sampler(f"v{i}")).result()
            await registry.register(
                Registration(name="tiny", base_model=TINY_CHAT, config={"v": i},
                             artifacts=(ArtifactSource(name="sampler", kind="sampler", path=path),))
            )
        await client.close()
    finally:
        await registry.close()
        await service.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    from cookbook_adapters.local import tiny_chat_dir

    cache = tmp_path / "cache"
    tiny_chat_dir(cache)
    asyncio.run(_register_two(tmp_path, cache))
    manifest = _manifest(tmp_path, cache)
    port = _free_port()
    cmd = [sys.executable, "-m", "cookbook_cli", "deploy", "tiny:1", "--canary", "tiny:2", "--weight", "0.5",
           "--port", str(port), "--manifest", str(manifest)]
    log = tmp_path / "deploy.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, "COOKBOOK_CACHE_DIR": str(cache)})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while not _healthy(base):
            assert proc.poll() is None, f"cookbook deploy exited {proc.returncode}: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"no healthy endpoint: {log.read_text()[-2000:]}"
            time.sleep(0.2)
        yield base, tmp_path
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
            return bool(json.loads(r.read()).get("status") == "ok")
    except OSError:
        return False


def _deployments(root: Path) -> list[Any]:
    from cookbook_adapters.files import FileBlobStore
    from cookbook_adapters.sqlite import SqliteModelRegistry

    async def read() -> list[Any]:
        registry = SqliteModelRegistry(root / "registry.db", blobs=FileBlobStore(root / "blobs"))
        try:
            return list(await registry.list_deployments("tiny"))
        finally:
            await registry.close()

    return asyncio.run(read())


@pytest.mark.slow
def test_deploy_serves_a_canary_to_the_openai_client_and_records_it(served: tuple[str, Path]) -> None:
    import openai

    base, root = served
    client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list()] == ["tiny", "tiny:1", "tiny:2"]
    models = {
        client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "copy a"}],
                                       max_tokens=2, temperature=0).model
        for _ in range(12)
    }
    client.close()
    assert models == {"tiny:1", "tiny:2"}
    [deployment] = _deployments(root)
    assert deployment.status == "active" and deployment.health is not None and deployment.health.ok
    assert [(t.version, t.weight) for t in deployment.traffic] == [(1, 0.5), (2, 0.5)]
