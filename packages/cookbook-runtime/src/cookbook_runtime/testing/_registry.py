"""`FakeModelRegistry`: the model registry in memory, artifacts in any `BlobStore`."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from cookbook_runtime.errors import ConfigError, UnknownNameError
from cookbook_runtime.ports._model_artifacts import (
    fetch_artifact_files,
    hash_artifacts,
    store_artifacts,
)
from cookbook_runtime.ports._model_rules import (
    check_stage_move,
    compare_versions,
    new_artifacts,
    unknown_version,
    updated_deployment,
    weights_digest,
)
from cookbook_runtime.ports._model_types import (
    ArtifactSource,
    Deployment,
    DeploymentDraft,
    DeploymentStatus,
    HealthCheck,
    Lineage,
    LineageEdge,
    ModelStage,
    ModelVersion,
    Registration,
    StageChange,
    TrafficSplit,
    VersionComparison,
    VersionRef,
    VersionSelector,
)
from cookbook_runtime.ports._protocols import BlobStore

__all__ = ["FakeModelRegistry"]


def _now() -> datetime:
    return datetime.now(UTC)


class FakeModelRegistry:
    """Versions and deployments in dicts; artifacts in `blobs` (a `FakeBlobStore` by default)."""

    def __init__(self, blobs: BlobStore | None = None) -> None:
        if blobs is None:
            from cookbook_runtime.testing.fakes import FakeBlobStore

            blobs = FakeBlobStore()
        self.blobs = blobs
        self.versions: dict[str, list[ModelVersion]] = {}
        self.deployments: dict[str, Deployment] = {}

    def _model(self, name: str) -> list[ModelVersion]:
        if name not in self.versions:
            raise UnknownNameError("model", name, self.versions)
        return self.versions[name]

    def _version(self, name: str, version: int) -> ModelVersion:
        versions = self._model(name)
        if not 1 <= version <= len(versions):
            raise unknown_version(name, version, len(versions))
        return versions[version - 1]

    def _put(self, mv: ModelVersion) -> ModelVersion:
        self.versions[mv.name][mv.version - 1] = mv
        return mv

    async def register(self, registration: Registration) -> ModelVersion:
        r = registration
        if r.parent is not None:
            self._version(r.parent.name, r.parent.version)
        artifacts = await hash_artifacts(r.name, r.artifacts)
        digest = weights_digest(artifacts)
        chash = r.resolved_config_hash()
        for existing in self.versions.get(r.name, []):
            if existing.config_hash == chash and existing.weights_sha256 == digest:
                return existing
        await store_artifacts(self.blobs, r.artifacts, artifacts)
        versions = self.versions.setdefault(r.name, [])
        mv = ModelVersion(
            name=r.name,
            version=len(versions) + 1,
            stage="experiment",
            base_model=r.base_model,
            renderer=r.renderer,
            recipe=r.recipe,
            config=r.config,
            config_hash=chash,
            weights_sha256=digest,
            metrics=r.metrics,
            parent=r.parent,
            lineage=r.lineage,
            artifacts=artifacts,
            source_run=r.source_run,
            description=r.description,
            created_at=_now(),
        )
        versions.append(mv)
        return mv

    async def get(self, name: str, version: VersionSelector = None) -> ModelVersion:
        versions = self._model(name)
        if version is None:
            return versions[-1]
        if isinstance(version, int):
            return self._version(name, version)
        in_stage = [v for v in versions if v.stage == version]
        if not in_stage:
            raise ConfigError(f"model {name!r} has no version in stage {version!r}")
        return in_stage[-1]

    async def list(self, name: str | None = None, *, stage: ModelStage | None = None) -> builtins.list[ModelVersion]:
        names = [name] if name is not None else sorted(self.versions)
        if name is not None:
            self._model(name)
        return [v for n in names for v in self.versions[n] if stage is None or v.stage == stage]

    async def promote(self, name: str, version: int, to: ModelStage, *, reason: str = "") -> ModelVersion:
        mv = self._version(name, version)
        check_stage_move(str(mv.ref), mv.stage, to)
        at = _now()
        if to == "production":
            for other in self.versions[name]:
                if other.stage == "production" and other.version != version:
                    change = StageChange(
                        from_stage="production", to_stage="archived", at=at, accepted=True, reason=f"replaced by {mv.ref}"
                    )
                    self._put(other.model_copy(update={"stage": "archived", "history": (*other.history, change)}))
        change = StageChange(from_stage=mv.stage, to_stage=to, at=at, accepted=True, reason=reason)
        return self._put(mv.model_copy(update={"stage": to, "history": (*mv.history, change)}))

    async def refuse_promotion(self, name: str, version: int, to: ModelStage, *, reason: str) -> ModelVersion:
        mv = self._version(name, version)
        change = StageChange(from_stage=mv.stage, to_stage=to, at=_now(), accepted=False, reason=reason)
        return self._put(mv.model_copy(update={"history": (*mv.history, change)}))

    async def set_metrics(self, name: str, version: int, metrics: Mapping[str, float]) -> ModelVersion:
        mv = self._version(name, version)
        merged = ModelVersion.model_validate({**mv.model_dump(), "metrics": {**mv.metrics, **metrics}})
        return self._put(merged)

    async def compare(self, a: VersionRef, b: VersionRef) -> VersionComparison:
        return compare_versions(self._version(a.name, a.version), self._version(b.name, b.version))

    async def lineage(self, name: str, version: int) -> Lineage:
        start = self._version(name, version)
        ancestors: builtins.list[LineageEdge] = []
        node = start
        while node.parent is not None and node.lineage is not None:
            ancestors.append(LineageEdge(child=node.ref, parent=node.parent, kind=node.lineage))
            node = self._version(node.parent.name, node.parent.version)
        everything = [v for vs in self.versions.values() for v in vs]
        descendants: builtins.list[LineageEdge] = []
        frontier = [start.ref]
        while frontier:
            nxt: builtins.list[VersionRef] = []
            for ref in frontier:
                for v in sorted(everything, key=lambda v: (v.created_at, v.name, v.version)):
                    if v.parent == ref and v.lineage is not None:
                        descendants.append(LineageEdge(child=v.ref, parent=ref, kind=v.lineage))
                        nxt.append(v.ref)
            frontier = nxt
        return Lineage(version=start.ref, ancestors=tuple(ancestors), descendants=tuple(descendants))

    async def add_artifacts(self, name: str, version: int, artifacts: Sequence[ArtifactSource]) -> ModelVersion:
        mv = self._version(name, version)
        fresh = new_artifacts(mv, await hash_artifacts(name, artifacts))
        if not fresh:
            return mv
        await store_artifacts(self.blobs, artifacts, fresh)
        return self._put(mv.model_copy(update={"artifacts": (*mv.artifacts, *fresh)}))

    async def fetch_artifact(self, name: str, version: int, artifact: str, dest: Path) -> Path:
        mv = self._version(name, version)
        return await fetch_artifact_files(self.blobs, mv.artifact(artifact), dest, what=str(mv.ref))

    def _activate(self, deployment: Deployment) -> None:
        if deployment.status != "active":
            return
        for other in list(self.deployments.values()):
            if other.id != deployment.id and other.target == deployment.target and other.status == "active":
                self.deployments[other.id] = other.model_copy(update={"status": "terminated", "updated_at": _now()})

    def _check_versions(self, name: str, traffic: Sequence[TrafficSplit]) -> None:
        for split in traffic:
            self._version(name, split.version)

    async def record_deployment(self, draft: DeploymentDraft) -> Deployment:
        self._check_versions(draft.name, draft.traffic)
        at = _now()
        deployment = Deployment(id=uuid.uuid4().hex[:12], created_at=at, updated_at=at, **draft.model_dump())
        self._activate(deployment)
        self.deployments[deployment.id] = deployment
        return deployment

    async def get_deployment(self, deployment_id: str) -> Deployment:
        if deployment_id not in self.deployments:
            raise UnknownNameError("deployment", deployment_id, self.deployments)
        return self.deployments[deployment_id]

    async def list_deployments(
        self, name: str | None = None, *, target: str | None = None, status: DeploymentStatus | None = None
    ) -> builtins.list[Deployment]:
        return [
            d
            for d in sorted(self.deployments.values(), key=lambda d: d.created_at)
            if (name is None or d.name == name)
            and (target is None or d.target == target)
            and (status is None or d.status == status)
        ]

    async def update_deployment(
        self,
        deployment_id: str,
        *,
        status: DeploymentStatus | None = None,
        health: HealthCheck | None = None,
        traffic: Sequence[TrafficSplit] | None = None,
        endpoint: str | None = None,
        detail: str | None = None,
    ) -> Deployment:
        current = await self.get_deployment(deployment_id)
        changes: dict[str, object] = {"updated_at": _now()}
        if status is not None:
            changes["status"] = status
        if health is not None:
            changes["health"] = health.model_dump()
        if traffic is not None:
            self._check_versions(current.name, traffic)
            changes["traffic"] = [t.model_dump() for t in traffic]
        if endpoint is not None:
            changes["endpoint"] = endpoint
        if detail is not None:
            changes["detail"] = detail
        updated = updated_deployment(current, changes)
        self._activate(updated)
        self.deployments[deployment_id] = updated
        return updated

    async def close(self) -> None:
        return None
