"""Where a `DatasetRef` points: a local file, a local folder, a `save_to_disk` folder, or a hub id.

Resolution only finds the data (and, for hub ids in offline mode, its snapshot in
the local hub cache); it reads no rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cookbook_runtime.errors import ConfigError, StorageError
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.ports import is_packaged_dataset, packaged_dataset_path

__all__ = ["FORMAT_BUILDERS", "Source", "builder_for", "resolve_local", "saved_splits"]

FORMAT_BUILDERS: dict[str, str] = {
    "jsonl": "json",
    "json": "json",
    "parquet": "parquet",
    "csv": "csv",
    "arrow": "arrow",
}
"""File format (the `DatasetRef.format` or a file suffix) -> the `datasets` packaged builder."""


@dataclass(frozen=True)
class Source:
    """A resolved dataset location."""

    kind: Literal["file", "folder", "saved", "hub"]
    location: str
    """A local path, or the hub id for kind 'hub'."""


def builder_for(fmt: str | None, path: Path) -> str:
    """The packaged builder for `fmt`, or for `path`'s suffix when `fmt` is None."""
    key = (fmt or path.suffix.lstrip(".")).lower()
    try:
        return FORMAT_BUILDERS[key]
    except KeyError:
        known = ", ".join(sorted(FORMAT_BUILDERS))
        raise ConfigError(
            f"cannot tell the format of dataset file {str(path)!r}: set the dataset's 'format' to one of {known}"
        ) from None


def _is_saved(path: Path) -> bool:
    """A folder written by `Dataset.save_to_disk` or `DatasetDict.save_to_disk`."""
    return (path / "dataset_dict.json").is_file() or (
        (path / "state.json").is_file() and (path / "dataset_info.json").is_file()
    )


def saved_splits(path: Path) -> list[str] | None:
    """Split names of a `DatasetDict.save_to_disk` folder; None for a single saved `Dataset`."""
    index = path / "dataset_dict.json"
    if not index.is_file():
        return None
    return [str(s) for s in json.loads(index.read_text(encoding="utf-8"))["splits"]]


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~")) or Path(name).suffix.lstrip(".").lower() in FORMAT_BUILDERS


def resolve_local(ref: DatasetRef) -> Source | None:
    """The local source `ref.name` names, None for a hub id; `StorageError` for a missing path."""
    if is_packaged_dataset(ref.name):
        path = packaged_dataset_path(ref.name)
        return Source("folder", str(path)) if path.is_dir() else Source("file", str(path))
    path = Path(ref.name).expanduser()
    if path.is_file():
        return Source("file", str(path))
    if path.is_dir():
        return Source("saved" if _is_saved(path) else "folder", str(path))
    if _looks_like_path(ref.name):
        raise StorageError(f"dataset path {ref.name!r} does not exist; give an existing file or folder")
    return None
