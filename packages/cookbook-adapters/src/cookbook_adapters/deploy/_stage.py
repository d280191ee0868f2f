"""`deploy`: serve a registered version (or the run's own weights) on an OpenAI-compatible endpoint.

The endpoint runs as its own process, so it keeps serving after the pipeline ends;
its record (`deploy/endpoint.json`: pid, URL, plan, log) sits in the run directory,
where `stop_run_endpoint` (and `cookbook deploy --stop RUN`) find it. The stage
returns once `/health` answers ok, and records the deployment, with that health
check, in the registry. Rerunning the stage replaces the endpoint it started before.

Which weights: `model` (`NAME`, `NAME:3`, `NAME:production`) from the registry; else
the version this run's `register` stage registered; else the run's last sampler
checkpoint (served, but not recorded in the registry, which only knows versions).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, ClassVar

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import Context
from cookbook_runtime.ports import ModelRegistry, is_configured, parse_model_spec
from pydantic import BaseModel, ConfigDict, Field

from cookbook_adapters.deploy._extra import require_server_extra
from cookbook_adapters.deploy._plan import DeploymentPlan, VersionSource
from cookbook_adapters.deploy._process import (
    EndpointProcess,
    probe_health,
    read_endpoint,
    start_endpoint_process,
    stop_endpoint_process,
)
from cookbook_adapters.deploy._records import (
    local_target,
    record_deployment,
    record_health,
    record_stopped,
)
from cookbook_adapters.deploy._sources import source_from_registry, source_from_run

__all__ = ["DeployOptions", "DeployStage", "stop_run_endpoint"]

logger = logging.getLogger(__name__)

ENDPOINT_FOLDER = "deploy"


class DeployOptions(BaseModel):
    """What to serve, how traffic is split, where to listen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str | None = Field(
        default=None,
        description="Registered model to serve: NAME, NAME:VERSION or NAME:STAGE; None: what `register_stage` "
        "registered in this run, else the run's last sampler checkpoint.",
    )
    register_stage: str = Field(default="register", description="Stage whose registered version is served by default.")
    canary: str | None = Field(
        default=None, description="Another version of the same model (NAME:VERSION) to take `weight` of the traffic."
    )
    weight: float = Field(default=0.1, gt=0.0, lt=1.0, description="Share of requests the canary serves.")
    seed: int = Field(default=0, description="Seed of the canary split.")
    served_name: str | None = Field(
        default=None, description="Model name clients send; default: the registered name, else the experiment id."
    )
    host: str = Field(default="127.0.0.1", description="Interface to listen on (the endpoint has no authentication).")
    port: int = Field(default=0, ge=0, le=65535, description="TCP port; 0 picks a free one.")
    log_feedback: bool = Field(
        default=True, description="Log each request as an inference event to the run's feedback store."
    )
    start_timeout_s: float = Field(default=300.0, gt=0, description="How long to wait for a healthy endpoint.")


def _binding(ctx: Context, port: str) -> dict[str, Any] | None:
    binding = ctx.ports.bindings[port]
    if binding.adapter == "unconfigured":
        return None
    if binding.adapter.startswith("<"):
        raise ConfigError(
            f"stage 'deploy' needs the {port} port wired by a manifest (an adapter name), not an object "
            f"({binding.adapter}); the endpoint process builds its own"
        )
    return {"adapter": binding.adapter, "options": dict(binding.options)}


def _registered_by_run(ctx: Context, stage: str) -> str | None:
    out = ctx.outputs.get(stage) or {}
    name, version = out.get("name") or out.get("model"), out.get("version")
    return f"{name}:{version}" if name and version else None


