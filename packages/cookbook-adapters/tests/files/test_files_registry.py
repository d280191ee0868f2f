"""The files adapter is reachable by name through the adapter registry, with options."""

from __future__ import annotations

import json
from pathlib import Path

from cookbook_adapters.files import FileBlobStore, FileDatasetStore
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.ports import create_adapter


async def test_registry_builds_files_adapters(tmp_path: Path) -> None:
    (tmp_path / "rows.jsonl").write_text(json.dumps({"id": 1}) + "\n")
    datasets = create_adapter("files", "datasets", {"root": str(tmp_path)})
    blobs = create_adapter("files", "blobs", {"root": str(tmp_path / "blobs")})
    assert isinstance(datasets, FileDatasetStore) and isinstance(blobs, FileBlobStore)
    assert list(datasets.open(DatasetRef(name="rows.jsonl"))) == [{"id": 1}]
    await blobs.write("a.txt", b"x")
    assert (tmp_path / "blobs" / "a.txt").read_bytes() == b"x"
