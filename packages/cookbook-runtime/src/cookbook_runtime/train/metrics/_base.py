"""The metric-logger interface and a fan-out to several loggers."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = ["MetricLogger", "MultiLogger"]

logger = logging.getLogger(__name__)


@runtime_checkable
class MetricLogger(Protocol):
    """Receives one metrics object per training step."""

    def log_metrics(self, metrics: Mapping[str, Any], step: int) -> None:
        """Record `metrics` for `step`."""
        ...

    def close(self) -> None:
        """Flush and release resources."""
        ...


class MultiLogger:
    """Sends every step to each logger; a failing optional logger is reported, not fatal."""

    def __init__(self, loggers: Sequence[MetricLogger]) -> None:
        self.loggers = list(loggers)

    def log_metrics(self, metrics: Mapping[str, Any], step: int) -> None:
        for i, sink in enumerate(self.loggers):
            if i == 0:
                sink.log_metrics(metrics, step)  # the run directory's file must not fail silently
                continue
            try:
                sink.log_metrics(metrics, step)
            except Exception:
                logger.warning("metric logger %s failed", type(sink).__name__, exc_info=True)

    def close(self) -> None:
        for sink in self.loggers:
            sink.close()
