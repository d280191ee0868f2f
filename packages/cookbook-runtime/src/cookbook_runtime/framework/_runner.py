"""The one pipeline runner.

`run(experiment, ports, run_dir)` validates every enabled stage's options before
anything runs, then runs enabled stages in order (skipping those whose `when`
output of an earlier stage is not true), logging `stage_started`,
`stage_finished` (with outputs and the typed artifact refs the stage published) and
`stage_failed` to `events.jsonl` and keeping `run.json` current. Running the same
directory again skips finished stages and restores their outputs and refs; stages
that checkpoint resume from their own checkpoints.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from cookbook_runtime.errors import ConfigError, CookbookError, StageFailed
from cookbook_runtime.framework._context import Context
from cookbook_runtime.framework._progress import ProgressListener
from cookbook_runtime.framework._references import check_stage_references
from cookbook_runtime.framework._refs import ArtifactRef, dump_refs, load_refs
from cookbook_runtime.framework._run_dir import RunDir, inspect_run_dir, remove_run_dir
from cookbook_runtime.framework._stage import get_stage
from cookbook_runtime.ir import Experiment, StageSpec
from cookbook_runtime.ports import Ports
from cookbook_runtime.redaction import redact, redact_text
from cookbook_runtime.user_files import iter_jsonl

__all__ = ["IfExists", "PlannedStage", "check_resumable", "finished_refs", "preflight", "run", "validate"]

IfExists = Literal["resume", "fail", "overwrite"]
"""What `run` does with a directory that already holds a run."""

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
    """Look up and validate every enabled stage; raise `ConfigError` on the first problem.

    Beside each stage's options, every `when` and every `EarlierStage` option must
    name an enabled stage before the one holding it.
    """
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
    _check_conditions(experiment)
    check_stage_references(experiment, planned)
    return planned


def _check_conditions(experiment: Experiment) -> None:
    """Each enabled stage's `when` names an earlier enabled stage."""
    earlier: list[str] = []
    for spec in experiment.pipeline:
        if not spec.enabled:
            continue
        if spec.when is not None:
            source, _, _ = spec.when.partition(".")
            if source not in earlier:
                raise ConfigError(
                    f"stage {spec.key!r}: when {spec.when!r} names no earlier enabled stage "
                    f"(earlier: {', '.join(earlier) or 'none'}); write it as 'STAGE.OUTPUT'"
                )
        earlier.append(spec.key)


