"""Checkpoints inside the run directory are recorded relative to it, so moved runs resume."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

from cookbook_runtime.testing import FakePending
from cookbook_runtime.train.checkpoints import CheckpointSaver, last_checkpoint


class _SavesInto:
    """A training client whose saves land in a given directory, as the local engine's do."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _done(self, value: str) -> FakePending[str]:
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        fut.set_result(value)
        return FakePending(fut)

    async def save_state(self, name: str) -> FakePending[str]:
        (self.root / "states" / name).mkdir(parents=True)
        return self._done(str(self.root / "states" / name))

    async def save_weights_for_sampler(self, name: str) -> FakePending[str]:
        (self.root / "samplers" / name).mkdir(parents=True)
        return self._done(str(self.root / "samplers" / name))


async def _save(run_dir: Path, root: Path) -> None:
    saver = CheckpointSaver(run_dir, save_every=1)
    client: Any = _SavesInto(root)
    await saver.finish(await saver.submit(client, step=3, epoch=0, batch=3))


async def test_paths_inside_the_run_dir_are_recorded_relative(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    await _save(run_dir, run_dir / "checkpoints")
    line = json.loads((run_dir / "checkpoints.jsonl").read_text())
    assert line["state_path"] == "checkpoints/states/000003"
    assert line["sampler_path"] == "checkpoints/samplers/000003"
    record = last_checkpoint(run_dir)
    assert record is not None and record.state_path == str((run_dir / "checkpoints/states/000003").resolve())


async def test_a_moved_run_dir_resolves_to_its_new_place(tmp_path: Path) -> None:
    await _save(tmp_path / "old", tmp_path / "old" / "checkpoints")
    shutil.move(tmp_path / "old", tmp_path / "new")
    record = last_checkpoint(tmp_path / "new")
    assert record is not None and Path(record.state_path).is_dir()
    assert record.state_path.startswith(str((tmp_path / "new").resolve()))


async def test_paths_outside_the_run_dir_and_uris_are_kept(tmp_path: Path) -> None:
    await _save(tmp_path / "run", tmp_path / "elsewhere")
    line = json.loads((tmp_path / "run" / "checkpoints.jsonl").read_text())
    assert line["state_path"] == str(tmp_path / "elsewhere" / "states" / "000003")


def test_last_checkpoint_with_sampler_weights_skips_state_only_saves(tmp_path: Path) -> None:
    from cookbook_runtime.framework import RunDir

    rd = RunDir(tmp_path)
    rd.append_jsonl("checkpoints.jsonl", {"name": "a", "step": 2, "state_path": "s/a", "sampler_path": "w/a"})
    rd.append_jsonl("checkpoints.jsonl", {"name": "b", "step": 4, "state_path": "s/b", "sampler_path": None})
    assert last_checkpoint(tmp_path) is not None and last_checkpoint(tmp_path).name == "b"  # type: ignore[union-attr]
    with_weights = last_checkpoint(tmp_path, sampler=True)
    assert with_weights is not None and with_weights.name == "a"
    assert with_weights.sampler_path == str((tmp_path / "w" / "a").resolve())


async def test_a_stage_subdir_records_the_runs_shared_checkpoints_relative(tmp_path: Path) -> None:
    """`sft/` saving into the run's `checkpoints/` records `../checkpoints/...`, so the whole run moves."""
    from cookbook_runtime.framework import RUN_MARKER

    (tmp_path / "old").mkdir()
    (tmp_path / "old" / RUN_MARKER).write_text("")
    await _save(tmp_path / "old" / "sft", tmp_path / "old" / "checkpoints")
    line = json.loads((tmp_path / "old" / "sft" / "checkpoints.jsonl").read_text())
    assert line["state_path"] == "../checkpoints/states/000003"
    shutil.move(tmp_path / "old", tmp_path / "new")
    record = last_checkpoint(tmp_path / "new" / "sft")
    assert record is not None and record.state_path == str((tmp_path / "new/checkpoints/states/000003").resolve())


async def test_a_subdir_outside_any_run_keeps_outside_paths_absolute(tmp_path: Path) -> None:
    await _save(tmp_path / "plain" / "sft", tmp_path / "plain" / "checkpoints")
    line = json.loads((tmp_path / "plain" / "sft" / "checkpoints.jsonl").read_text())
    assert line["state_path"] == str(tmp_path / "plain" / "checkpoints" / "states" / "000003")
