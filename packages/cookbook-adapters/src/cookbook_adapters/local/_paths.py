"""Where the local engine keeps its files: one cache root, overridable.

`COOKBOOK_CACHE_DIR` wins; otherwise `$XDG_CACHE_HOME/cookbook` or `~/.cache/cookbook`
(the platformdirs convention on Linux, without the dependency). Directories
there are written whole through the runtime's `atomic_directory` (re-exported).
"""

from __future__ import annotations

import os
from pathlib import Path

from cookbook_runtime.atomic import atomic_directory

__all__ = ["atomic_directory", "cache_root"]


def cache_root() -> Path:
    """The cookbook cache directory (not created here)."""
    override = os.environ.get("COOKBOOK_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "cookbook"