def _condition_holds(spec: StageSpec, outputs: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether `spec.when` holds: the named output of the named stage is truthy (absent: false)."""
    if spec.when is None:
        return True
    source, _, output = spec.when.partition(".")
    return bool(outputs.get(source, {}).get(output))


def _damaged(rd: RunDir, name: str, problem: str) -> ConfigError:
    return ConfigError(
        f"run directory {str(rd.path)!r}: {name} {problem}; the run cannot be resumed as it is: "
        "restore the file, or start over with --if-exists overwrite or another log path"
    )


def check_resumable(rd: RunDir, experiment: Experiment) -> dict[str, dict[str, Any]]:
    """Read-only check of an existing run directory; return finished stages' outputs.

    Every file the runner and the loops read back (run.json, experiment.json,
    config.json, events.jsonl, metrics.jsonl, checkpoints.jsonl) must parse, and
    the stored spec must be this experiment; otherwise a `ConfigError` names the file,
    and nothing in the directory has been touched.
    """
    hint = "the run directory is damaged: restore the file or start a new run"
    status = rd.read_json("run.json")
    if status is not None and not isinstance(status, dict):
        raise _damaged(rd, "run.json", "is not a JSON object")
    config = rd.read_json("config.json")
    if config is not None and not isinstance(config, dict):
        raise _damaged(rd, "config.json", "is not a JSON object")
    for name in ("metrics.jsonl", "checkpoints.jsonl"):
        for _ in iter_jsonl(rd.path / name, "run file", hint=hint):
            pass
    finished: dict[str, dict[str, Any]] = {}
    for ev in iter_jsonl(rd.events_path, "run file", hint=hint):
        if ev.get("event") == "stage_finished":
            stage, outputs = ev.get("stage"), ev.get("outputs") or {}
            if not isinstance(stage, str) or not isinstance(outputs, dict):
                raise _damaged(rd, "events.jsonl", "has a stage_finished event without a stage or outputs")
            try:
                load_refs(ev.get("artifacts", []))
            except ValueError as exc:
                raise _damaged(rd, "events.jsonl", f"has unreadable artifacts of stage {stage!r} ({exc})") from None
            finished[stage] = dict(outputs)
    previous = rd.read_json("experiment.json")
    if previous is None:
        return finished
    try:
        old = Experiment.model_validate(previous)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "spec"
        raise _damaged(rd, "experiment.json", f"is not a valid spec ({where}: {err['msg']})") from None
    stored = redact(old.model_dump(mode="json", exclude={"outputs"}))
    wanted = redact(experiment.model_dump(mode="json", exclude={"outputs"}))
    if stored != wanted:
        differ = ", ".join(sorted(k for k in {*stored, *wanted} if stored.get(k) != wanted.get(k)))
        raise ConfigError(
            f"run directory {str(rd.path)!r} holds a different experiment (it differs in: {differ}); "
            "use another log path, or --if-exists overwrite to start over"
        )
    return finished


def finished_refs(rd: RunDir) -> dict[str, list[ArtifactRef]]:
    """Stage key -> the artifact refs its `stage_finished` event recorded (checked by `check_resumable`)."""
    refs: dict[str, list[ArtifactRef]] = {}
    for ev in rd.events():
        if ev.get("event") == "stage_finished" and isinstance(ev.get("stage"), str):
            refs[ev["stage"]] = load_refs(ev.get("artifacts", []))
    return refs


def _takes_key(check: Any) -> bool:
    """Whether a preflight accepts the keyword `key` (older ones take only experiment, ports, options)."""
    try:
        params = inspect.signature(check).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        (p.name == "key" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)) or p.kind is p.VAR_KEYWORD
        for p in params
    )


async def preflight(planned: list[PlannedStage], experiment: Experiment, ports: Ports) -> None:
    """Run each stage's optional `preflight(experiment, ports, options)`: cheap checks, no writes.

    A stage checks here what it can without training (the model resolves, the
    renderer is known, the dataset opens and its first rows parse), so bad input
    fails before a run directory exists. A preflight that takes a keyword `key`
    gets its own `StageSpec.key`, so it knows its place in the pipeline.
    """
    for item in planned:
        if getattr(item.stage_cls, "preflight", None) is None:
            continue
        check = item.stage_cls().preflight
        try:
            if _takes_key(check):
                await check(experiment, ports, item.options, key=item.spec.key)
            else:
                await check(experiment, ports, item.options)
        except CookbookError as exc:
            raise ConfigError(f"stage {item.spec.key!r}: {exc}") from exc


def _error_text(exc: BaseException) -> str:
    return redact_text(str(exc) or type(exc).__name__)


async def run(
    experiment: Experiment,
    ports: Ports,
    run_dir: Path | str | RunDir,
    *,
    artifacts: Any = None,
    if_exists: IfExists = "resume",
    files: Mapping[str, Any] | None = None,
    progress: ProgressListener | None = None,
) -> Context:
    """Run the pipeline; return the context holding every stage's outputs.

    Before anything is written: options are validated, the run directory is
    inspected (only an absent or empty directory, or one carrying the run marker, is
    used), an existing run is checked whole (`check_resumable`) or, with
    `if_exists="overwrite"`, replaced only after every check passed, and each stage
    still to run gets its `preflight`. `files` are extra JSON files (e.g. the
    redacted `config.json`) written once the directory is claimed.

    A `CookbookError` in a stage is raised as `StageFailed`; any other exception is
    a bug and propagates unchanged (with a note naming the stage), after the failure
    is recorded. An interrupt records the run as `interrupted`, resumable.
    `progress` receives this run's progress reports (`Context.report_progress`).
    """
    rd = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    planned = validate(experiment)
    state = inspect_run_dir(rd.path)
    finished: dict[str, dict[str, Any]] = {}
    restored: dict[str, list[ArtifactRef]] = {}
    if state == "run":
        if if_exists == "fail":
            raise ConfigError(
                f"run directory {str(rd.path)!r} already exists; pass --if-exists resume or overwrite, "
                "or choose another log_path"
            )
        if if_exists == "resume":
            finished = check_resumable(rd, experiment)
            restored = finished_refs(rd)
    ports.check_options()
    await preflight([p for p in planned if p.spec.key not in finished], experiment, ports)
    if state == "run" and if_exists == "overwrite":
        remove_run_dir(rd.path)
    rd.claim()
    rd.write_json("experiment.json", redact(experiment.model_dump(mode="json")))
    for name, obj in (files or {}).items():
        rd.write_json(name, redact(obj))
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
            if restored.get(key):
                ctx.refs[key] = restored[key]
            rd.emit("stage_skipped", stage=key, name=item.spec.name, reason="finished")
            logger.info("stage %s already finished; skipped", key)
            continue
        if not _condition_holds(item.spec, ctx.outputs):
            rd.emit("stage_skipped", stage=key, name=item.spec.name, reason="condition", when=item.spec.when)
            logger.info("stage %s skipped: %s is not true", key, item.spec.when)
            continue
        rd.emit("stage_started", stage=key, name=item.spec.name)
        rd.set_status("running", stage=key)
        ctx.stage = key
        ctx.refs.pop(key, None)
        try:
            result = await item.stage_cls().run(ctx, item.options)
        except (KeyboardInterrupt, asyncio.CancelledError):
            rd.emit("stage_interrupted", stage=key, name=item.spec.name)
            rd.set_status("interrupted", stage=key)
            raise
        except CookbookError as exc:
            rd.emit("stage_failed", stage=key, name=item.spec.name, error=_error_text(exc))
            rd.set_status("failed", stage=key, error=_error_text(exc))
            raise StageFailed(key, exc) from exc
        except Exception as exc:
            error = f"{type(exc).__name__}: {_error_text(exc)}"
            rd.emit("stage_failed", stage=key, name=item.spec.name, error=error, bug=True)
            rd.set_status("failed", stage=key, error=error)
            exc.add_note(f"(raised in stage {key!r}: this is a bug, not bad input; please report it)")
            raise
        finally:
            ctx.stage = None
        outputs = redact(dict(result or {}))
        ctx.outputs[key] = dict(result or {})
        rd.emit(
            "stage_finished", stage=key, name=item.spec.name, outputs=outputs,
            artifacts=dump_refs(ctx.refs.get(key, [])),
        )
        if artifacts is not None:
            await artifacts.sync(rd.path)
    rd.emit("run_finished", experiment=experiment.id)
    rd.set_status("finished", stage=None)
    if artifacts is not None:
        await artifacts.sync(rd.path)
    return ctx
