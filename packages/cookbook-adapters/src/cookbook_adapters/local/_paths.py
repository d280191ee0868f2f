"""Where the local engine keeps its files: one cache root, overridable.

`COOKBOOK_CACHE_DIR` wins; otherwise `$XDG_CACHE_HOME/cookbook` or `~/.cache/cookbook`
(the platformdirs convention on Linux, without the dependency).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_directory", "cache_root"]


def cache_root() -> Path:
    """The cookbook cache directory (not created here)."""
    override = os.environ.get("COOKBOOK_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "cookbook"


def atomic_directory(dest: Path, fill: Callable[[Path], None], *, replace: bool = False) -> Path:
    """Create `dest` by filling a sibling temp dir and renaming it into place.

    Readers see no directory or a complete one. When two writers race and
    `replace` is false, the first rename wins and the loser's copy is discarded,
    which is right for content-addressed directories like the tiny model's.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        fill(tmp)
        if dest.exists():
            if not replace:
                return dest
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}-{id(tmp)}")
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
            return dest
        try:
            os.replace(tmp, dest)
        except OSError:
            if not dest.exists():  # a failure that is not a lost race
                raise
        return dest
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
