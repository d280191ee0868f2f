"""`FileDatasetStore`: datasets from local JSONL, JSON, CSV and Parquet files.

`DatasetRef.name` is a file or folder path (relative paths resolve against the
store's `root`, default the working directory), or a packaged dataset's stable
name (`cookbook:tiny_chat`), resolved where its package is installed now. A single file is the split
`train`; a folder offers one split per data file, named by the file's stem
(`train.jsonl`, `test.parquet`, ...).
"""

from __future__ import annotations

from pathlib import Path

from cookbook_runtime.errors import StorageError
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.ports import is_packaged_dataset, packaged_dataset_path

from cookbook_adapters.files._rows import FileRows
from cookbook_adapters.files._sources import FORMATS, Source, open_source

__all__ = ["FileDatasetStore"]


class FileDatasetStore:
    """Opens datasets stored as local files; rows stream lazily."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser() if root else None
        self._sources: dict[tuple[Path, str | None, bool], Source] = {}

    def _path(self, ref: DatasetRef) -> Path:
        if is_packaged_dataset(ref.name):
            return packaged_dataset_path(ref.name)
        path = Path(ref.name).expanduser()
        if not path.is_absolute() and self.root is not None:
            path = self.root / path
        if not path.exists():
            raise StorageError(
                f"dataset path {str(path)!r} does not exist; pass a JSONL/JSON/CSV/Parquet file or folder"
            )
        return path

    def _split_files(self, ref: DatasetRef) -> dict[str, Path]:
        path = self._path(ref)
        if path.is_file():
            return {"train": path}
        found: dict[str, Path] = {}
        for child in sorted(path.iterdir()):
            if (
                child.is_file()
                and (child.suffix.lower() in FORMATS)
                and not child.name.startswith(".")
            ):
                name = child.name.split(".", 1)[0]
                if name in found:
                    raise StorageError(
                        f"dataset folder {str(path)!r} holds two files for split {name!r}; keep one"
                    )
                found[name] = child
        if not found:
            raise StorageError(
                f"dataset folder {str(path)!r} holds no data files ({', '.join(sorted(FORMATS))})"
            )
        return found

    def splits(self, ref: DatasetRef) -> list[str]:
        return sorted(self._split_files(ref))

    def open(self, ref: DatasetRef, split: str | None = None) -> FileRows:
        split = split or ref.split
        files = self._split_files(ref)
        if split not in files:
            raise StorageError(
                f"dataset {ref.name!r} has no split {split!r}; splits: {sorted(files)}"
            )
        key = (files[split].resolve(), ref.format, ref.skip_malformed)
        if key not in self._sources:
            self._sources[key] = open_source(
                files[split], ref.format, skip_malformed=ref.skip_malformed
            )
        return FileRows(self._sources[key])
