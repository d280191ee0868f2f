"""Where the adapters keep a user's data by default: one rule for every store.

Blobs, the model registry, the feedback store and the server's state all live under
the same root, so one environment variable moves them together.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cookbook_data_dir"]


def cookbook_data_dir() -> Path:
    """`$COOKBOOK_DATA_DIR`, else `$XDG_DATA_HOME/cookbook`, else `~/.local/share/cookbook`."""
    override = os.environ.get("COOKBOOK_DATA_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "cookbook"
