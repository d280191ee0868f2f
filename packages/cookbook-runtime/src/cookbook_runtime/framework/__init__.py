"""The pipeline runner, stages, the run context and the run directory."""

from cookbook_runtime.framework._context import Context
from cookbook_runtime.framework._progress import Progress, ProgressListener
from cookbook_runtime.framework._references import earlier_stage_keys, require_earlier_stage
from cookbook_runtime.framework._refs import (
    ArtifactRef,
    CheckpointRef,
    DatasetArtifact,
    EvalResultRef,
    RewardModelRef,
    artifact_type,
    dump_refs,
    load_refs,
)
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
    finished_refs,
    preflight,
    run,
    validate,
)
from cookbook_runtime.framework._stage import (
    EarlierStage,
    Stage,
    get_stage,
    register_stage,
    stage_names,
)

__all__ = [
    "RUN_MARKER",
    "ArtifactRef",
    "CheckpointRef",
    "Context",
    "DatasetArtifact",
    "EarlierStage",
    "EvalResultRef",
    "IfExists",
    "PlannedStage",
    "Progress",
    "ProgressListener",
    "RewardModelRef",
    "RunDir",
    "RunDirState",
    "Stage",
    "artifact_type",
    "atomic_write_text",
    "check_resumable",
    "dump_refs",
    "earlier_stage_keys",
    "finished_refs",
    "get_stage",
    "inspect_run_dir",
    "load_refs",
    "preflight",
    "read_jsonl",
    "register_stage",
    "remove_run_dir",
    "require_earlier_stage",
    "run",
    "stage_names",
    "validate",
]
