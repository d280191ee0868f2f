"""The run directory: the spec, the event log and the status file.

Layout: `experiment.json`, `config.json`, `events.jsonl`, `run.json`, plus whatever
stages write (`metrics.jsonl`, `checkpoints.jsonl`, checkpoints). JSONL files are
appended one whole line per write and flushed, so a killed process leaves at most
a truncated last line, which readers skip.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cookbook_runtime.atomic import atomic_write

__all__ = ["RunDir", "atomic_write_text", "read_jsonl"]


def atomic_write_text(path: Path, text: str) -> None:
    """`cookbook_runtime.atomic.atomic_write` for text (kept for callers of the old name)."""
    atomic_write(path, text)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Objects of a JSONL file, skipping a truncated or corrupt trailing line."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                yield obj


class RunDir:
    """A run's directory on local disk."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @property
    def events_path(self) -> Path:
        return self.path / "events.jsonl"

    @property
    def status_path(self) -> Path:
        return self.path / "run.json"

    def ensure(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def write_json(self, name: str, obj: Any) -> None:
        atomic_write(self.path / name, json.dumps(obj, indent=2, sort_keys=True) + "\n")

    def read_json(self, name: str) -> Any:
        p = self.path / name
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None

    def append_jsonl(self, name: str, obj: Mapping[str, Any]) -> None:
        self.ensure()
        with (self.path / name).open("a", encoding="utf-8") as f:
            f.write(json.dumps(obj, sort_keys=True) + "\n")
            f.flush()

    def emit(self, event: str, **fields: Any) -> None:
        """Append one event to `events.jsonl`."""
        self.append_jsonl("events.jsonl", {"event": event, "time": time.time(), **fields})

    def events(self) -> list[dict[str, Any]]:
        return list(read_jsonl(self.events_path))

    def finished_stages(self) -> dict[str, dict[str, Any]]:
        """Stage key -> outputs, for stages with a `stage_finished` event."""
        done: dict[str, dict[str, Any]] = {}
        for ev in read_jsonl(self.events_path):
            if ev.get("event") == "stage_finished":
                done[str(ev["stage"])] = dict(ev.get("outputs") or {})
        return done

    def set_status(self, status: str, **fields: Any) -> None:
        current = self.read_json("run.json") or {}
        current.update({"status": status, "updated": time.time(), **fields})
        self.write_json("run.json", current)

    def status(self) -> dict[str, Any]:
        return dict(self.read_json("run.json") or {})
