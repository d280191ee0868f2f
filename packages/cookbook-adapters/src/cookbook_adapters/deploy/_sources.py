"""Where a served version's weights come from: a registered version, a run directory, a checkpoint.

- `NAME`, `NAME:3`, `NAME:production`: a version in the `ModelRegistry`; its sampler
  artifact (kind `sampler`) is fetched from the registry's blob store into a local
  folder, or used as-is when it is an external reference (`tinker://...`).
- a run directory: its last checkpoint with sampler weights, its base model and renderer.
- a sampler checkpoint folder (what the local engine saves): its base model is read from it.
"""

from __future__ import annotations

import json
from pathlib import Path

from cookbook_runtime.atomic import atomic_write
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ir import Experiment
from cookbook_runtime.ports import ModelRegistry, ModelVersion, parse_model_spec
from pydantic import ValidationError

from cookbook_adapters.deploy._plan import VersionSource

__all__ = [
    "SAMPLER_KIND",
    "looks_like_path",
    "source_from_checkpoint",
    "source_from_registry",
    "source_from_run",
    "source_from_version",
]

SAMPLER_KIND = "sampler"
"""The artifact kind a registered version's sampler weights carry."""

_SAMPLER_META = "cookbook_sampler.json"  # as the local engine writes it (local/_checkpoints.py)


def looks_like_path(target: str) -> bool:
    """Whether `target` names a folder on disk rather than a registry model."""
    return "/" in target or target.startswith(".") or Path(target).expanduser().is_dir()


def source_from_run(run_dir: Path, *, version: str | None = None) -> VersionSource:
    """The newest sampler checkpoint of a run, with the run's base model and renderer."""
    from cookbook_runtime.train.checkpoints import last_checkpoint

    try:
        raw = json.loads((run_dir / "experiment.json").read_text())
        experiment = Experiment.model_validate(raw)
    except (OSError, ValueError, ValidationError):
        raise ConfigError(f"run {str(run_dir)!r} has no valid experiment.json; was it started by the cookbook?") from None
    if experiment.training is None:
        raise ConfigError(f"run {str(run_dir)!r} has no training section, so no model to deploy")
    checkpoint = last_checkpoint(run_dir, sampler=True)
    if checkpoint is None or not checkpoint.sampler_path:
        raise ConfigError(f"run {str(run_dir)!r} has no checkpoint with sampler weights yet; let training save one")
    return VersionSource(
        version=version or f"{run_dir.name}-{checkpoint.name}",
        sampler_path=str(checkpoint.sampler_path),
        base_model=experiment.training.model.name,
        renderer=experiment.training.model.renderer,
    )


def source_from_checkpoint(
    path: Path, *, base_model: str | None = None, renderer: str | None = None, version: str | None = None
) -> VersionSource:
    """A sampler checkpoint folder; its base model comes from its metadata unless given."""
    meta = path / _SAMPLER_META
    if base_model is None:
        try:
            loaded = json.loads(meta.read_text())
            base_model = str(loaded["base_model"])
        except (OSError, ValueError, KeyError, TypeError):
            raise ConfigError(
                f"{str(path)!r} is neither a run directory nor sampler weights the local engine saved "
                f"(no readable {_SAMPLER_META}); pass a run directory, a sampler folder or a registered model"
            ) from None
    return VersionSource(
        version=version or path.name, sampler_path=str(path.resolve()), base_model=base_model, renderer=renderer
    )


async def source_from_version(registry: ModelRegistry, found: ModelVersion, cache: Path) -> VersionSource:
    """A registered version, its sampler artifact fetched under `cache/<name>/<version>/`."""
    samplers = [a for a in found.artifacts if a.kind == SAMPLER_KIND]
    if not samplers:
        have = ", ".join(f"{a.name} ({a.kind})" for a in found.artifacts) or "none"
        raise ConfigError(
            f"model {found.ref} has no artifact of kind {SAMPLER_KIND!r} to serve (artifacts: {have}); "
            "register it with its sampler weights"
        )
    artifact = samplers[0]
    if artifact.storage == "external":
        path = str(artifact.uri)
    else:
        if not artifact.directory:
            raise ConfigError(f"model {found.ref}: artifact {artifact.name!r} is one file, not a sampler folder")
        dest = cache / found.name / str(found.version) / artifact.name
        marker = dest.parent / f"{artifact.name}.sha256"
        if not (marker.is_file() and marker.read_text() == artifact.sha256):
            # fetched once per checksum; the registry checks each file's SHA-256 as it copies
            await registry.fetch_artifact(found.name, found.version, artifact.name, dest)
            atomic_write(marker, artifact.sha256)
        path = str(dest.resolve())
    return VersionSource(
        version=str(found.version),
        sampler_path=path,
        base_model=found.base_model,
        renderer=found.renderer,
        registry_id=str(found.ref),
    )


async def source_from_registry(registry: ModelRegistry, spec: str, cache: Path) -> tuple[ModelVersion, VersionSource]:
    """`NAME[:VERSION|:STAGE]` looked up in the registry, and its servable source."""
    name, selector = parse_model_spec(spec)
    found = await registry.get(name, selector)
    return found, await source_from_version(registry, found, cache)
