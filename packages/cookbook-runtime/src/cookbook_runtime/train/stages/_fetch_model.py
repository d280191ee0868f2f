"""`fetch_model`: a registered version's weights, brought into the run as a training stage's output.

    {"name": "fetch_model", "options": {"model": "chat:production"}}

The version's `checkpoint` (resumable state) and `sampler` artifacts are copied out of
the registry (each file's SHA-256 checked) under `<run dir>/registry/<name>/<version>/`;
service references (`tinker://...`) are passed on as they are. The stage publishes the
weights as a `CheckpointRef`, so `dpo_train`/`rl_train`/`supervised_train` continue
from them with `init_from_stage: "fetch_model"`, and returns the version's `ref`, which a
later `register` can name as its parent.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cookbook_runtime.errors import ConfigError, PortNotConfigured
from cookbook_runtime.framework import Context
from cookbook_runtime.ir import Experiment
from cookbook_runtime.ports import (
    Artifact,
    ModelRegistry,
    ModelVersion,
    Ports,
    is_configured,
    parse_model_spec,
)
from cookbook_runtime.train.stages._common import publish_checkpoint

__all__ = ["FetchModelOptions", "FetchModelStage"]

logger = logging.getLogger(__name__)


class FetchModelOptions(BaseModel):
    """Which registered version to bring into the run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(description="NAME, NAME:VERSION or NAME:STAGE (e.g. 'chat:production') to fetch.")
    state_artifact: str = Field(default="checkpoint", description="Artifact holding the resumable training state.")
    sampler_artifact: str | None = Field(
        default="sampler", description="Artifact holding the sampler weights; None: fetch only the state."
    )

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        parse_model_spec(value)
        return value


async def _local(registry: ModelRegistry, version: ModelVersion, artifact: Artifact, dest: Path) -> str:
    if artifact.storage == "external":
        return str(artifact.uri)
    return str(await registry.fetch_artifact(version.name, version.version, artifact.name, dest / artifact.name))


class FetchModelStage:
    """Copies a registered version's weights into the run and publishes them as a checkpoint."""

    name: ClassVar[str] = "fetch_model"
    Options: ClassVar[type[BaseModel]] = FetchModelOptions

    async def preflight(self, experiment: Experiment, ports: Ports, options: FetchModelOptions) -> None:
        """The registry port is wired."""
        if not is_configured(ports.registry):
            raise PortNotConfigured("registry")

    async def run(self, ctx: Context, options: FetchModelOptions) -> dict[str, Any]:
        registry = ctx.ports.registry
        name, selector = parse_model_spec(options.model)
        version = await registry.get(name, selector)
        dest = ctx.run_dir.path / "registry" / version.name / str(version.version)
        state = version.artifact(options.state_artifact)
        if state.kind != "checkpoint":
            raise ConfigError(
                f"stage {self.name!r}: artifact {state.name!r} of {version.ref} is a {state.kind}, not a training "
                "state; set state_artifact to its checkpoint artifact"
            )
        state_path = await _local(registry, version, state, dest)
        sampler_path = None
        if options.sampler_artifact is not None:
            sampler_path = await _local(registry, version, version.artifact(options.sampler_artifact), dest)
        publish_checkpoint(
            ctx, "registry", state_path=state_path, sampler_path=sampler_path, base_model=version.base_model,
            renderer=version.renderer,
        )
        logger.info("fetched %s (%s) into the run", version.ref, version.stage)
        return {
            "model": version.name,
            "version": version.version,
            "ref": str(version.ref),
            "stage": version.stage,
            "final_state_path": state_path,
            "final_sampler_path": sampler_path,
            "base_model": version.base_model,
            "renderer": version.renderer,
        }
