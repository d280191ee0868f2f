"""`cookbook deploy`: serve a registered version, a run or a checkpoint on an OpenAI-compatible endpoint.

In the foreground until Ctrl-C. A registered version (`NAME`, `NAME:3`,
`NAME:production`) is looked up in the manifest's registry, and the deployment is
recorded there (deploying -> active with its health check -> terminated on exit);
`--canary NAME:V --weight W` sends a share W of the traffic to another version.
A run directory or a sampler checkpoint folder is served as it is. `--stop RUN`
stops an endpoint a pipeline's `deploy` stage left running.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import ConfigError

from cookbook_cli._output import out_console

__all__ = ["DeployRequest", "deploy_command", "stop_command"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeployRequest:
    """What `cookbook deploy` was asked."""

    target: str
    host: str
    port: int
    canary: str | None
    weight: float
    seed: int
    name: str | None
    base_model: str | None
    manifest: str
    log_feedback: bool


def _deploy_module() -> Any:
    import typer

    from cookbook_cli._group import USAGE_EXIT, fail

    try:
        module = importlib.import_module("cookbook_adapters.deploy")
        module.require_server_extra()
    except ImportError:
        fail("cookbook deploy needs the deploy extra: pip install 'cookbook-adapters[deploy]'")
        raise typer.Exit(USAGE_EXIT) from None
    return module


async def _plan(req: DeployRequest, deploy: Any, registry: Any) -> Any:
    from cookbook_cli._runs import is_run_dir

    candidate = None
    if _looks_like_path(req.target):
        path = Path(req.target).expanduser()
        if path.is_dir() and is_run_dir(path):
            primary = deploy.source_from_run(path)
        else:
            primary = deploy.source_from_checkpoint(path, base_model=req.base_model)
        name = req.name or path.resolve().name
    else:
        from cookbook_runtime.ports import is_configured

        if not is_configured(registry):
            raise ConfigError(f"manifest {req.manifest!r} wires no registry; deploy a path, or use a manifest with one")
        from cookbook_runtime.ports import parse_model_spec

        found = await registry.get(*parse_model_spec(req.target))
        other = None if req.canary is None else await registry.get(*parse_model_spec(req.canary))
        cache = _weights_cache()  # imports the local engine: only once the versions are known to exist
        primary = await deploy.source_from_version(registry, found, cache)
        name = req.name or found.name
        if other is not None:
            candidate = await deploy.source_from_version(registry, other, cache)
    return deploy.DeploymentPlan.parse(
        {
            "model": name,
            "strategy": "replace" if candidate is None else "canary",
            "primary": primary.model_dump(),
            "candidate": None if candidate is None else candidate.model_dump(),
            "weight": req.weight if candidate is not None else 0.0,
            "seed": req.seed,
        },
        "from the command line",
    )


def _looks_like_path(target: str) -> bool:
    return "/" in target or target.startswith(".") or Path(target).expanduser().exists()


def _weights_cache() -> Path:
    from cookbook_adapters.local._paths import cache_root

    return cache_root() / "deploy"


def _validate(req: DeployRequest) -> None:
    """Check what needs no model, registry or port first, so bad input is one line and nothing starts."""
    from cookbook_runtime.ports import parse_model_spec

    if not 0.0 < req.weight < 1.0:
        raise ConfigError(f"--weight must be between 0 and 1 (exclusive), got {req.weight}")
    if _looks_like_path(req.target) and not Path(req.target).expanduser().exists():
        raise ConfigError(f"{req.target!r} does not exist; pass a run directory, a sampler folder or NAME:VERSION")
    if req.canary is None:
        return
    if _looks_like_path(req.target):
        raise ConfigError("--canary needs a registered model as TARGET (NAME:VERSION); a path serves one version")
    model, _ = parse_model_spec(req.target)
    if parse_model_spec(req.canary)[0] != model:
        raise ConfigError(f"--canary {req.canary!r} must be another version of {model!r} (write {model}:VERSION)")


def deploy_command(req: DeployRequest) -> None:
    from cookbook_runtime.runtime import Runtime

    from cookbook_cli.commands.chat import _check_port_free

    _validate(req)
    if not _looks_like_path(req.target):
        from cookbook_runtime.ports import parse_model_spec

        parse_model_spec(req.target)
    _check_port_free(req.host, req.port)
    deploy = _deploy_module()
    records = importlib.import_module("cookbook_adapters.deploy._records")
    ports = Runtime(req.manifest).ports()
    registry = ports.registry
    try:
        plan = asyncio.run(_plan(req, deploy, registry))
        feedback = ports.feedback if req.log_feedback else None
        from cookbook_runtime.ports import is_configured

        if feedback is not None and not is_configured(feedback):
            feedback = None
        with deploy.running_endpoint(plan, ports.service, feedback=feedback, host=req.host, port=req.port) as ep:
            probe = deploy.probe_health(ep.base_url)
            deployment = None
            if is_configured(registry):
                target = records.local_target(req.host, req.port)
                deployment = asyncio.run(records.record_deployment(registry, plan, target=target, endpoint=ep.api_url))
                if deployment is not None:
                    asyncio.run(records.record_health(registry, deployment.id, probe))
            console = out_console()
            versions = ", ".join(v.version for v in plan.versions())
            console.print(f"serving {plan.model} ({plan.strategy}: {versions}) on {ep.api_url}", highlight=False)
            if deployment is not None:
                console.print(f"deployment {deployment.id} recorded in the registry", highlight=False)
            console.print("press Ctrl-C to stop", highlight=False)
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass
            finally:
                if deployment is not None:
                    asyncio.run(records.record_stopped(registry, deployment.id, "stopped by Ctrl-C"))
    finally:
        asyncio.run(ports.aclose(raise_errors=False))


def stop_command(run_dir: Path, manifest: str) -> None:
    from cookbook_runtime.ports import is_configured
    from cookbook_runtime.runtime import Runtime

    stage = importlib.import_module("cookbook_adapters.deploy._stage")
    process = importlib.import_module("cookbook_adapters.deploy._process")
    console = out_console()
    if not run_dir.is_dir():
        raise ConfigError(f"{str(run_dir)!r} is not a directory; pass the run whose deploy stage started an endpoint")
    if process.read_endpoint(run_dir / stage.ENDPOINT_FOLDER) is None:
        console.print(f"no endpoint is recorded in {run_dir}", highlight=False)
        return
    ports = Runtime(manifest).ports()

    async def stop() -> Any:
        try:
            registry = ports.registry if is_configured(ports.registry) else None
            return await stage.stop_run_endpoint(run_dir, registry)
        finally:
            await ports.aclose(raise_errors=False)

    stopped = asyncio.run(stop())
    console.print(f"stopped the endpoint on {stopped.base_url} (pid {stopped.pid})", highlight=False)
