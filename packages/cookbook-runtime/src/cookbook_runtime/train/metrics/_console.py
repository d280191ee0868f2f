"""A one-line-per-step summary through `logging` (the CLI decides where it goes)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

__all__ = ["ConsoleMetricLogger"]

logger = logging.getLogger(__name__)

_SHOWN = ("epoch", "learning_rate", "train_mean_nll", "test/nll", "num_tokens", "time/step")


class ConsoleMetricLogger:
    """Logs the headline metrics of each step at INFO."""

    def log_metrics(self, metrics: Mapping[str, Any], step: int) -> None:
        parts = []
        for key in _SHOWN:
            if key in metrics:
                value = metrics[key]
                parts.append(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}")
        logger.info("step %d: %s", step, " ".join(parts))

    def close(self) -> None:
        return None
