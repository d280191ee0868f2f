"""Datasets shipped inside Python packages, named `cookbook:NAME` instead of by path.

A spec that said `/venv/lib/python3.11/site-packages/.../tiny_chat` would stop
resolving (and stop resuming) once the venv moves or is rebuilt, so packaged data is
referred to by a stable name. Packages announce theirs under the entry-point group
`cookbook.datasets` (`tiny_chat = "cookbook_recipes.datasets.tiny_chat:DATA_DIR"`),
naming a path or a zero-argument callable returning one; dataset adapters that read
local files resolve the name here, at the moment they open it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import UnknownNameError

__all__ = [
    "PACKAGED_PREFIX",
    "is_packaged_dataset",
    "packaged_dataset_names",
    "packaged_dataset_path",
    "register_packaged_dataset",
]

PACKAGED_PREFIX = "cookbook:"
"""A `DatasetRef.name` starting with this names a packaged dataset (`cookbook:tiny_chat`)."""

ENTRY_POINT_GROUP = "cookbook.datasets"
_registered: dict[str, Path] = {}


def is_packaged_dataset(name: str) -> bool:
    """Whether `name` is a packaged-dataset name rather than a path or hub id."""
    return name.startswith(PACKAGED_PREFIX)


def register_packaged_dataset(name: str, path: Path | str) -> None:
    """Make `cookbook:NAME` resolve to `path` in this process (tests, notebooks)."""
    _registered[name.removeprefix(PACKAGED_PREFIX)] = Path(path)


@cache
def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points  # deferred: costs ~15 ms at import

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def packaged_dataset_names() -> list[str]:
    """Every packaged dataset, as the `cookbook:NAME` a spec uses."""
    return sorted(f"{PACKAGED_PREFIX}{n}" for n in {*_registered, *_entry_points()})


def packaged_dataset_path(name: str) -> Path:
    """Where the packaged dataset `cookbook:NAME` lives on this machine, now."""
    key = name.removeprefix(PACKAGED_PREFIX)
    if key in _registered:
        return _registered[key]
    eps = _entry_points()
    if key not in eps:
        raise UnknownNameError("packaged dataset", name, packaged_dataset_names())
    target = eps[key].load()
    return Path(target() if callable(target) else target)
