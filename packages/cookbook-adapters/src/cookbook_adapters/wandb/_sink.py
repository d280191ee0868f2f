"""`WandbMetricsSink`: the runtime's `metrics` port over Weights & Biases.

Wire it with `--port metrics=wandb` or a manifest's `[manifests.NAME.ports.metrics]`
(options below); `sl_basic`'s `wandb_project` does the wiring for you. wandb reads its
own environment as usual (`WANDB_API_KEY`, `WANDB_PROJECT`, `WANDB_MODE=offline`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import wandb

__all__ = ["WandbMetricsSink"]

logger = logging.getLogger(__name__)


class WandbMetricsSink:
    """One W&B run per training stage: its config at start, one `log` per step, `finish` at close."""

    def __init__(
        self,
        *,
        project: str | None = None,
        name: str | None = None,
        dir: str | None = None,
        entity: str | None = None,
        group: str | None = None,
        tags: Sequence[str] | None = None,
        mode: str | None = None,
        id: str | None = None,
    ) -> None:
        self._init: dict[str, Any] = {
            "project": project,
            "name": name,
            "dir": dir,
            "entity": entity,
            "group": group,
            "tags": list(tags) if tags is not None else None,
            "mode": mode,
            "id": id,
        }
        self._run: Any = None

    def start(self, config: Mapping[str, Any]) -> None:
        if self._init["dir"]:
            Path(self._init["dir"]).mkdir(parents=True, exist_ok=True)
        options = {k: v for k, v in self._init.items() if v is not None}
        # A new run per sink, never the process's current one: two runs in one process stay apart.
        self._run = wandb.init(**options, config=dict(config), resume="allow", reinit="create_new")
        logger.info("logging metrics to W&B run %s", self._run.name)

    def log_metrics(self, metrics: Mapping[str, Any], step: int) -> None:
        if self._run is None:
            raise RuntimeError("WandbMetricsSink.log_metrics before start()")
        self._run.log(dict(metrics), step=step)

    @property
    def run(self) -> Any:
        """The wandb run (None before `start` and after `close`)."""
        return self._run

    def close(self) -> None:
        if self._run is not None:
            run, self._run = self._run, None
            run.finish()
