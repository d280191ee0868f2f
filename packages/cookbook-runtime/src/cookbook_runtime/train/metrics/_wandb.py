"""Weights & Biases logging, used only when wandb is installed and a project is set.

wandb is imported lazily with `importlib`: the runtime depends on pydantic alone, and
a run without W&B must not pay for importing it.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Mapping
from typing import Any

__all__ = ["WandbMetricLogger", "wandb_logger_or_none"]

logger = logging.getLogger(__name__)


class WandbMetricLogger:
    """Forwards each step's metrics to a wandb run."""

    def __init__(self, run: Any) -> None:
        self._run = run

    def log_metrics(self, metrics: Mapping[str, Any], step: int) -> None:
        self._run.log(dict(metrics), step=step)

    def close(self) -> None:
        self._run.finish()


def wandb_logger_or_none(
    *, project: str | None, name: str | None = None, config: Mapping[str, Any] | None = None, run_dir: str | None = None
) -> WandbMetricLogger | None:
    """A W&B logger when a project is given (or `WANDB_PROJECT` is set) and wandb imports."""
    project = project or os.environ.get("WANDB_PROJECT")
    if not project:
        return None
    try:
        wandb = importlib.import_module("wandb")
    except ImportError:
        logger.warning("W&B project %s was set but wandb is not installed; pip install wandb", project)
        return None
    run = wandb.init(project=project, name=name, config=dict(config or {}), dir=run_dir, resume="allow")
    return WandbMetricLogger(run)
