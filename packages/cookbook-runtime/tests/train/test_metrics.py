from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from cookbook_runtime.framework import read_jsonl
from cookbook_runtime.testing import FakeMetricsSink
from cookbook_runtime.train.metrics import (
    ConsoleMetricLogger,
    JsonlMetricLogger,
    setup_metric_loggers,
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


def test_a_wired_sink_is_started_and_gets_every_row(tmp_path: Path) -> None:
    sink = FakeMetricsSink()
    loggers, _ = setup_metric_loggers(tmp_path, sink=sink, config={"lr": 1})
    loggers.log_metrics({"train_mean_nll": 1.0}, 3)
    loggers.close()
    assert sink.config == {"lr": 1}
    assert sink.rows == [(3, {"train_mean_nll": 1.0})] and sink.closed


def test_a_failing_sink_never_fails_the_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class Broken(FakeMetricsSink):
        def log_metrics(self, metrics: Any, step: int) -> None:
            raise ConnectionError("dashboard down")

    loggers, _ = setup_metric_loggers(tmp_path, sink=Broken())
    with caplog.at_level(logging.WARNING):
        loggers.log_metrics({"train_mean_nll": 1.0}, 0)
    assert [r["step"] for r in read_jsonl(tmp_path / "metrics.jsonl")] == [0]
    assert "metric logger Broken failed" in caplog.text


async def test_the_training_stage_sends_rows_to_the_metrics_port(tmp_path: Path) -> None:
    from cookbook_runtime.framework import run
    from cookbook_runtime.ir import Experiment, ModelRef, StageSpec
    from cookbook_runtime.ports import Ports
    from cookbook_runtime.testing import FakeDatasetStore, FakeServiceClient

    from .conftest import chat_rows, training_config

    sink = FakeMetricsSink()
    store = FakeDatasetStore({"chat": {"train": chat_rows(8), "test": chat_rows(4, prefix="t")}})
    training = training_config(model=ModelRef(name="fake/model", renderer="qwen3_instruct"), num_epochs=1)
    spec = Experiment(id="m", training=training, pipeline=[StageSpec(name="supervised_train")])
    await run(spec, Ports(service=FakeServiceClient(), datasets=store, metrics=sink), tmp_path)
    assert sink.config is not None and sink.config["batch_size"] == 4
    rows = list(read_jsonl(tmp_path / "metrics.jsonl"))
    assert [step for step, _ in sink.rows] == [r["step"] for r in rows]
    assert sink.closed


def test_the_runtime_never_imports_a_metrics_client_itself() -> None:
    import re

    import cookbook_runtime

    root = Path(cookbook_runtime.__file__).parent
    reaches = re.compile(r"import wandb|from wandb|import_module\(\s*[\"']wandb")
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py") if reaches.search(p.read_text(encoding="utf-8"))]
    assert offenders == [], offenders
