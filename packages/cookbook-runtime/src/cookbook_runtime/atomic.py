"""Atomic file writes: readers see the old file or the new one, never a part, even after a crash.

Every file the cookbook writes whole (specs, status, checkpoint metadata, blobs,
datasets, mirror state) goes through here. Data goes to a sibling temporary
(`.NAME.XXXX.tmp`, which the artifact mirror skips), is flushed and fsynced, is
renamed over the destination, and the directory is fsynced so the rename itself
survives a power loss. Whole directories (a saved checkpoint, an exported model)
go the same way through `atomic_directory`: every file in the filled temporary is
fsynced, the temporary is renamed into place, and the parent is fsynced. Appends
(`events.jsonl`, `metrics.jsonl`) are not whole-file writes and do not come here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_directory", "atomic_write", "atomic_writer"]


def _fsync_directory(directory: Path) -> None:
    o_directory: int | None = getattr(os, "O_DIRECTORY", None)
    if o_directory is None:  # platforms that cannot open a directory (Windows) have no such step
        return
    try:
        fd = os.open(directory, os.O_RDONLY | o_directory)
    except OSError:
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


def _fsync_tree(root: Path) -> None:
    """Fsync every regular file under `root`, then every directory, deepest first."""
    for here, _dirs, files in os.walk(root, topdown=False):
        for name in files:
            path = os.path.join(here, name)
            if os.path.islink(path):
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_directory(Path(here))


def atomic_directory(dest: Path, fill: Callable[[Path], None], *, replace: bool = False) -> Path:
    """Create `dest` by filling a sibling temp dir, fsyncing it, and renaming it into place.

    Readers see no directory or a complete one, also after a power loss: the
    files are fsynced before the rename and the parent directory after it. When
    two writers race and `replace` is false, the first rename wins and the
    loser's copy is discarded, which is right for content-addressed directories.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        fill(tmp)
        if dest.exists() and not replace:
            return dest
        _fsync_tree(tmp)
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}-{id(tmp)}")
            os.replace(dest, old)
            os.replace(tmp, dest)
            _fsync_directory(dest.parent)
            shutil.rmtree(old, ignore_errors=True)
            return dest
        try:
            os.replace(tmp, dest)
        except OSError:
            if not dest.exists():  # a failure that is not a lost race
                raise
            return dest
        _fsync_directory(dest.parent)
        return dest
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
