"""Where fake training clients keep what they save: per service, optionally in a folder.

A fake service's saved states belong to that service (and the clients it creates),
never to the process, so two fakes in one process do not see each other's weights.
Given a folder, each state is also written there, so a later process (a resumed run,
`cookbook sample`) with a service on the same folder finds it, as with a real backend.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from cookbook_runtime.atomic import atomic_write

__all__ = ["FakeStates"]


class FakeStates:
    """Saved fake states by path (`fake://...`), in memory and, with `root`, on disk."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser() if root else None
        self._saved: dict[str, dict[str, Any]] = {}

    def _file(self, path: str) -> Path | None:
        if self.root is None:
            return None
        return self.root / f"{hashlib.sha256(path.encode()).hexdigest()[:32]}.json"

    def get(self, path: str) -> dict[str, Any] | None:
        """The state saved at `path`, or None."""
        if path in self._saved:
            return self._saved[path]
        file = self._file(path)
        if file is None or not file.is_file():
            return None
        state: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))["state"]
        self._saved[path] = state
        return state

    def put(self, path: str, state: dict[str, Any]) -> None:
        """Save `state` at `path` (overwriting)."""
        self._saved[path] = dict(state)
        file = self._file(path)
        if file is not None:
            atomic_write(file, json.dumps({"path": path, "state": state}, sort_keys=True))

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self.get(path) is not None

    def __getitem__(self, path: str) -> dict[str, Any]:
        state = self.get(path)
        if state is None:
            raise KeyError(path)
        return state
