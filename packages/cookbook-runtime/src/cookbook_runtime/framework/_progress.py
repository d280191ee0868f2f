"""Progress reporting from stages to whoever is watching (the CLI's progress bar).

Loops call `ctx.report_progress(Progress(...))` once per step; the caller of the run
(e.g. the CLI) passes one listener to `run(..., progress=)` and renders it. The
listener lives on the run's `Context`, never in module state, so two runs in one
process report to their own listeners.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["Progress", "ProgressListener"]


@dataclass(frozen=True)
class Progress:
    """One step of one stage: `step` of `total` (None when unknown), with its metrics."""

    stage: str
    step: int
    total: int | None
    metrics: Mapping[str, float] = field(default_factory=dict)
    message: str | None = None


ProgressListener = Callable[[Progress], None]
"""Receives every progress report of one run, on the run's thread."""
