"""Deployments in the `ModelRegistry`: recorded when an endpoint starts, updated by its health probes.

Only registered versions can be recorded (a deployment names versions of one
model); an endpoint serving a run directory or a checkpoint folder directly is not.
The target names the serving slot, `local-openai:HOST:PORT`, so the registry's rule
"one active deployment per target" makes a redeploy on the same port replace the
earlier one.
"""

from __future__ import annotations

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ports import (
    Deployment,
    DeploymentDraft,
    HealthCheck,
    ModelRegistry,
    TrafficSplit,
    parse_model_spec,
    utc_now,
)

from cookbook_adapters.deploy._plan import DeploymentPlan
from cookbook_adapters.deploy._process import HealthProbe

__all__ = ["local_target", "record_deployment", "record_health", "record_stopped", "registered_model"]


def local_target(host: str, port: int) -> str:
    """The registry target of an endpoint on `host:port`."""
    return f"local-openai:{host}:{port}"


def registered_model(plan: DeploymentPlan) -> str | None:
    """The registry model all of the plan's versions belong to, or None when any is not registered."""
    names = set()
    for source in plan.versions():
        if source.registry_id is None:
            return None
        names.add(parse_model_spec(source.registry_id)[0])
    if len(names) != 1:
        raise ConfigError(
            f"a deployment serves versions of one registered model; this plan mixes {sorted(names)}"
        )
    return names.pop()


def _traffic(plan: DeploymentPlan) -> tuple[TrafficSplit, ...]:
    def number(registry_id: str | None) -> int:
        selector = parse_model_spec(str(registry_id))[1]
        assert isinstance(selector, int)
        return selector

    primary = number(plan.primary.registry_id)
    if plan.candidate is None:
        return (TrafficSplit(version=primary, weight=1.0),)
    candidate = number(plan.candidate.registry_id)
    return (TrafficSplit(version=primary, weight=1.0 - plan.weight), TrafficSplit(version=candidate, weight=plan.weight))


async def record_deployment(
    registry: ModelRegistry, plan: DeploymentPlan, *, target: str, endpoint: str | None, detail: str = ""
) -> Deployment | None:
    """Record a `deploying` deployment of `plan` (None when its versions are not registered)."""
    name = registered_model(plan)
    if name is None:
        return None
    draft = DeploymentDraft(
        name=name, target=target, strategy=plan.strategy, traffic=_traffic(plan), status="deploying",
        endpoint=endpoint, detail=detail,
    )
    return await registry.record_deployment(draft)


async def record_health(registry: ModelRegistry, deployment_id: str, probe: HealthProbe) -> Deployment:
    """Store a health probe; the deployment becomes `active` when it passed, `failed` when not."""
    health = HealthCheck(ok=probe.ok, at=utc_now(), detail=probe.detail[:500], latency_ms=probe.latency_ms)
    return await registry.update_deployment(deployment_id, status="active" if probe.ok else "failed", health=health)


async def record_stopped(registry: ModelRegistry, deployment_id: str, detail: str = "stopped") -> Deployment:
    """Mark a deployment `terminated`."""
    return await registry.update_deployment(deployment_id, status="terminated", detail=detail)
