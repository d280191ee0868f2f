"""The pipeline runner, stages, the run context and the run directory."""

from cookbook_runtime.framework._context import Context
from cookbook_runtime.framework._progress import Progress, ProgressListener
from cookbook_runtime.framework._run_dir import (
    RUN_MARKER,
    RunDir,
    RunDirState,
    atomic_write_text,
    inspect_run_dir,
    read_jsonl,
    remove_run_dir,
)
from cookbook_runtime.framework._runner import (
    IfExists,
    PlannedStage,
    check_resumable,
    preflight,
    run,
    validate,
)
from cookbook_runtime.framework._stage import Stage, get_stage, register_stage, stage_names

__all__ = [
    "RUN_MARKER",
    "Context",
    "IfExists",
    "PlannedStage",
    "Progress",
    "ProgressListener",
    "RunDir",
    "RunDirState",
    "Stage",
    "atomic_write_text",
    "check_resumable",
    "get_stage",
    "inspect_run_dir",
    "preflight",
    "read_jsonl",
    "register_stage",
    "remove_run_dir",
    "run",
    "stage_names",
    "validate",
]
