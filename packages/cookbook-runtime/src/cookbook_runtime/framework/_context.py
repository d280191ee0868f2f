"""What a running stage sees: the experiment, the ports, the run directory, earlier outputs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from cookbook_runtime.framework._progress import Progress, ProgressListener
from cookbook_runtime.framework._run_dir import RunDir
from cookbook_runtime.ir import Experiment
from cookbook_runtime.ports import Ports

__all__ = ["Context"]

logger = logging.getLogger(__name__)


@dataclass
class Context:
    """Per-run state handed to every stage."""

    experiment: Experiment
    ports: Ports
    run_dir: RunDir
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Stage key -> outputs of stages finished so far (including those resumed)."""
    artifacts: Any = None
    """An `ArtifactMirror` when the run mirrors artifacts to a blob store, else None."""
    progress: ProgressListener | None = None
    """Who watches this run's progress (e.g. the CLI's bar); None: nobody."""

    def report_progress(self, progress: Progress) -> None:
        """Send one step's progress to this run's listener; a failing listener is logged, never fatal."""
        if self.progress is None:
            return
        try:
            self.progress(progress)
        except Exception:
            logger.warning("progress listener failed", exc_info=True)
