"""`FileBlobStore`: keyed bytes in a directory, written atomically.

Writes go to a temp file beside the target and are renamed over it with
`os.replace`, so a reader sees the old object or the new one, never a part.
Keys are checked by `validate_key` (relative, no '..').
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

from cookbook_runtime.atomic import atomic_write
from cookbook_runtime.errors import StorageError
from cookbook_runtime.storage_keys import validate_key

from cookbook_adapters._data_dir import cookbook_data_dir

__all__ = ["FileBlobStore", "default_blob_root"]


def default_blob_root() -> Path:
    """`$COOKBOOK_DATA_DIR`, else `$XDG_DATA_HOME/cookbook/blobs`, else `~/.local/share/cookbook/blobs`."""
    return cookbook_data_dir() / "blobs"


class FileBlobStore:
    """Blobs as files under `root` (default: the user data dir, see `default_blob_root`)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = (Path(root).expanduser() if root else default_blob_root()).resolve()

    def _path(self, key: str) -> Path:
        validate_key(key)
        path = (self.root / key).resolve()
        if path != self.root and self.root not in path.parents:
            raise StorageError(
                f"blob key {key!r} resolves outside the store (a symlink?); use a plain relative key"
            )
        return path

    def _write_atomic(self, key: str, fill: bytes | Path) -> None:
        atomic_write(self._path(key), fill)

    async def read(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError):
            raise StorageError(f"no blob at key {key!r} in {self.root}") from None

    async def read_stream(self, key: str, *, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            f = path.open("rb")
        except (FileNotFoundError, IsADirectoryError):
            raise StorageError(f"no blob at key {key!r} in {self.root}") from None
        with f:
            while chunk := await asyncio.to_thread(f.read, chunk_size):
                yield chunk

    async def write(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write_atomic, key, bytes(data))

    async def write_file(self, key: str, path: Path) -> None:
        source = Path(path)
        if not source.is_file():
            raise StorageError(f"cannot upload {str(source)!r} to {key!r}: not a file")
        await asyncio.to_thread(self._write_atomic, key, source)

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def list(self, prefix: str = "") -> list[str]:
        if prefix:
            validate_key(prefix.rstrip("/") or "x")
        if not self.root.exists():
            return []

        def scan() -> list[str]:
            keys = []
            for dirpath, _, filenames in os.walk(self.root):
                for name in filenames:
                    if name.startswith(".") and name.endswith(".tmp"):
                        continue  # an in-flight atomic write
                    key = Path(dirpath, name).relative_to(self.root).as_posix()
                    if key.startswith(prefix):
                        keys.append(key)
            return sorted(keys)

        return await asyncio.to_thread(scan)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except IsADirectoryError:
            raise StorageError(
                f"key {key!r} is a folder of blobs, not a blob; delete its keys one by one"
            ) from None
