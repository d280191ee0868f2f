"""The pipeline runner, stages, the run context and the run directory."""

from cookbook_runtime.framework._context import Context
from cookbook_runtime.framework._progress import Progress, ProgressListener
from cookbook_runtime.framework._run_dir import RunDir, atomic_write_text, read_jsonl
from cookbook_runtime.framework._runner import PlannedStage, run, validate
from cookbook_runtime.framework._stage import Stage, get_stage, register_stage, stage_names

__all__ = [
    "Context",
    "PlannedStage",
    "Progress",
    "ProgressListener",
    "RunDir",
    "Stage",
    "atomic_write_text",
    "get_stage",
    "read_jsonl",
    "register_stage",
    "run",
    "stage_names",
    "validate",
]
