"""The data the `ModelRegistry` port speaks: versions, artifacts, lineage, stages, deployments.

A *model* is a name; each registration adds a numbered *version* (1, 2, ...) of it,
carrying what produced it (base model, recipe, training config and its hash), how good
it is (metrics), where it came from (a parent version and the kind of training that
led from the parent to it), its files (artifacts with a checksum and size) and its
lifecycle *stage*:

    experiment -> staging -> production
         \\            \\          \\
          `------------`----------`--> archived   (archived may be reinstated to staging or production)

Moving a version into `production` archives the version that was there (one
production version per model). Deployments record where versions are served.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, TypeAlias

from pydantic import Field, field_validator, model_validator

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ir import Spec

__all__ = [
    "DEPLOYMENT_STATUSES",
    "LINEAGE_KINDS",
    "MODEL_STAGES",
    "Artifact",
    "ArtifactFile",
    "ArtifactSource",
    "Deployment",
    "DeploymentDraft",
    "DeploymentStatus",
    "DeploymentStrategy",
    "HealthCheck",
    "Lineage",
    "LineageEdge",
    "LineageKind",
    "MetricDelta",
    "ModelStage",
    "ModelVersion",
    "Registration",
    "StageChange",
    "TrafficSplit",
    "VersionComparison",
    "VersionRef",
    "VersionSelector",
    "check_model_name",
    "config_hash",
    "parse_model_spec",
]

ModelStage: TypeAlias = Literal["experiment", "staging", "production", "archived"]
MODEL_STAGES: tuple[ModelStage, ...] = ("experiment", "staging", "production", "archived")

LineageKind: TypeAlias = Literal["fine_tuned_from", "dpo_trained_from", "rl_trained_from", "distilled_from"]
LINEAGE_KINDS: tuple[LineageKind, ...] = ("fine_tuned_from", "dpo_trained_from", "rl_trained_from", "distilled_from")

DeploymentStatus: TypeAlias = Literal["pending", "deploying", "active", "failed", "terminated"]
DEPLOYMENT_STATUSES: tuple[DeploymentStatus, ...] = ("pending", "deploying", "active", "failed", "terminated")

DeploymentStrategy: TypeAlias = Literal["replace", "canary"]

VersionSelector: TypeAlias = int | ModelStage | None
"""Which version of a model: a number, the newest in a stage (`"production"`), or None for the newest."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_model_name(name: str) -> str:
    """`name` if it is a valid model name (letters, digits, `.`, `_`, `-`; up to 128), else `ConfigError`."""
    if not _NAME.match(name):
        raise ConfigError(
            f"bad model name {name!r}: use letters, digits, '.', '_' or '-' (up to 128, not starting with a symbol)"
        )
    return name


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of `config` (sorted keys, no spaces): equal configs, equal hashes."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def parse_model_spec(text: str) -> tuple[str, VersionSelector]:
    """`"name"`, `"name:3"` or `"name:production"` -> `(name, selector)`; `ConfigError` otherwise."""
    name, sep, rest = text.partition(":")
    check_model_name(name)
    if not sep:
        return name, None
    if rest.isdigit() and int(rest) > 0:
        return name, int(rest)
    if rest in MODEL_STAGES:
        return name, rest  # type: ignore[return-value]  # narrowed by the membership test
    raise ConfigError(
        f"bad model version {text!r}: write NAME, NAME:NUMBER or NAME:STAGE (stages: {', '.join(MODEL_STAGES)})"
    )


class VersionRef(Spec):
    """One version of one model, `name:version`."""

    name: str = Field(description="Model name.")
    version: int = Field(ge=1, description="Version number (1 is the first registered).")

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"


class ArtifactSource(Spec):
    """A file or folder to register with a version: copied into the blob store, or kept as a reference."""

    name: str = Field(min_length=1, description="Name unique within the version, e.g. 'checkpoint', 'sampler'.")
    kind: str = Field(
        min_length=1,
        description="What it is: 'checkpoint' (resumable state), 'sampler' (weights to sample from), "
        "'peft_adapter', 'merged', 'config', 'tokenizer', or another word.",
    )
    path: str | None = Field(default=None, description="Local file or folder to copy into the blob store.")
    uri: str | None = Field(
        default=None, description="A reference kept as-is, not copied (e.g. 'tinker://...'); its identity is the uri."
    )

    @model_validator(mode="after")
    def _one_source(self) -> ArtifactSource:
        if (self.path is None) == (self.uri is None):
            raise ValueError(f"artifact {self.name!r}: give exactly one of path (to copy) or uri (to reference)")
        return self


class ArtifactFile(Spec):
    """One stored file of an artifact."""

    path: str = Field(description="'/'-separated path inside the folder, or the file name of a single-file artifact.")
    sha256: str = Field(description="Hex SHA-256 of the file's bytes.")
    size_bytes: int = Field(ge=0, description="File size in bytes.")


