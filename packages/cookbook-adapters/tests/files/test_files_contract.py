"""The files adapter holds to the runtime's dataset and blob port contracts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cookbook_adapters.files import FileBlobStore, FileDatasetStore
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.testing import BLOB_STORE_CHECKS, DATASET_STORE_CHECKS


@pytest.mark.parametrize("check", BLOB_STORE_CHECKS.values(), ids=list(BLOB_STORE_CHECKS))
async def test_blob_contract(check: Any, tmp_path: Path) -> None:
    await check(FileBlobStore(tmp_path / "blobs"))


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _write_json(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text(json.dumps(rows))


def _write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=7)


WRITERS = {"jsonl": _write_jsonl, "json": _write_json, "parquet": _write_parquet}


@pytest.mark.parametrize("fmt", list(WRITERS))
@pytest.mark.parametrize("check", DATASET_STORE_CHECKS.values(), ids=list(DATASET_STORE_CHECKS))
async def test_dataset_contract(check: Any, fmt: str, tmp_path: Path) -> None:
    def factory(splits: dict[str, list[dict[str, Any]]]) -> tuple[FileDatasetStore, DatasetRef]:
        folder = tmp_path / f"data-{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        for split, rows in splits.items():
            WRITERS[fmt](folder / f"{split}.{fmt}", rows)
        return FileDatasetStore(), DatasetRef(name=str(folder))

    await check(factory)
