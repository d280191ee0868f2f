"""The HF hub client on a hand-built hub cache: offline, and online with an unreachable hub."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from cookbook_adapters.hf import HFHubClient
from cookbook_runtime.errors import StorageError
from cookbook_runtime.ports import create_adapter
from cookbook_runtime.testing import HUB_CHECKS
from hf_cache import add_repo

FILES = {"config.json": b'{"model_type": "tiny"}', "weights/model.safetensors": b"\x00\x01\x02", "README.md": b"# tiny"}


def _hub(tmp_path: Path, **options: Any) -> HFHubClient:
    add_repo(tmp_path / "hub", "org/tiny", FILES)
    return HFHubClient(cache_dir=str(tmp_path / "hub"), **options)


@pytest.mark.parametrize("check", HUB_CHECKS.values(), ids=list(HUB_CHECKS))
async def test_hub_contract_offline(check: Any, tmp_path: Path) -> None:
    await check((_hub(tmp_path), "org/tiny", FILES))


@pytest.mark.parametrize("check", HUB_CHECKS.values(), ids=list(HUB_CHECKS))
async def test_hub_contract_with_unreachable_hub(check: Any, tmp_path: Path, dead_endpoint: str) -> None:
    await check((_hub(tmp_path, offline=False, endpoint=dead_endpoint), "org/tiny", FILES))


async def test_unreachable_hub_is_detected_quickly(tmp_path: Path, dead_endpoint: str) -> None:
    hub = _hub(tmp_path, offline=False, endpoint=dead_endpoint)
    start = time.monotonic()
    with pytest.raises(StorageError):
        await hub.list_files("org/not-cached")
    assert time.monotonic() - start < 5, "waited on retries against a hub that refuses connections"


def _one_line(exc: BaseException) -> str:
    assert "\n" not in str(exc), f"multi-line error: {exc}"
    return str(exc)


async def test_uncached_repo_offline_is_one_line_naming_it(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as info:
        await _hub(tmp_path).snapshot("org/not-cached")
    text = _one_line(info.value)
    assert "'org/not-cached'" in text and "HF_HUB_OFFLINE" in text


async def test_uncached_repo_with_unreachable_hub_names_the_endpoint(tmp_path: Path, dead_endpoint: str) -> None:
    with pytest.raises(StorageError) as info:
        await _hub(tmp_path, offline=False, endpoint=dead_endpoint).download("org/not-cached", "config.json")
    text = _one_line(info.value)
    assert "'org/not-cached'" in text and dead_endpoint in text


async def test_missing_file_of_a_cached_repo_names_it(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as info:
        await _hub(tmp_path).download("org/tiny", "tokenizer.json")
    assert "'tokenizer.json'" in _one_line(info.value)


async def test_revisions_and_repo_types(tmp_path: Path) -> None:
    hub = _hub(tmp_path)
    add_repo(tmp_path / "hub", "org/tiny", {"config.json": b"v1"}, commit="c" * 40, ref=None)
    add_repo(tmp_path / "hub", "org/tiny", {"data.jsonl": b"{}\n"}, repo_type="dataset")
    assert (await hub.download("org/tiny", "config.json", revision="c" * 40)).read_bytes() == b"v1"
    assert await hub.list_files("org/tiny", revision="c" * 40) == ["config.json"]
    assert await hub.list_files("org/tiny", repo_type="dataset") == ["data.jsonl"]


async def test_offline_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub = _hub(tmp_path, endpoint="http://127.0.0.1:1")
    assert sorted(await hub.list_files("org/tiny")) == sorted(FILES)


async def test_registry_builds_the_client(tmp_path: Path) -> None:
    add_repo(tmp_path / "hub", "org/tiny", FILES)
    hub = create_adapter("hf", "hub", {"cache_dir": str(tmp_path / "hub")})
    assert isinstance(hub, HFHubClient)
    assert (await hub.download("org/tiny", "README.md")).read_bytes() == b"# tiny"
