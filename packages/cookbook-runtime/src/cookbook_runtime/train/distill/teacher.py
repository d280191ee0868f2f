"""Which model teaches: a base model by name, saved sampler weights by path, or an earlier stage's result.

A spec holds data only, so a teacher is named: `model` (a base model the backend
knows), `path` (sampler weights, e.g. a `final_sampler_path` or a Tinker
`tinker://` path), or `from_stage` (the sampler weights of the `CheckpointRef` an
earlier stage of the same pipeline published: the local demonstration trains its
teacher first). The
student and teacher must share a tokenizer; the logprobs are compared token by token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import EarlierStage
from cookbook_runtime.ports import SamplingClient, ServiceClient

if TYPE_CHECKING:
    from cookbook_runtime.framework import Context

__all__ = ["TeacherSpec", "open_teacher", "resolve_teacher"]


class TeacherSpec(BaseModel):
    """Exactly one of `model`, `path`, `from_stage`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str | None = Field(default=None, description="Base model name of the teacher.")
    path: str | None = Field(default=None, description="Sampler weights of the teacher (a saved sampler path).")
    from_stage: Annotated[str | None, EarlierStage()] = Field(
        default=None, description="Use the sampler weights of this earlier stage's CheckpointRef (e.g. 'supervised_train')."
    )

    @model_validator(mode="after")
    def _one(self) -> TeacherSpec:
        given = [n for n in ("model", "path", "from_stage") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError(f"a teacher needs exactly one of model, path, from_stage (got {given or 'none'})")
        return self


def resolve_teacher(spec: TeacherSpec, ctx: Context, stage: str) -> TeacherSpec:
    """`spec` with `from_stage` replaced by the sampler path of that stage's `CheckpointRef`."""
    if spec.from_stage is None:
        return spec
    from cookbook_runtime.framework import CheckpointRef

    found = ctx.artifact(CheckpointRef, stage=spec.from_stage)  # raises, saying what to fix
    if not found.sampler_path:
        raise ConfigError(
            f"stage {stage!r}: teacher stage {spec.from_stage!r} saved no sampler weights; "
            "teach from a stage that saves them"
        )
    return TeacherSpec(path=found.sampler_path)


async def open_teacher(service: ServiceClient, spec: TeacherSpec) -> SamplingClient:
    """A sampling client over the (resolved) teacher."""
    if spec.from_stage is not None:
        raise ConfigError("resolve the teacher's from_stage before opening it")
    if spec.model is not None:
        return await service.create_sampling_client(base_model=spec.model)
    return await service.create_sampling_client(model_path=spec.path)
