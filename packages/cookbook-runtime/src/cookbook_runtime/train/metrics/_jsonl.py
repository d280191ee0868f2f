"""`metrics.jsonl`: one JSON object per step, the run directory's record of training."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cookbook_runtime.atomic import atomic_write
from cookbook_runtime.framework import read_jsonl

__all__ = ["METRICS_FILE", "JsonlMetricLogger"]

METRICS_FILE = "metrics.jsonl"


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    return value


class JsonlMetricLogger:
    """Appends one line per step to `metrics.jsonl`, flushed so a crash loses at most one."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / METRICS_FILE

    def log_metrics(self, metrics: Mapping[str, Any], step: int) -> None:
        row = {k: _jsonable(v) for k, v in metrics.items()}
        row["step"] = step
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row, sort_keys=True) + "\n")
            f.flush()

    def truncate_from(self, step: int) -> None:
        """Drop rows for `step` and later: a resumed run is about to log them again."""
        if not self.path.exists():
            return
        kept = [row for row in read_jsonl(self.path) if int(row.get("step", -1)) < step]
        atomic_write(self.path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))

    def close(self) -> None:
        return None
