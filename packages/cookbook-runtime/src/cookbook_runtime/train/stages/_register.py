"""`register`: record the pipeline's trained weights as a new version in the model registry.

The version gets the training stage's final weights (sampler weights and, unless
turned off, the resumable state), the training config and its hash, and metrics: the
last value of each metric in the training stage's `metrics.jsonl`, overridden by what
evaluation stages after it measured. Local paths are copied into the blob store;
service paths (`tinker://...`) are kept as references. Registering the same config
and weights again (a rerun) returns the existing version.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cookbook_runtime.errors import ConfigError, PortNotConfigured, UnknownNameError
from cookbook_runtime.framework import Context, EarlierStage, read_jsonl
from cookbook_runtime.ir import Experiment
from cookbook_runtime.ports import (
    LINEAGE_KINDS,
    ArtifactSource,
    LineageKind,
    Ports,
    Registration,
    check_model_name,
    is_configured,
    parse_model_spec,
)
from cookbook_runtime.train.metrics import METRICS_FILE
from cookbook_runtime.train.stages._common import TrainedWeights, trained_weights

__all__ = ["RegisterOptions", "RegisterStage", "stage_metrics"]

logger = logging.getLogger(__name__)

LINEAGE_BY_STAGE: dict[str, LineageKind] = {
    "supervised_train": "fine_tuned_from",
    "dpo_train": "dpo_trained_from",
    "rl_train": "rl_trained_from",
    "distill_on_policy": "distilled_from",
    "distill_off_policy": "distilled_from",
}
"""How a training stage relates its weights to the version it started from."""


class RegisterOptions(BaseModel):
    """Which weights to register, under which name, with which parent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(default=None, description="Model name; None uses the experiment id.")
    from_stage: Annotated[str | None, EarlierStage()] = Field(
        default=None, description="Training stage whose final weights are registered; None: the latest one."
    )
    parent: str | None = Field(
        default=None,
        description="The registered version those weights were trained from, as NAME, NAME:VERSION or "
        "NAME:STAGE (e.g. 'chat:production'); None: no parent.",
    )
    lineage: LineageKind | None = Field(
        default=None,
        description="How the weights came from `parent`; None infers it from the training stage "
        "(supervised_train: fine_tuned_from, dpo_train: dpo_trained_from, rl_train: rl_trained_from, "
        "distill_*: distilled_from).",
    )
    metrics_from: list[str] | None = Field(
        default=None,
        description="Stages whose outputs give metrics (evaluations); None: the training stage and every stage after it.",
    )
    run_metrics: bool = Field(
        default=True,
        description="Include the last value of each metric in the training stage's metrics.jsonl "
        "(not step, progress, epoch, batch, learning_rate or time/...).",
    )
    include_state: bool = Field(
        default=True, description="Also store the resumable training state, not only the sampler weights."
    )
    description: str = Field(default="", description="Free text kept with the version.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return check_model_name(value) if value is not None else None

    @field_validator("parent")
    @classmethod
    def _parent(cls, value: str | None) -> str | None:
        if value is not None:
            parse_model_spec(value)
        return value


def stage_metrics(stage_name: str, outputs: Mapping[str, Any]) -> dict[str, float]:
    """The metrics a finished stage's outputs carry, under the names the registry keeps.

    A stage may return a `metrics` mapping directly; the built-in stages' own outputs
    are translated (`final_test_nll` and `evaluate_nll`'s `nll` -> `test/nll`,
    `evaluate`'s pass@k -> `eval/<task>/pass@<k>`, `evaluate_exact_match` -> `eval/exact_match`).
    """
    found: dict[str, Any] = {}
    if "final_test_nll" in outputs:
        found["test/nll"] = outputs["final_test_nll"]
    if stage_name == "evaluate_nll" and "nll" in outputs:
        found["test/nll"] = outputs["nll"]
    if stage_name == "evaluate" and isinstance(outputs.get("pass_at_k"), Mapping):
        for k, value in outputs["pass_at_k"].items():
            found[f"eval/{outputs.get('task', 'task')}/pass@{k}"] = value
    if stage_name == "evaluate_exact_match" and "exact_match" in outputs:
        found["eval/exact_match"] = outputs["exact_match"]
    if isinstance(outputs.get("metrics"), Mapping):
        found.update(outputs["metrics"])
    return _finite(found)


def _finite(values: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            out[str(key)] = float(value)
    return out


_SCHEDULE_KEYS = frozenset({"step", "progress", "epoch", "batch", "learning_rate"})
"""Row keys that say where the run was, not how good the weights are (nor are `time/...` keys)."""


def _run_metrics(ctx: Context, weights: TrainedWeights) -> dict[str, float]:
    spec = next((s for s in ctx.experiment.pipeline if s.key == weights.stage), None)
    subdir = spec.options.get("log_subdir") if spec is not None else None
    folder = ctx.run_dir.path / str(subdir) if isinstance(subdir, str) and subdir else ctx.run_dir.path
    last: dict[str, Any] = {}
    for row in read_jsonl(folder / METRICS_FILE):
        last.update({k: v for k, v in row.items() if k not in _SCHEDULE_KEYS and not k.startswith("time/")})
    return _finite(last)


def _artifact(name: str, kind: str, where: str, stage: str) -> ArtifactSource:
    if "://" in where:
        return ArtifactSource(name=name, kind=kind, uri=where)
    path = Path(where).expanduser()
    if not path.exists():
        raise ConfigError(f"stage {stage!r}: the {kind} at {where!r} does not exist; was the run directory moved?")
    return ArtifactSource(name=name, kind=kind, path=str(path))


class RegisterStage:
    """Registers the pipeline's trained weights (with metrics and lineage) as a model version."""

    name: ClassVar[str] = "register"
    Options: ClassVar[type[BaseModel]] = RegisterOptions

    async def preflight(self, experiment: Experiment, ports: Ports, options: RegisterOptions) -> None:
        """The registry port is wired; the model name and any named stages are valid."""
        if not is_configured(ports.registry):
            raise PortNotConfigured("registry")
        if options.name is None:
            check_model_name(experiment.id)
        keys = {s.key for s in experiment.pipeline}
        for key in options.metrics_from or []:  # from_stage: checked by `validate`
            if key not in keys:
                raise ConfigError(f"stage {self.name!r} names stage {key!r}, which is not in the pipeline")

    async def run(self, ctx: Context, options: RegisterOptions) -> dict[str, Any]:
        weights = trained_weights(ctx, self.name, options.from_stage)
        registry = ctx.ports.registry
        name = options.name or check_model_name(ctx.experiment.id)
        training = ctx.experiment.training
        base_model = weights.base_model or (training.model.name if training else None)
        if not base_model:
            raise ConfigError(f"stage {self.name!r}: stage {weights.stage!r} did not say which base model it trained")

        parent = None
        lineage = None
        if options.parent is not None:
            parent_name, selector = parse_model_spec(options.parent)
            parent = (await registry.get(parent_name, selector)).ref
            lineage = options.lineage or LINEAGE_BY_STAGE.get(weights.stage_name)
            if lineage is None:
                raise ConfigError(
                    f"stage {self.name!r}: cannot tell how stage {weights.stage_name!r} relates to its parent; "
                    f"set lineage to one of {', '.join(LINEAGE_KINDS)}"
                )

        metrics = _run_metrics(ctx, weights) if options.run_metrics else {}
        keys = list(ctx.outputs)
        sources = options.metrics_from or keys[keys.index(weights.stage) :]
        for key in sources:
            spec_name = next((s.name for s in ctx.experiment.pipeline if s.key == key), key)
            metrics.update(stage_metrics(spec_name, ctx.outputs.get(key, {})))

        artifacts = []
        if weights.sampler_path:
            artifacts.append(_artifact("sampler", "sampler", weights.sampler_path, self.name))
        if weights.state_path and options.include_state:
            artifacts.append(_artifact("checkpoint", "checkpoint", weights.state_path, self.name))
        spec = next((s for s in ctx.experiment.pipeline if s.key == weights.stage), None)
        config = {
            "training": training.model_dump(mode="json") if training else None,
            "stage": {"name": weights.stage_name, "options": spec.options if spec else {}},
        }
        try:
            before = {v.version for v in await registry.list(name)}
        except UnknownNameError:
            before = set()
        mv = await registry.register(
            Registration(
                name=name,
                base_model=base_model,
                renderer=weights.renderer,
                recipe=ctx.experiment.recipe,
                config=config,
                metrics=metrics,
                parent=parent,
                lineage=lineage,
                artifacts=tuple(artifacts),
                source_run=str(ctx.run_dir.path.resolve()),
                description=options.description,
            )
        )
        created = mv.version not in before
        logger.info("registered %s (%s)", mv.ref, "new" if created else "already registered")
        return {
            "model": mv.name,
            "version": mv.version,
            "ref": str(mv.ref),
            "created": created,
            "config_hash": mv.config_hash,
            "metrics": dict(mv.metrics),
            "parent": str(mv.parent) if mv.parent else None,
            "lineage": mv.lineage,
            "artifacts": [a.name for a in mv.artifacts],
        }

