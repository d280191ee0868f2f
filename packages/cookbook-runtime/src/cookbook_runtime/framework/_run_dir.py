"""The run directory: the spec, the event log and the status file.

Layout: `.cookbook-run` (the marker), `experiment.json`, `config.json`,
`events.jsonl`, `run.json`, plus whatever stages write (`metrics.jsonl`,
`checkpoints.jsonl`, checkpoints). JSONL files are appended one whole line per
write and flushed, so a killed process leaves at most a torn last line, which
readers skip and the next append cuts off.

The marker is the guard on users' data: only a directory that carries it is
resumed or deleted by an overwrite; any other non-empty directory is refused
(`inspect_run_dir`), so a mistyped log path never writes among, or deletes, a
user's own files.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from cookbook_runtime.atomic import atomic_write
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.user_files import load_json

__all__ = [
    "RUN_MARKER",
    "RunDir",
    "RunDirState",
    "atomic_write_text",
    "inspect_run_dir",
    "read_jsonl",
    "remove_run_dir",
]

RUN_MARKER = ".cookbook-run"
"""File that marks a directory as a cookbook run directory."""

RunDirState = Literal["absent", "empty", "run"]


def inspect_run_dir(path: Path | str) -> RunDirState:
    """What `path` is as a run directory; refuse (`ConfigError`) anything that is not one.

    Reads only: `absent` (nothing there), `empty` (an empty directory) or `run` (a
    directory with the marker). A file, a path below a file, an unreadable directory
    or a non-empty directory without the marker raises, naming the path.
    """
    path = Path(path)
    hint = "choose another log_path"
    try:
        if not path.exists():
            for parent in path.parents:
                if parent.exists() and not parent.is_dir():
                    raise ConfigError(f"run directory {str(path)!r} is below {str(parent)!r}, a file; {hint}")
            return "absent"
        if not path.is_dir():
            raise ConfigError(f"run directory {str(path)!r} is a file, not a directory; {hint}")
        if (path / RUN_MARKER).is_file():
            return "run"
        if not any(path.iterdir()):
            return "empty"
    except OSError as exc:
        raise ConfigError(
            f"run directory {str(path)!r} cannot be read ({exc.strerror or type(exc).__name__}); {hint}"
        ) from None
    raise ConfigError(
        f"{str(path)!r} is not empty and is not a cookbook run directory (no {RUN_MARKER}); "
        f"nothing was written: {hint} or empty it"
    )


def remove_run_dir(path: Path | str) -> None:
    """Delete a run directory, refusing any directory that is not one (see `inspect_run_dir`)."""
    if inspect_run_dir(path) == "run":
        shutil.rmtree(path)


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


def _cut_torn_tail(f: Any, end: int) -> None:
    """Truncate a binary file opened for append back to its last newline."""
    pos = end
    while pos > 0:
        step = min(4096, pos)
        f.seek(pos - step)
        chunk = f.read(step)
        nl = chunk.rfind(b"\n")
        if nl >= 0:
            f.truncate(pos - step + nl + 1)
            return
        pos -= step
    f.truncate(0)


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

    def claim(self) -> None:
        """Create the directory (if needed) and mark it as a run directory.

        Call only after `inspect_run_dir` accepted the path: the marker is what makes
        a later resume or overwrite touch it.
        """
        self.ensure()
        marker = self.path / RUN_MARKER
        if not marker.is_file():
            atomic_write_text(marker, json.dumps({"cookbook_run": 1}) + "\n")

    def write_json(self, name: str, obj: Any) -> None:
        atomic_write(self.path / name, json.dumps(obj, indent=2, sort_keys=True) + "\n")

    def read_json(self, name: str) -> Any:
        """The JSON in `name`, None if absent; an `UnreadableFile` if damaged."""
        p = self.path / name
        if not p.exists():
            return None
        return load_json(p, "run file", hint="the run directory is damaged: repair it or start a new run")

    def append_jsonl(self, name: str, obj: Mapping[str, Any]) -> None:
        """Append one line; a torn last line left by a crash is cut off first."""
        self.ensure()
        path = self.path / name
        with path.open("a+b") as f:
            end = f.seek(0, os.SEEK_END)
            if end:
                f.seek(end - 1)
                if f.read(1) != b"\n":
                    _cut_torn_tail(f, end)
            f.write((json.dumps(obj, sort_keys=True) + "\n").encode("utf-8"))
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
