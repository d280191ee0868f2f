"""What a deployment serves: one or two versions and how traffic is split between them.

Pure data (pydantic, JSON round-trip), so the CLI, the `deploy` stage and the
endpoint's subprocess pass the same plan around; loading weights happens elsewhere.
"""

from __future__ import annotations

from typing import Any, Literal

from cookbook_runtime.errors import ConfigError
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["DeploymentPlan", "VersionSource"]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VersionSource(_Spec):
    """One servable version: sampler weights, the base model they extend, the renderer."""

    version: str = Field(description="Version label answered in responses (e.g. '3' or 'run-a').")
    sampler_path: str | None = Field(
        default=None, description="Sampler weights to load (None serves the base model's own weights)."
    )
    base_model: str = Field(description="Base model whose tokenizer and renderer the weights use.")
    renderer: str | None = Field(
        default=None, description="Renderer name (default: the base model's recommended one)."
    )
    registry_id: str | None = Field(
        default=None, description="The registry's id of this version, when it came from the registry."
    )


class DeploymentPlan(_Spec):
    """The served model name, its versions and the strategy that picks one per request."""

    model: str = Field(description="Model name clients pass as `model` and `/v1/models` lists.")
    strategy: Literal["replace", "canary"] = Field(
        default="replace", description="replace: one version; canary: split traffic between two."
    )
    primary: VersionSource = Field(description="The version serving all (replace) or most (canary) traffic.")
    candidate: VersionSource | None = Field(
        default=None, description="The canary version (canary only)."
    )
    weight: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Share of requests the canary serves (canary only)."
    )
    seed: int = Field(default=0, description="Seed of the canary split, so a rerun splits the same way.")

    @model_validator(mode="after")
    def _check(self) -> DeploymentPlan:
        if self.strategy == "canary":
            if self.candidate is None:
                raise ValueError("a canary deployment needs a candidate version")
            if self.candidate.version == self.primary.version:
                raise ValueError(f"canary and primary are the same version {self.primary.version!r}")
        elif self.candidate is not None:
            raise ValueError("a replace deployment serves one version; drop the candidate or use canary")
        return self

    @classmethod
    def parse(cls, raw: Any, where: str) -> DeploymentPlan:
        """Validate `raw`, raising a one-line `ConfigError` naming `where` on bad input."""
        from pydantic import ValidationError

        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"]) or "plan"
            raise ConfigError(f"deployment plan {where}: {loc}: {err['msg']}") from None

    def versions(self) -> list[VersionSource]:
        """Every version served, primary first."""
        return [self.primary] if self.candidate is None else [self.primary, self.candidate]
