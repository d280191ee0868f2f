"""Evaluate a run's weights, or a checkpoint's, on a benchmark task: the non-terminal half of `cookbook eval`.

A target is a run directory (its last sampler checkpoint, its renderer and its
manifest), a sampler checkpoint path (`tinker://...`, a local checkpoint folder;
`--model` names the base model whose tokenizer and renderer it uses), or
`base:MODEL` for a model's untrained weights. The task is sampled and graded by the
runtime's `BenchmarkEvaluator` (or, for `KIND:REF` tasks such as `inspect:...`,
by that installed evaluator kind), through the `Runtime` facade's ports only, so it
works the same for local and remote weights. A run directory keeps the results
under `eval/<task>.json` and `eval/<task>.jsonl`.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ir import BackendRef, Experiment
from cookbook_runtime.runtime import Runtime
from cookbook_runtime.train.eval import BenchmarkResult, check_task, write_results
from cookbook_runtime.train.stages import TaskEvalSettings
from pydantic import ValidationError

from cookbook_cli._runs import is_run_dir

__all__ = ["EvalTarget", "evaluate_target", "resolve_target"]

logger = logging.getLogger(__name__)

BASE_PREFIX = "base:"


@dataclass(frozen=True)
class EvalTarget:
    """Which weights answer, through which ports and renderer."""

    label: str
    runtime: Runtime
    backend: BackendRef
    sampler_path: str | None
    base_model: str
    renderer: str | None
    run_dir: Path | None


def _experiment(run_dir: Path) -> Experiment:
    import json

    try:
        raw = json.loads((run_dir / "experiment.json").read_text())
        return Experiment.model_validate(raw)
    except (OSError, ValueError, ValidationError):
        raise ConfigError(
            f"run {str(run_dir)!r} has no valid experiment.json; was it started by the cookbook?"
        ) from None


def _from_run(path: Path, manifest: str | None, renderer: str | None) -> EvalTarget:
    from cookbook_runtime.train.checkpoints import last_checkpoint

    experiment = _experiment(path)
    training = experiment.training
    if training is None:
        raise ConfigError(f"run {str(path)!r} has no training section, so no model to evaluate")
    checkpoint = last_checkpoint(path, sampler=True)
    if checkpoint is None or not checkpoint.sampler_path:
        raise ConfigError(
            f"run {str(path)!r} has no checkpoint with a sampler_path yet; let training save one, then retry"
        )
    return EvalTarget(
        label=str(path),
        runtime=Runtime(manifest or experiment.backend.manifest),
        backend=experiment.backend if manifest is None else BackendRef(manifest=manifest),
        sampler_path=str(checkpoint.sampler_path),
        base_model=training.model.name,
        renderer=renderer or training.model.renderer,
        run_dir=path,
    )


def resolve_target(target: str, *, manifest: str | None, model: str | None, renderer: str | None) -> EvalTarget:
    """A run directory, `base:MODEL`, or a sampler checkpoint path; `ConfigError` for anything else."""
    path = Path(target)
    if "://" not in target and not target.startswith(BASE_PREFIX):
        if path.is_dir() and is_run_dir(path):
            return _from_run(path, manifest, renderer)
        if not path.exists():
            raise ConfigError(
                f"{target!r} is neither a run directory nor a checkpoint: no such path "
                "(give a run directory, a sampler checkpoint path, or base:MODEL)"
            )
    chosen = manifest or "local"
    if target.startswith(BASE_PREFIX):
        base = target[len(BASE_PREFIX) :]
        if not base:
            raise ConfigError("base: needs a model name, e.g. base:cookbook/tiny-chat")
        sampler_path = None
    else:
        if model is None:
            raise ConfigError(f"checkpoint {target!r} needs --model: the base model it was trained from")
        base, sampler_path = model, target
    return EvalTarget(target, Runtime(chosen), BackendRef(manifest=chosen), sampler_path, base, renderer, None)


def _renderer(target: EvalTarget, tokenizer: Any) -> tuple[str, Any]:
    renderers = importlib.import_module("cookbook_runtime.train.renderers")
    name = target.renderer or str(renderers.recommended_renderer(target.base_model))
    return name, renderers.get_renderer(name, tokenizer)


async def evaluate_target(
    target: EvalTarget, settings: TaskEvalSettings, *, write: bool = True
) -> tuple[BenchmarkResult, Path | None]:
    """Sample and grade `settings.task` with `target`'s weights; write results into its run directory."""
    task_name = check_task(settings.task)  # an unknown task fails before any model loads
    ports = target.runtime.ports(target.backend, run_dir=target.run_dir)
    try:
        service = ports.service
        if target.sampler_path is None:
            sampler = await service.create_sampling_client(base_model=target.base_model)
        else:
            sampler = await service.create_sampling_client(model_path=target.sampler_path)
        try:
            renderer_name, renderer = _renderer(target, sampler.tokenizer())
            evaluator = settings.evaluator(renderer, work_dir=target.run_dir)
            logger.info("evaluating %s on %s with renderer %s", target.label, task_name, renderer_name)
            result = await evaluator.evaluate(sampler)
        finally:
            await sampler.close()
    finally:
        await ports.aclose()
    written = None
    if write and target.run_dir is not None:
        extra = {"weights": target.sampler_path or f"base:{target.base_model}", "renderer": renderer_name}
        _, written = write_results(target.run_dir, result, extra=extra)
    return result, written
