"""Checkpoints: saving training state on a cadence and finding where to resume.

Each checkpoint is one line of `checkpoints.jsonl` (format in docs/CONVENTIONS.md).
`epoch`/`batch` name the next batch to train, so a rerun on the same run directory
continues exactly there. Saves are queued like any training request: submitted
between two steps they capture the weights after the first, without stalling the
pipeline; the line is written only once the backend confirms the save.

Paths inside the run directory (the local engine's `{run_dir}/checkpoints`) are
recorded relative to it, so a run directory that is moved, or restored from an
artifact mirror on another machine, still resumes. Readers get absolute paths back.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import RUN_MARKER
from cookbook_runtime.ports import Pending, TrainingClient
from cookbook_runtime.user_files import iter_jsonl

__all__ = [
    "CHECKPOINTS_FILE",
    "CheckpointRecord",
    "CheckpointSaver",
    "PendingCheckpoint",
    "last_checkpoint",
    "read_checkpoints",
    "record_run_path",
    "resolve_run_path",
]

CHECKPOINTS_FILE = "checkpoints.jsonl"


@dataclass(frozen=True)
class CheckpointRecord:
    """One saved checkpoint: where it is and where in the data it was taken."""

    name: str
    step: int
    epoch: int
    batch: int
    state_path: str
    sampler_path: str | None
    final: bool = False

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> CheckpointRecord:
        return cls(
            name=str(obj["name"]),
            step=int(obj["step"]),
            epoch=int(obj.get("epoch", 0)),
            batch=int(obj.get("batch", 0)),
            state_path=str(obj["state_path"]),
            sampler_path=obj.get("sampler_path"),
            final=bool(obj.get("final", False)),
        )


_DAMAGED = "the run directory is damaged: restore the file or start a new run"


def _record(obj: dict[str, Any], path: Path, number: int) -> CheckpointRecord:
    def bad(problem: str) -> ConfigError:
        return ConfigError(f"run file {str(path)!r}: line {number}: {problem}; {_DAMAGED}")

    for key in ("state_path", "sampler_path", "name"):
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise bad(f"{key} is not a string")
    for key in ("step", "epoch", "batch"):
        if key in obj and (isinstance(obj[key], bool) or not isinstance(obj[key], int)):
            raise bad(f"{key} is not a whole number")
    missing = [key for key in ("name", "step", "state_path") if not obj.get(key) and obj.get(key) != 0]
    if missing:
        raise bad(f"missing {', '.join(missing)}")
    return CheckpointRecord.from_json(obj)


def _run_root(run_dir: Path) -> Path:
    """The outermost cookbook run directory holding `run_dir` (a stage's log subdir sits inside one)."""
    root = run_dir
    for parent in run_dir.parents:
        if (parent / RUN_MARKER).is_file():
            root = parent
    return root


def record_run_path(path: str | None, run_dir: Path) -> str | None:
    """`path` relative to `run_dir` when it is a local path inside its run directory; unchanged otherwise.

    A stage logging into a subdirectory (`sft/`) saves its checkpoints into the run's
    shared `checkpoints/`; those are recorded as `../checkpoints/...`, so they move
    with the run directory too. Paths outside the run stay absolute.
    """
    if path is None or "://" in path or not Path(path).is_absolute():
        return path
    run_dir = run_dir.resolve()
    target = Path(path).resolve()
    if not target.is_relative_to(_run_root(run_dir)):
        return path
    return Path(os.path.relpath(target, run_dir)).as_posix()


def resolve_run_path(path: str | None, run_dir: Path) -> str | None:
    """The usable form of a recorded path: relative local paths are joined to `run_dir`."""
    if path is None or "://" in path or Path(path).is_absolute():
        return path
    return str((Path(run_dir) / path).resolve())


def read_checkpoints(run_dir: Path) -> list[CheckpointRecord]:
    """Every checkpoint recorded in the run directory, oldest first, with usable paths.

    A line that is not a checkpoint record (a field missing or of the wrong type)
    raises `ConfigError` naming the file: the directory was damaged or hand-edited.
    """
    records = []
    path = Path(run_dir) / CHECKPOINTS_FILE
    for number, obj in enumerate(iter_jsonl(path, "run file", hint=_DAMAGED), start=1):
        record = _record(obj, path, number)
        records.append(
            replace(
                record,
                state_path=resolve_run_path(record.state_path, run_dir) or record.state_path,
                sampler_path=resolve_run_path(record.sampler_path, run_dir),
            )
        )
    return records


def last_checkpoint(run_dir: Path, *, sampler: bool = False) -> CheckpointRecord | None:
    """The newest resumable checkpoint, or None for a fresh run.

    With `sampler=True`, the newest that also saved sampler weights (what `cookbook
    sample` chats with), or None when no checkpoint did.
    """
    records = [r for r in read_checkpoints(run_dir) if r.sampler_path or not sampler]
    return records[-1] if records else None


@dataclass
class PendingCheckpoint:
    """Queued saves; `CheckpointSaver.finish` waits for them and records the line."""

    name: str
    step: int
    epoch: int
    batch: int
    final: bool
    state: Pending[str]
    sampler: Pending[str] | None


class CheckpointSaver:
    """Decides when to save, queues the saves, and appends `checkpoints.jsonl`."""

    def __init__(self, run_dir: Path, *, save_every: int, save_sampler: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / CHECKPOINTS_FILE
        self.save_every = save_every
        self.save_sampler = save_sampler

    def due(self, steps_done: int) -> bool:
        """Whether a periodic checkpoint is due once `steps_done` steps have finished."""
        return self.save_every > 0 and steps_done > 0 and steps_done % self.save_every == 0

    async def submit(
        self, client: TrainingClient, *, step: int, epoch: int, batch: int, final: bool = False
    ) -> PendingCheckpoint:
        """Queue a state save (and sampler weights) of the weights after `step` steps."""
        name = "final" if final else f"{step:06d}"
        state = await client.save_state(name)
        sampler = await client.save_weights_for_sampler(name) if (self.save_sampler or final) else None
        return PendingCheckpoint(name, step, epoch, batch, final, state, sampler)

    async def finish(self, pending: PendingCheckpoint) -> CheckpointRecord:
        """Wait for the saves, then append the checkpoint's line."""
        state_path = await pending.state.result()
        sampler_path = await pending.sampler.result() if pending.sampler is not None else None
        record = CheckpointRecord(
            name=pending.name,
            step=pending.step,
            epoch=pending.epoch,
            batch=pending.batch,
            state_path=state_path,
            sampler_path=sampler_path,
            final=pending.final,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stored = replace(
            record,
            state_path=record_run_path(record.state_path, self.run_dir) or record.state_path,
            sampler_path=record_run_path(record.sampler_path, self.run_dir),
        )
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(stored), sort_keys=True) + "\n")
            f.flush()
        return record