class Artifact(Spec):
    """A registered file or folder of a version."""

    name: str = Field(description="Name unique within the version.")
    kind: str = Field(description="What it is (see `ArtifactSource.kind`).")
    storage: Literal["blobs", "external"] = Field(
        description="'blobs': copied into the registry's blob store under `key`; 'external': only `uri` is kept."
    )
    key: str | None = Field(default=None, description="Blob-store key prefix of the files (storage 'blobs').")
    uri: str | None = Field(default=None, description="The external reference (storage 'external').")
    directory: bool = Field(default=False, description="Whether it was a folder (then `files` are its contents).")
    files: tuple[ArtifactFile, ...] = Field(default=(), description="Stored files, sorted by path.")
    sha256: str = Field(
        description="Checksum of the whole artifact: the file's SHA-256, or for a folder the SHA-256 of its "
        "sorted 'path sha256 size' lines; for an external artifact the SHA-256 of the uri."
    )
    size_bytes: int = Field(ge=0, description="Total size of its files in bytes (0 when external).")


class StageChange(Spec):
    """One stage transition of a version, or a refused attempt (a failed promotion gate)."""

    from_stage: ModelStage = Field(description="Stage before.")
    to_stage: ModelStage = Field(description="Stage asked for.")
    at: datetime = Field(description="When (UTC).")
    accepted: bool = Field(description="Whether the version moved; False records a refused promotion.")
    reason: str = Field(default="", description="Why (a gate's verdict, 'replaced by m:4', a user's note).")


