"""Metric logging: `metrics.jsonl` in the run directory, a console line, and the `metrics` port.

Where else metrics go (W&B, MLflow, ...) is wiring, not code here: a manifest or a
spec's `backend.overrides` binds the `metrics` port to an adapter (`wandb` lives in
`cookbook-adapters[wandb]`), and the training stage sends every row to it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cookbook_runtime.ports import MetricsSink
from cookbook_runtime.train.metrics._base import MetricLogger, MultiLogger
from cookbook_runtime.train.metrics._console import ConsoleMetricLogger
from cookbook_runtime.train.metrics._jsonl import METRICS_FILE, JsonlMetricLogger

__all__ = [
    "METRICS_FILE",
    "ConsoleMetricLogger",
    "JsonlMetricLogger",
    "MetricLogger",
    "MultiLogger",
    "setup_metric_loggers",
]

logger = logging.getLogger(__name__)


def setup_metric_loggers(
    run_dir: Path,
    *,
    sink: MetricsSink | None = None,
    config: Mapping[str, Any] | None = None,
) -> tuple[MultiLogger, JsonlMetricLogger]:
    """The loggers a training stage writes to, and the JSONL one (resume truncates it).

    `sink` is the run's `metrics` port when one is wired; it is started here with
    `config`, and a sink that fails (here or on any step) is reported and skipped.
    """
    jsonl = JsonlMetricLogger(run_dir)
    loggers: list[MetricLogger] = [jsonl, ConsoleMetricLogger()]
    if sink is not None:
        try:
            sink.start(dict(config or {}))
        except Exception:
            logger.warning("metrics sink %s failed to start; not used", type(sink).__name__, exc_info=True)
        else:
            loggers.append(sink)
    return MultiLogger(loggers), jsonl
