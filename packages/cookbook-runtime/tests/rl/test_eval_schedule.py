"""The RL loops run sampling evaluators on their schedule, beside the held-out envs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from cookbook_runtime.framework import read_jsonl
from cookbook_runtime.testing import FakeServiceClient, RecordingEvaluator
from cookbook_runtime.train.metrics import JsonlMetricLogger
from cookbook_runtime.train.rl import RLConfig, RLResult, RLRun
from cookbook_runtime.train.rl.off_policy import train_off_policy
from cookbook_runtime.train.rl.stream import train_stream
from cookbook_runtime.train.rl.sync import train_sync

from .conftest import training as rl_training
from .envs import LetterDataset


def _steps_with(rows: list[dict[str, Any]], key: str) -> list[int]:
    return [int(r["step"]) for r in rows if key in r]


@pytest.mark.parametrize("loop", [train_sync, train_stream, train_off_policy])
async def test_rl_loops_run_sampling_evaluators_on_their_schedule(
    tmp_path: Path, loop: Callable[[RLRun], Awaitable[RLResult]]
) -> None:
    often, rare = RecordingEvaluator("often"), RecordingEvaluator("rare")
    run = RLRun(
        FakeServiceClient(),
        rl_training(eval_every=2, infrequent_eval_every=3),
        RLConfig(max_tokens=8),
        LetterDataset(6, 2, 4),
        tmp_path,
        test_dataset=LetterDataset(1, 3, 2, offset=1000),
        metric_logger=JsonlMetricLogger(tmp_path),
        stage="rl_train",
        evaluators=[often],
        infrequent_evaluators=[rare],
    )
    await loop(run)
    rows = list(read_jsonl(tmp_path / "metrics.jsonl"))
    assert _steps_with(rows, "test/env/all/reward/total") == [0, 2, 4, 6]
    assert _steps_with(rows, "eval/often/calls") == [0, 2, 4, 6]
    assert _steps_with(rows, "eval/rare/calls") == [0, 3, 6]