class Registration(Spec):
    """What `ModelRegistry.register` is given: a new version of model `name`."""

    name: str = Field(description="Model name (letters, digits, '.', '_', '-').")
    base_model: str = Field(min_length=1, description="The base model trained from (hub id or built-in name).")
    renderer: str | None = Field(default=None, description="Renderer the model was trained with (deploy applies it).")
    recipe: str | None = Field(default=None, description="Recipe that produced it.")
    config: dict[str, Any] = Field(default_factory=dict, description="The training config, as JSON.")
    config_hash: str | None = Field(default=None, description="Hash of `config`; None: computed by `config_hash`.")
    metrics: dict[str, float] = Field(default_factory=dict, description="Metrics of the run or an evaluation.")
    parent: VersionRef | None = Field(default=None, description="The version it was trained from, if any.")
    lineage: LineageKind | None = Field(default=None, description="How it came from `parent`.")
    artifacts: tuple[ArtifactSource, ...] = Field(default=(), description="Files to store with it.")
    source_run: str | None = Field(default=None, description="Run directory (or id) that produced it.")
    description: str = Field(default="", description="Free text.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_model_name(value)

    @model_validator(mode="after")
    def _consistent(self) -> Registration:
        if (self.parent is None) != (self.lineage is None):
            raise ValueError("give both parent and lineage (how it was trained from the parent), or neither")
        names = [a.name for a in self.artifacts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"artifact names must be unique within a version; repeated: {dupes}")
        return self

    def resolved_config_hash(self) -> str:
        """`config_hash` if given, else the hash of `config`."""
        return self.config_hash or config_hash(self.config)


class ModelVersion(Spec):
    """A registered version of a model."""

    name: str = Field(description="Model name.")
    version: int = Field(ge=1, description="Version number within the model, from 1.")
    stage: ModelStage = Field(description="Lifecycle stage.")
    base_model: str = Field(description="Base model trained from.")
    renderer: str | None = Field(default=None, description="Renderer the model was trained with.")
    recipe: str | None = Field(default=None, description="Recipe that produced it.")
    config: dict[str, Any] = Field(default_factory=dict, description="Training config, as JSON.")
    config_hash: str = Field(description="SHA-256 of the canonical config JSON (or as registered).")
    weights_sha256: str = Field(
        description="SHA-256 over the artifacts' names and checksums: with `config_hash`, what makes a "
        "registration the same as an earlier one."
    )
    metrics: dict[str, float] = Field(default_factory=dict, description="Metrics, by name.")
    parent: VersionRef | None = Field(default=None, description="The version it was trained from.")
    lineage: LineageKind | None = Field(default=None, description="How it came from `parent`.")
    artifacts: tuple[Artifact, ...] = Field(default=(), description="Its stored files.")
    source_run: str | None = Field(default=None, description="Run that produced it.")
    description: str = Field(default="", description="Free text.")
    created_at: datetime = Field(description="When it was registered (UTC).")
    history: tuple[StageChange, ...] = Field(default=(), description="Stage changes and refused promotions, oldest first.")

    @property
    def ref(self) -> VersionRef:
        return VersionRef(name=self.name, version=self.version)

    def artifact(self, name: str) -> Artifact:
        """The artifact called `name`; `ConfigError` naming the ones it has otherwise."""
        for a in self.artifacts:
            if a.name == name:
                return a
        have = ", ".join(a.name for a in self.artifacts) or "none"
        raise ConfigError(f"model {self.ref} has no artifact {name!r}; artifacts: {have}")


class LineageEdge(Spec):
    """`child` was trained from `parent` by `kind`."""

    child: VersionRef = Field(description="The newer version.")
    parent: VersionRef = Field(description="The version it was trained from.")
    kind: LineageKind = Field(description="How.")


class Lineage(Spec):
    """Where a version came from and what came of it."""

    version: VersionRef = Field(description="The version asked about.")
    ancestors: tuple[LineageEdge, ...] = Field(default=(), description="Edges up to the root, nearest first.")
    descendants: tuple[LineageEdge, ...] = Field(default=(), description="Every edge below it, breadth first.")


class MetricDelta(Spec):
    """One metric of two versions; None where a version lacks it."""

    a: float | None = Field(description="Value for the first version.")
    b: float | None = Field(description="Value for the second version.")
    delta: float | None = Field(description="b - a, where both have it.")


class VersionComparison(Spec):
    """Two versions side by side."""

    a: VersionRef = Field(description="First version.")
    b: VersionRef = Field(description="Second version.")
    metrics: dict[str, MetricDelta] = Field(default_factory=dict, description="Every metric either has, by name.")
    config_changes: dict[str, tuple[Any, Any]] = Field(
        default_factory=dict, description="Dotted config keys whose values differ: (a's, b's); absent is None."
    )
    same_weights: bool = Field(description="Whether their artifacts have the same checksums.")


class TrafficSplit(Spec):
    """A share of a deployment's traffic going to one version."""

    version: int = Field(ge=1, description="Version number of the deployment's model.")
    weight: float = Field(ge=0.0, le=1.0, description="Share of requests, 0..1; a deployment's shares sum to 1.")


class HealthCheck(Spec):
    """The latest health probe of a deployment."""

    ok: bool = Field(description="Whether the endpoint answered as expected.")
    at: datetime = Field(description="When (UTC).")
    detail: str = Field(default="", description="What was checked or what went wrong.")
    latency_ms: float | None = Field(default=None, ge=0.0, description="Probe round trip, if measured.")


def _check_traffic(strategy: DeploymentStrategy, traffic: tuple[TrafficSplit, ...]) -> None:
    versions = [t.version for t in traffic]
    if len(set(versions)) != len(versions):
        raise ValueError(f"traffic names a version twice: {versions}")
    if abs(sum(t.weight for t in traffic) - 1.0) > 1e-6:
        raise ValueError(f"traffic weights must sum to 1, got {[t.weight for t in traffic]}")
    if strategy == "replace" and len(traffic) != 1:
        raise ValueError("a 'replace' deployment serves exactly one version (weight 1)")
    if strategy == "canary" and len(traffic) != 2:
        raise ValueError("a 'canary' deployment splits traffic between exactly two versions")


class DeploymentDraft(Spec):
    """What `ModelRegistry.record_deployment` is given."""

    name: str = Field(description="Model name.")
    target: str = Field(min_length=1, description="Where it is served, e.g. 'local-openai' or a host name.")
    strategy: DeploymentStrategy = Field(default="replace", description="'replace' or 'canary'.")
    traffic: tuple[TrafficSplit, ...] = Field(
        min_length=1, description="Versions and their shares: one at weight 1 (replace) or two (canary)."
    )
    status: DeploymentStatus = Field(default="pending", description="Initial status.")
    endpoint: str | None = Field(default=None, description="Base URL, once known.")
    detail: str = Field(default="", description="Free text (command line, error).")

    @model_validator(mode="after")
    def _traffic(self) -> DeploymentDraft:
        _check_traffic(self.strategy, self.traffic)
        return self

    @property
    def version(self) -> int:
        """The version taking the larger share (the stable one of a canary)."""
        return max(self.traffic, key=lambda t: (t.weight, -t.version)).version


class Deployment(Spec):
    """A recorded deployment."""

    id: str = Field(description="Registry-assigned id.")
    name: str = Field(description="Model name.")
    target: str = Field(description="Where it is served.")
    strategy: DeploymentStrategy = Field(description="'replace' or 'canary'.")
    traffic: tuple[TrafficSplit, ...] = Field(description="Versions and their shares.")
    status: DeploymentStatus = Field(description="Lifecycle status.")
    endpoint: str | None = Field(default=None, description="Base URL.")
    health: HealthCheck | None = Field(default=None, description="Latest health probe.")
    detail: str = Field(default="", description="Free text.")
    created_at: datetime = Field(description="When recorded (UTC).")
    updated_at: datetime = Field(description="Last change (UTC).")

    @model_validator(mode="after")
    def _traffic(self) -> Deployment:
        _check_traffic(self.strategy, self.traffic)
        return self

    @property
    def version(self) -> int:
        """The version taking the larger share (the stable one of a canary)."""
        return max(self.traffic, key=lambda t: (t.weight, -t.version)).version
