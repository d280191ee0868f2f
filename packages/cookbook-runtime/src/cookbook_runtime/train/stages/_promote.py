"""`promote`: move a registered version to a stage when its metrics pass a gate.

    {"name": "promote", "options": {"to": "staging", "max": {"test/nll": 1.2}, "min": {"eval/gsm8k/pass@1": 0.3}}}

Every threshold must hold (`min`: metric >= value, `max`: metric <= value); a metric
the version lacks fails its check. A failed gate is not a crash: the stage finishes
with `promoted: false` and the verdict, and the refusal is recorded in the version's
history, unless `require` asks for the pipeline to stop there.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cookbook_runtime.errors import ConfigError, CookbookError, PortNotConfigured
from cookbook_runtime.framework import Context
from cookbook_runtime.ir import Experiment
from cookbook_runtime.ports import ModelStage, ModelVersion, Ports, is_configured, parse_model_spec

__all__ = ["GateCheck", "PromoteOptions", "PromoteStage", "PromotionRefused", "evaluate_gate"]

logger = logging.getLogger(__name__)


class PromotionRefused(CookbookError):
    """A promotion gate failed and the stage was told to `require` it."""


class PromoteOptions(BaseModel):
    """Which version to promote, to which stage, under which metric gate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str | None = Field(
        default=None,
        description="NAME, NAME:VERSION or NAME:STAGE to promote; None: the version `register_stage` registered.",
    )
    register_stage: str = Field(default="register", description="The register stage whose version is promoted.")
    to: ModelStage = Field(default="staging", description="Stage to move to: staging, production or archived.")
    min: dict[str, float] = Field(default_factory=dict, description="Metric -> lowest value allowed (>=).")
    max: dict[str, float] = Field(default_factory=dict, description="Metric -> highest value allowed (<=).")
    require: bool = Field(
        default=False, description="Stop the pipeline when the gate fails (after recording it); default: carry on."
    )
    reason: str = Field(default="", description="Note kept with the stage change.")

    @field_validator("model")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        if value is not None:
            parse_model_spec(value)
        return value

    @field_validator("to")
    @classmethod
    def _to(cls, value: ModelStage) -> ModelStage:
        if value == "experiment":
            raise ValueError("versions start in 'experiment'; promote to staging, production or archived")
        return value


class GateCheck(BaseModel):
    """One threshold and its verdict."""

    model_config = ConfigDict(frozen=True)

    metric: str
    op: str
    threshold: float
    value: float | None
    passed: bool

    def describe(self) -> str:
        shown = "missing" if self.value is None else f"{self.value:.6g}"
        return f"{self.metric} {shown} {'ok' if self.passed else 'fails'} {self.op} {self.threshold:.6g}"


def evaluate_gate(version: ModelVersion, options: PromoteOptions) -> list[GateCheck]:
    """Each `min`/`max` threshold checked against the version's metrics."""
    checks = []
    for op, bounds in ((">=", options.min), ("<=", options.max)):
        for metric, threshold in sorted(bounds.items()):
            value = version.metrics.get(metric)
            passed = value is not None and (value >= threshold if op == ">=" else value <= threshold)
            checks.append(GateCheck(metric=metric, op=op, threshold=threshold, value=value, passed=passed))
    return checks


class PromoteStage:
    """Promotes a registered version when its metrics pass the gate; records a refusal otherwise."""

    name: ClassVar[str] = "promote"
    Options: ClassVar[type[BaseModel]] = PromoteOptions

    async def preflight(self, experiment: Experiment, ports: Ports, options: PromoteOptions) -> None:
        """The registry port is wired, and without `model` a register stage is in the pipeline."""
        if not is_configured(ports.registry):
            raise PortNotConfigured("registry")
        if options.model is None and options.register_stage not in {s.key for s in experiment.pipeline}:
            raise ConfigError(
                f"stage {self.name!r} promotes what stage {options.register_stage!r} registers, which is not "
                "in the pipeline: add it, or set model"
            )

    async def run(self, ctx: Context, options: PromoteOptions) -> dict[str, Any]:
        registry = ctx.ports.registry
        if options.model is not None:
            name, selector = parse_model_spec(options.model)
            version = await registry.get(name, selector)
        else:
            registered = ctx.outputs.get(options.register_stage)
            if not registered or "model" not in registered:
                raise ConfigError(
                    f"stage {self.name!r}: stage {options.register_stage!r} has not registered a version; "
                    "put it earlier in the pipeline"
                )
            version = await registry.get(str(registered["model"]), int(registered["version"]))
        checks = evaluate_gate(version, options)
        verdict = "; ".join(c.describe() for c in checks) or "no gate"
        passed = all(c.passed for c in checks)
        out: dict[str, Any] = {
            "model": version.name,
            "version": version.version,
            "ref": str(version.ref),
            "to": options.to,
            "checks": [c.model_dump() for c in checks],
            "verdict": verdict,
        }
        if not passed:
            await registry.refuse_promotion(version.name, version.version, options.to, reason=f"gate: {verdict}")
            logger.warning("not promoting %s to %s: %s", version.ref, options.to, verdict)
            if options.require:
                raise PromotionRefused(f"{version.ref} not promoted to {options.to!r}: {verdict}")
            return {**out, "promoted": False, "stage": version.stage}
        if version.stage == options.to:
            logger.info("%s is already in %s", version.ref, options.to)
            return {**out, "promoted": True, "stage": version.stage, "already": True}
        reason = "; ".join(x for x in (options.reason, f"gate: {verdict}" if checks else "") if x)
        moved = await registry.promote(version.name, version.version, options.to, reason=reason)
        logger.info("promoted %s to %s (%s)", moved.ref, options.to, verdict)
        return {**out, "promoted": True, "stage": moved.stage}
