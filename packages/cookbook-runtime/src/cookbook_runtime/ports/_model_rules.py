"""Rules every `ModelRegistry` adapter applies the same way: stage moves, comparisons, identity."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from cookbook_runtime.errors import ConfigError, UnknownNameError
from cookbook_runtime.ports._model_types import (
    MODEL_STAGES,
    Artifact,
    Deployment,
    MetricDelta,
    ModelStage,
    ModelVersion,
    VersionComparison,
)

__all__ = [
    "check_stage_move",
    "compare_versions",
    "new_artifacts",
    "unknown_version",
    "updated_deployment",
    "weights_digest",
]

_ORDER: dict[ModelStage, int] = {"experiment": 0, "staging": 1, "production": 2}


def unknown_version(name: str, version: int, count: int) -> UnknownNameError:
    """The error for version `version` of a model that has versions 1..`count`."""
    return UnknownNameError("model version", f"{name}:{version}", [f"{name}:{v}" for v in range(1, count + 1)][-20:])


def check_stage_move(ref: str, current: ModelStage, to: ModelStage) -> None:
    """`ConfigError` unless the lifecycle allows moving version `ref` from `current` to `to`."""
    if to not in MODEL_STAGES:
        raise ConfigError(f"unknown stage {to!r}; stages: {', '.join(MODEL_STAGES)}")
    if to == current:
        raise ConfigError(f"model {ref} is already in {to!r}")
    if to == "archived":
        return
    if current == "archived":
        if to == "experiment":
            raise ConfigError(f"model {ref} is archived: it can be reinstated to 'staging' or 'production' only")
        return
    if _ORDER[to] < _ORDER[current]:
        raise ConfigError(
            f"model {ref} cannot move back from {current!r} to {to!r}: archive it and promote another version"
        )


def weights_digest(artifacts: Iterable[Artifact]) -> str:
    """SHA-256 over the artifacts' names and checksums, in name order: the identity of a version's files."""
    lines = sorted(f"{a.name}\t{a.sha256}\n" for a in artifacts)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(_flatten(inner, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value} if prefix else {}


def compare_versions(a: ModelVersion, b: ModelVersion) -> VersionComparison:
    """Metrics (with b - a), differing config keys and whether the weights are the same."""
    metrics: dict[str, MetricDelta] = {}
    for key in sorted(set(a.metrics) | set(b.metrics)):
        va, vb = a.metrics.get(key), b.metrics.get(key)
        delta = vb - va if va is not None and vb is not None else None
        metrics[key] = MetricDelta(a=va, b=vb, delta=delta)
    fa, fb = _flatten(a.config), _flatten(b.config)
    changes = {k: (fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)}
    return VersionComparison(
        a=a.ref, b=b.ref, metrics=metrics, config_changes=changes, same_weights=a.weights_sha256 == b.weights_sha256
    )


def updated_deployment(current: Deployment, changes: Mapping[str, Any]) -> Deployment:
    """`current` with `changes` (JSON-style values), or a one-line `ConfigError` if the result is invalid."""
    try:
        return Deployment.model_validate({**current.model_dump(), **changes})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"deployment {current.id!r}: {err['msg']}") from None


def new_artifacts(version: ModelVersion, artifacts: Iterable[Artifact]) -> list[Artifact]:
    """Those of `artifacts` the version lacks; `ConfigError` for a name it has with other contents."""
    have = {a.name: a for a in version.artifacts}
    fresh = []
    for artifact in artifacts:
        old = have.get(artifact.name)
        if old is None:
            fresh.append(artifact)
        elif old.sha256 != artifact.sha256:
            raise ConfigError(
                f"model {version.ref} already has an artifact {artifact.name!r} with other contents; "
                "use another name, or register a new version"
            )
    return fresh
