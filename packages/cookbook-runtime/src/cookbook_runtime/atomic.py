"""Atomic file writes: readers see the old file or the new one, never a part, even after a crash.

Every file the cookbook writes whole (specs, status, checkpoint metadata, blobs,
datasets, mirror state) goes through here. Data goes to a sibling temporary
(`.NAME.XXXX.tmp`, which the artifact mirror skips), is flushed and fsynced, is
renamed over the destination, and the directory is fsynced so the rename itself
survives a power loss. Appends (`events.jsonl`, `metrics.jsonl`) are not whole-file
writes and do not come here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "atomic_writer"]


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # platforms that cannot open a directory (Windows) have no such step
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: Path | str) -> Iterator[BinaryIO]:
    """A binary file that replaces `path` when the block ends, and vanishes if it raises."""
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(dest.parent)


def atomic_write(path: Path | str, data: str | bytes | Path) -> None:
    """Write `data` (text as UTF-8, bytes, or the contents of another file) to `path` atomically."""
    with atomic_writer(path) as f:
        if isinstance(data, Path):
            with data.open("rb") as src:
                shutil.copyfileobj(src, f, 1 << 20)
        else:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
