from __future__ import annotations

import logging
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from cookbook_runtime.framework import read_jsonl
from cookbook_runtime.train.metrics import (
    ConsoleMetricLogger,
    JsonlMetricLogger,
    WandbMetricLogger,
    setup_metric_loggers,
    wandb_logger_or_none,
)


def test_jsonl_rows_and_truncation_for_resume(tmp_path: Path) -> None:
    sink = JsonlMetricLogger(tmp_path)
    for step in range(5):
        sink.log_metrics({"train_mean_nll": 1.0 / (step + 1), "test/nll": float("nan")}, step)
    rows = list(read_jsonl(tmp_path / "metrics.jsonl"))
    assert [r["step"] for r in rows] == [0, 1, 2, 3, 4]
    assert rows[0]["test/nll"] is None  # NaN is not JSON
    sink.truncate_from(3)
    assert [r["step"] for r in read_jsonl(tmp_path / "metrics.jsonl")] == [0, 1, 2]


def test_console_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="cookbook_runtime.train.metrics._console"):
        ConsoleMetricLogger().log_metrics({"train_mean_nll": 2.5, "learning_rate": 1e-4, "other": 3}, 7)
    assert caplog.messages == ["step 7: learning_rate=0.0001 train_mean_nll=2.5"]


class _FakeRun:
    def __init__(self) -> None:
        self.logged: list[tuple[dict[str, Any], int]] = []
        self.finished = False

    def log(self, metrics: dict[str, Any], step: int) -> None:
        self.logged.append((metrics, step))

    def finish(self) -> None:
        self.finished = True


def test_wandb_is_used_only_when_configured_and_installed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    assert wandb_logger_or_none(project=None) is None
    monkeypatch.setitem(sys.modules, "wandb", None)  # not installed
    assert wandb_logger_or_none(project="p") is None
    run = _FakeRun()
    fake = types.ModuleType("wandb")
    inits: list[dict[str, Any]] = []

    def init(**kwargs: Any) -> _FakeRun:
        inits.append(kwargs)
        return run

    fake.init = init  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "wandb", fake)
    monkeypatch.setenv("WANDB_PROJECT", "from-env")
    loggers, _ = setup_metric_loggers(tmp_path, config={"lr": 1})
    assert any(isinstance(s, WandbMetricLogger) for s in loggers.loggers)
    loggers.log_metrics({"train_mean_nll": 1.0}, 3)
    loggers.close()
    assert inits[0]["project"] == "from-env" and inits[0]["config"] == {"lr": 1}
    assert run.logged == [({"train_mean_nll": 1.0}, 3)] and run.finished

