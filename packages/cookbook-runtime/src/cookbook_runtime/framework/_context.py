"""What a running stage sees: the experiment, the ports, the run directory, earlier outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cookbook_runtime.framework._run_dir import RunDir
from cookbook_runtime.ir import Experiment
from cookbook_runtime.ports import Ports

__all__ = ["Context"]


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
