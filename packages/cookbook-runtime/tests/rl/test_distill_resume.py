"""A killed on-policy distillation run resumes to exactly the uninterrupted run's metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from cookbook_runtime.testing import FakeServiceClient
from cookbook_runtime.train.distill import MixedDataset
from cookbook_runtime.train.distill.on_policy import DistillRun
from cookbook_runtime.train.rl import RLConfig
from cookbook_runtime.train.rl.sync import train_sync

from .conftest import CrashingLogger, rows, training
from .envs import LetterDataset


async def _run(run_dir: Path, crash_at: int | None = None) -> DistillRun:
    service = FakeServiceClient(root=str(run_dir / "fake-states"))
    teacher = await service.create_sampling_client(base_model="fake/model")
    return DistillRun(
        service,
        training(),
        RLConfig(max_tokens=8),
        MixedDataset([LetterDataset(6, 2, 4)]),
        run_dir,
        test_dataset=MixedDataset([LetterDataset(1, 3, 2, offset=1000)]),
        metric_logger=CrashingLogger(run_dir, crash_at),
        stage="distill_on_policy",
        teachers=[teacher],
        kl_coef=0.5,
        kl_discount=0.9,
    )


async def test_resume_after_a_crash_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    done = await train_sync(await _run(whole))
    broken = tmp_path / "broken"
    with pytest.raises(KeyboardInterrupt):
        await train_sync(await _run(broken, crash_at=3))
    assert [r["step"] for r in rows(broken)] == [0, 1, 2]
    resumed = await train_sync(await _run(broken))
    assert resumed.start_step == 2
    assert rows(broken) == rows(whole)
    assert "teacher_kl" in rows(whole)[0] and resumed.first_eval == pytest.approx(done.first_eval)
    assert resumed.last_eval == pytest.approx(done.last_eval) and "test/teacher_kl" in done.last_eval
