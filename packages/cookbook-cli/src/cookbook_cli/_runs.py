"""Reading run directories back: status, steps done, last metrics, checkpoints.

The file formats are the shared conventions (docs/CONVENTIONS.md); this module only
reads them, through the runtime's `RunDir` and `read_jsonl`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import RUN_MARKER, RunDir
from cookbook_runtime.user_files import iter_jsonl

_HINT = "the run directory is damaged: restore the file or start a new run"

__all__ = ["RunSummary", "find_runs", "headline_metrics", "summarize"]

_PREFERRED = ("train_mean_nll", "test/nll", "loss", "reward", "env/all/reward/total", "accuracy")
_BORING = ("step", "epoch", "batch", "progress", "num_tokens", "num_loss_tokens", "num_sequences")


@dataclass
class RunSummary:
    """What `cookbook runs` shows for one run directory."""

    path: Path
    status: str
    experiment: str
    steps: int
    last_metrics: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)


def is_run_dir(path: Path) -> bool:
    return any((path / name).is_file() for name in (RUN_MARKER, "run.json", "experiment.json"))


def find_runs(root: Path) -> list[Path]:
    """Run directories under `root` (or `root` itself), sorted by path."""
    if not root.is_dir():
        raise ConfigError(f"runs folder {str(root)!r} does not exist; pass the folder that holds your runs")
    if is_run_dir(root):
        return [root]
    found = {p.parent for p in root.rglob("run.json")} | {p.parent for p in root.rglob("experiment.json")}
    return sorted(found)


def require_run_dir(path: Path) -> RunDir:
    if not path.is_dir() or not is_run_dir(path):
        raise ConfigError(f"{str(path)!r} is not a run directory (no run.json or experiment.json)")
    return RunDir(path)


def _json_object(rd: RunDir, name: str) -> dict[str, Any]:
    value = rd.read_json(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"run file {str(rd.path / name)!r} is not a JSON object; {_HINT}")
    return value


def summarize(path: Path) -> RunSummary:
    """What a run directory holds; a damaged file is an `UnreadableFile` naming it."""
    rd = RunDir(path)
    status = _json_object(rd, "run.json")
    experiment = _json_object(rd, "experiment.json")
    metrics = list(iter_jsonl(path / "metrics.jsonl", "run file", hint=_HINT))
    latest: dict[str, Any] = {}
    for row in metrics:  # a final eval-only row must not hide the last training values
        latest.update(row)
    training = [row for row in metrics if any(_is_training_key(k) for k in row)]
    steps = 0
    if training:
        last_step = training[-1].get("step")
        steps = int(last_step) + 1 if isinstance(last_step, int | float) else len(training)
    return RunSummary(
        path=path,
        status=str(status.get("status", "unknown")),
        experiment=str(experiment.get("id") or status.get("experiment") or ""),
        steps=steps,
        last_metrics=latest,
        metrics=metrics,
    )


def _is_training_key(key: str) -> bool:
    """Keys only a training step logs (eval rows carry `test/...`, `step`, `progress`)."""
    return not key.startswith("test/") and key not in ("step", "progress", "epoch", "batch")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def headline_metrics(metrics: dict[str, Any], limit: int = 4) -> dict[str, Any]:
    """The few metrics worth a glance: losses and rewards first, then the rest."""
    chosen = {k: metrics[k] for k in _PREFERRED if k in metrics and _is_number(metrics[k])}
    for key, value in metrics.items():
        if len(chosen) >= limit:
            break
        if key in chosen or key in _BORING or key.startswith("time/") or not _is_number(value):
            continue
        chosen[key] = value
    return dict(list(chosen.items())[:limit])

