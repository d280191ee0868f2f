"""The one pipeline runner.

`run(experiment, ports, run_dir)` validates every enabled stage's options before
anything runs, then runs enabled stages in order, logging `stage_started`,
`stage_finished` (with outputs) and `stage_failed` to `events.jsonl` and keeping
`run.json` current. Running the same directory again skips finished stages and
restores their outputs; stages that checkpoint resume from their own checkpoints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cookbook_runtime.errors import ConfigError, StageFailed
from cookbook_runtime.framework._context import Context
from cookbook_runtime.framework._progress import ProgressListener
from cookbook_runtime.framework._run_dir import RunDir
from cookbook_runtime.framework._stage import get_stage
from cookbook_runtime.ir import Experiment, StageSpec
from cookbook_runtime.ports import Ports

__all__ = ["PlannedStage", "run", "validate"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedStage:
    """A validated stage, ready to run."""

    spec: StageSpec
    stage_cls: type[Any]
    options: BaseModel


def _format_validation(stage: StageSpec, exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "options"
    return f"stage {stage.key!r}: option {where}: {err['msg']}"


def validate(experiment: Experiment) -> list[PlannedStage]:
    """Look up and validate every enabled stage; raise `ConfigError` on the first problem."""
    keys = [s.key for s in experiment.pipeline]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ConfigError(f"pipeline stage ids must be unique; repeated: {', '.join(dupes)} (set 'id')")
    planned: list[PlannedStage] = []
    for spec in experiment.pipeline:
        if not spec.enabled:
            continue
        stage_cls = get_stage(spec.name)
        try:
            options = stage_cls.Options.model_validate(spec.options)
        except ValidationError as exc:
            raise ConfigError(_format_validation(spec, exc)) from None
        planned.append(PlannedStage(spec, stage_cls, options))
    return planned


def _check_same_experiment(run_dir: RunDir, experiment: Experiment) -> None:
    previous = run_dir.read_json("experiment.json")
    if previous is None:
        return
    old = Experiment.model_validate(previous).model_dump(exclude={"outputs"})
    new = experiment.model_dump(exclude={"outputs"})
    if old != new:
        differ = ", ".join(sorted(k for k in {*old, *new} if old.get(k) != new.get(k)))
        raise ConfigError(
            f"run directory {str(run_dir.path)!r} holds a different experiment (it differs in: {differ}); "
            "use another log path, or delete it to start over"
        )


async def run(
    experiment: Experiment,
    ports: Ports,
    run_dir: Path | str | RunDir,
    *,
    artifacts: Any = None,
    progress: ProgressListener | None = None,
) -> Context:
    """Run the pipeline; return the context holding every stage's outputs.

    `progress` receives this run's progress reports (`Context.report_progress`).
    """
    rd = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    planned = validate(experiment)
    _check_same_experiment(rd, experiment)
    rd.ensure()
    rd.write_json("experiment.json", experiment.model_dump(mode="json"))
    finished = rd.finished_stages()
    ctx = Context(experiment=experiment, ports=ports, run_dir=rd, artifacts=artifacts, progress=progress)
    rd.set_status("running", experiment=experiment.id)
    rd.emit("run_started", experiment=experiment.id)
    for spec in experiment.pipeline:
        if not spec.enabled:
            rd.emit("stage_skipped", stage=spec.key, name=spec.name, reason="disabled")
    for item in planned:
        key = item.spec.key
        if key in finished:
            ctx.outputs[key] = finished[key]
            rd.emit("stage_skipped", stage=key, name=item.spec.name, reason="finished")
            logger.info("stage %s already finished; skipped", key)
            continue
        rd.emit("stage_started", stage=key, name=item.spec.name)
        rd.set_status("running", stage=key)
        try:
            result = await item.stage_cls().run(ctx, item.options)
        except Exception as exc:
            rd.emit("stage_failed", stage=key, name=item.spec.name, error=str(exc) or type(exc).__name__)
            rd.set_status("failed", stage=key, error=str(exc) or type(exc).__name__)
            raise StageFailed(key, exc) from exc
        outputs = dict(result or {})
        ctx.outputs[key] = outputs
        rd.emit("stage_finished", stage=key, name=item.spec.name, outputs=outputs)
        if artifacts is not None:
            await artifacts.sync(rd.path)
    rd.emit("run_finished", experiment=experiment.id)
    rd.set_status("finished", stage=None)
    if artifacts is not None:
        await artifacts.sync(rd.path)
    return ctx
