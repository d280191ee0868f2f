"""Directory blob store: atomic writes, key safety and the default root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cookbook_adapters.files import FileBlobStore, default_blob_root
from cookbook_runtime.errors import StorageError


async def test_write_leaves_no_temp_files(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    await store.write("runs/a/metrics.jsonl", b"{}\n")
    await store.write("runs/a/metrics.jsonl", b"{}\n{}\n")
    assert sorted(p.name for p in (tmp_path / "runs" / "a").iterdir()) == ["metrics.jsonl"]
    assert await store.list() == ["runs/a/metrics.jsonl"]


async def test_failed_write_keeps_the_old_object(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    await store.write("k.txt", b"old")
    with pytest.raises(StorageError):
        await store.write_file("k.txt", tmp_path / "missing-source")
    assert await store.read("k.txt") == b"old"


async def test_symlink_escape_is_rejected(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "store"
    root.mkdir()
    os.symlink(outside, root / "link")
    with pytest.raises(StorageError, match="outside the store"):
        await FileBlobStore(root).write("link/x.txt", b"x")


async def test_list_of_a_missing_root_is_empty(tmp_path: Path) -> None:
    assert await FileBlobStore(tmp_path / "never-created").list() == []


def test_default_root_follows_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COOKBOOK_DATA_DIR", str(tmp_path))
    assert default_blob_root() == tmp_path / "blobs"
    assert FileBlobStore().root == (tmp_path / "blobs").resolve()


def test_no_adapter_writes_whole_files_around_the_runtime_helper() -> None:
    import re

    import cookbook_adapters

    root = Path(cookbook_adapters.__file__).parent
    pattern = re.compile(r"tempfile\.mkstemp|\.write_text\(|\.write_bytes\(")
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == [], f"write through cookbook_runtime.atomic instead: {offenders}"
