"""Metric logging: `metrics.jsonl` in the run directory, a console line, optional W&B."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cookbook_runtime.train.metrics._base import MetricLogger, MultiLogger
from cookbook_runtime.train.metrics._console import ConsoleMetricLogger
from cookbook_runtime.train.metrics._jsonl import METRICS_FILE, JsonlMetricLogger
from cookbook_runtime.train.metrics._wandb import WandbMetricLogger, wandb_logger_or_none

__all__ = [
    "METRICS_FILE",
    "ConsoleMetricLogger",
    "JsonlMetricLogger",
    "MetricLogger",
    "MultiLogger",
    "WandbMetricLogger",
    "setup_metric_loggers",
    "wandb_logger_or_none",
]


def setup_metric_loggers(
    run_dir: Path,
    *,
    wandb_project: str | None = None,
    wandb_name: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> tuple[MultiLogger, JsonlMetricLogger]:
    """The loggers a training stage writes to, and the JSONL one (resume truncates it)."""
    jsonl = JsonlMetricLogger(run_dir)
    loggers: list[MetricLogger] = [jsonl, ConsoleMetricLogger()]
    wandb = wandb_logger_or_none(project=wandb_project, name=wandb_name, config=config, run_dir=str(run_dir))
    if wandb is not None:
        loggers.append(wandb)
    return MultiLogger(loggers), jsonl
