"""Progress reporting from stages to whoever is watching (the CLI's progress bar).

Loops call `report(Progress(...))` once per step; listeners (added by the outermost
layer, e.g. the CLI) render it. With no listener, reporting costs one list check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["Progress", "ProgressListener", "add_progress_listener", "report_progress"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    """One step of one stage: `step` of `total` (None when unknown), with its metrics."""

    stage: str
    step: int
    total: int | None
    metrics: Mapping[str, float] = field(default_factory=dict)
    message: str | None = None


ProgressListener = Callable[[Progress], None]
_listeners: list[ProgressListener] = []


def add_progress_listener(listener: ProgressListener) -> Callable[[], None]:
    """Start sending progress to `listener`; returns a function that stops it."""
    _listeners.append(listener)

    def remove() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return remove


def report_progress(progress: Progress) -> None:
    """Send `progress` to every listener; a failing listener is logged, never fatal."""
    for listener in list(_listeners):
        try:
            listener(progress)
        except Exception:
            logger.warning("progress listener failed", exc_info=True)