class DeployStage:
    """Starts the endpoint process, waits for it to be healthy, records the deployment."""

    name: ClassVar[str] = "deploy"
    Options: ClassVar[type[BaseModel]] = DeployOptions

    async def preflight(self, experiment: Any, ports: Any, options: DeployOptions) -> None:
        require_server_extra()
        for spec in (options.model, options.canary):
            if spec is not None:
                parse_model_spec(spec)
        if options.canary is not None:
            if options.model is None:
                raise ConfigError("a canary needs `model` (the stable version) too")
            if parse_model_spec(options.canary)[0] != parse_model_spec(options.model)[0]:
                raise ConfigError(
                    f"canary {options.canary!r} must be a version of {options.model!r}'s model"
                )

    async def _plan(self, ctx: Context, options: DeployOptions, registry: ModelRegistry | None) -> DeploymentPlan:
        cache = ctx.run_dir.path / ENDPOINT_FOLDER / "weights"
        spec = options.model or _registered_by_run(ctx, options.register_stage)
        candidate: VersionSource | None = None
        if spec is None:
            primary = source_from_run(ctx.run_dir.path, version="run")
            name = options.served_name or ctx.experiment.id
        else:
            if registry is None:
                raise ConfigError(f"stage 'deploy' serves {spec!r} from the registry, but no registry port is wired")
            found, primary = await source_from_registry(registry, spec, cache)
            name = options.served_name or found.name
            if options.canary is not None:
                _, candidate = await source_from_registry(registry, options.canary, cache)
        return DeploymentPlan.parse(
            {
                "model": name,
                "strategy": "replace" if candidate is None else "canary",
                "primary": primary.model_dump(),
                "candidate": None if candidate is None else candidate.model_dump(),
                "weight": options.weight if candidate is not None else 0.0,
                "seed": options.seed,
            },
            "of stage 'deploy'",
        )

    async def run(self, ctx: Context, options: DeployOptions) -> dict[str, Any]:
        registry_port = ctx.ports.registry
        registry = registry_port if is_configured(registry_port) else None
        plan = await self._plan(ctx, options, registry)
        service = _binding(ctx, "service")
        if service is None:
            raise ConfigError("stage 'deploy' needs a service port (the engine that samples); wire one")
        feedback = _binding(ctx, "feedback") if options.log_feedback else None
        folder = ctx.run_dir.path / ENDPOINT_FOLDER
        await _stop_recorded(folder, registry)
        try:
            proc = await asyncio.to_thread(
                start_endpoint_process, plan, folder, service=service, feedback=feedback, host=options.host,
                port=options.port, start_timeout_s=options.start_timeout_s,
            )
        except Exception as exc:
            if registry is not None:
                failed = await record_deployment(registry, plan, target=local_target(options.host, options.port),
                                                 endpoint=None, detail=f"start failed: {exc}"[:500])
                if failed is not None:
                    await registry.update_deployment(failed.id, status="failed")
            raise
        port = int(proc.base_url.rsplit(":", 1)[1])
        deployment_id = None
        probe = await asyncio.to_thread(probe_health, proc.base_url)
        if registry is not None:
            recorded = await record_deployment(registry, plan, target=local_target(options.host, port),
                                               endpoint=proc.api_url, detail=f"pid {proc.pid}")
            if recorded is not None:
                deployment_id = recorded.id
                await record_health(registry, recorded.id, probe)
        _remember(proc, deployment_id)
        if not probe.ok:
            stop_endpoint_process(folder)
            raise ConfigError(f"stage 'deploy': the endpoint started but failed its health check ({probe.detail})")
        logger.info("deployed %s on %s", plan.model, proc.api_url)
        return {
            "url": proc.api_url,
            "base_url": proc.base_url,
            "pid": proc.pid,
            "model": plan.model,
            "strategy": plan.strategy,
            "versions": [v.version for v in plan.versions()],
            "deployment_id": deployment_id,
            "record": str(proc.record),
        }


def _remember(proc: EndpointProcess, deployment_id: str | None) -> None:
    """Add the registry's deployment id to the endpoint record, so a stop can mark it terminated."""
    import json

    from cookbook_runtime.atomic import atomic_write

    record = json.loads(proc.record.read_text())
    record["deployment_id"] = deployment_id
    atomic_write(proc.record, json.dumps(record, indent=2))


async def _stop_recorded(folder: Path, registry: ModelRegistry | None) -> EndpointProcess | None:
    import json

    found = read_endpoint(folder)
    if found is None:
        return None
    deployment_id = json.loads(found.record.read_text()).get("deployment_id")
    stopped = await asyncio.to_thread(stop_endpoint_process, folder)
    if registry is not None and deployment_id:
        try:
            await record_stopped(registry, str(deployment_id))
        except Exception:  # the endpoint is down either way; the record is best effort
            logger.warning("could not mark deployment %s terminated", deployment_id, exc_info=True)
    return stopped


async def stop_run_endpoint(run_dir: Path, registry: ModelRegistry | None = None) -> EndpointProcess | None:
    """Stop the endpoint a run's `deploy` stage started (None if none is recorded), marking it terminated."""
    return await _stop_recorded(run_dir / ENDPOINT_FOLDER, registry)
