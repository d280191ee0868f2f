"""Building RL runs over the fakes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cookbook_runtime.ir import ModelRef, TrainingConfig
from cookbook_runtime.testing import FakeServiceClient
from cookbook_runtime.train.metrics import JsonlMetricLogger
from cookbook_runtime.train.rl import RLConfig, RLRun

from .envs import LetterDataset


def training(**overrides: Any) -> TrainingConfig:
    values: dict[str, Any] = {
        "model": ModelRef(name="fake/model", renderer="qwen3_instruct"),
        "batch_size": 2,
        "learning_rate": 1e-3,
        "lr_schedule": "linear",
        "save_every": 2,
        "eval_every": 2,
        **overrides,
    }
    return TrainingConfig(**values)


class CrashingLogger(JsonlMetricLogger):
    """Writes metrics.jsonl like the stage does, and 'dies' when asked to log `crash_at`."""

    def __init__(self, run_dir: Path, crash_at: int | None = None) -> None:
        super().__init__(run_dir)
        self.crash_at = crash_at

    def log_metrics(self, metrics: Any, step: int) -> None:
        if step == self.crash_at:
            raise KeyboardInterrupt(f"simulated kill at step {step}")
        super().log_metrics(metrics, step)


def make_run(
    run_dir: Path,
    *,
    service: FakeServiceClient | None = None,
    config: RLConfig | None = None,
    crash_at: int | None = None,
    batches: int = 6,
    **train_overrides: Any,
) -> RLRun:
    return RLRun(
        service or FakeServiceClient(root=str(run_dir / "fake-states")),  # a resumed run finds its states
        training(**train_overrides),
        config or RLConfig(max_tokens=8),
        LetterDataset(batches, 2, 4),
        run_dir,
        test_dataset=LetterDataset(1, 3, 2, offset=1000),
        metric_logger=CrashingLogger(run_dir, crash_at),
        stage="rl_train",
    )


def rows(run_dir: Path) -> list[dict[str, Any]]:
    out = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        row = json.loads(line)
        out.append({k: v for k, v in row.items() if not k.startswith("time/")})
    return out
