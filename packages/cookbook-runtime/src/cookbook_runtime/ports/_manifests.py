"""Manifests: named maps from port name to adapter binding.

Resolution is `defaults < manifest < overrides`, all keyed by port name. The
built-ins are `local` (embedded PyTorch backend, offline), `tinker` (the Tinker
service) and `test` (fakes). Users add their own in TOML:

    [manifests.lab]
    extends = "local"                      # optional
    description = "local training, S3 artifacts"
    profile = "local"                      # optional; else the service adapter's name
    [manifests.lab.ports.blobs]
    adapter = "s3"
    options = { bucket = "runs", prefix = "cookbook" }

The file is `$COOKBOOK_MANIFESTS`, else `~/.config/cookbook/manifests.toml`; a path
given explicitly (e.g. `--manifest ./lab.toml`) is read as a file of manifests.

A manifest's *profile* says which recipe defaults suit its backend (`Recipe.defaults_for`):
the `profile` it (or a manifest it extends) declares, else the name of the adapter its
`service` port resolves to (`local`, `tinker`, `fake`). So every manifest that extends
`local` gets the offline defaults, whatever it is called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, ValidationError

from cookbook_runtime.errors import ConfigError, UnknownNameError
from cookbook_runtime.ir import PortBinding, Spec
from cookbook_runtime.ports._registry import PORT_NAMES
from cookbook_runtime.user_files import load_toml

__all__ = [
    "BUILTIN_MANIFESTS",
    "RUN_DIR_PLACEHOLDER",
    "Manifest",
    "available_manifests",
    "bind_run_dir",
    "load_manifest",
    "load_manifest_file",
    "manifest_profile",
    "resolve_bindings",
    "user_manifest_path",
]

RUN_DIR_PLACEHOLDER = "{run_dir}"
"""In a binding's string option, stands for the run directory (e.g. `"{run_dir}/checkpoints"`)."""


class Manifest(Spec):
    """A named wiring of ports to adapters."""

    name: str = Field(description="Manifest name.")
    description: str = Field(default="", description="What this wiring is for.")
    extends: str | None = Field(default=None, description="Manifest whose bindings this one starts from.")
    ports: dict[str, PortBinding] = Field(default_factory=dict, description="Port name -> binding.")
    profile: str | None = Field(
        default=None,
        description="Which recipe defaults fit this backend ('local', 'tinker', ...); None: the service adapter's name.",
    )


def _bind(adapter: str, **options: object) -> PortBinding:
    return PortBinding.model_validate({"adapter": adapter, "options": options})


BUILTIN_MANIFESTS: dict[str, Manifest] = {
    "local": Manifest(
        name="local",
        description="Embedded PyTorch backend on this machine; local files; SQLite model registry; offline.",
        ports={
            "service": _bind("local", root=f"{RUN_DIR_PLACEHOLDER}/checkpoints"),
            "datasets": _bind("files"),
            "blobs": _bind("files"),
            "registry": _bind("sqlite"),
            "feedback": _bind("sqlite"),
            "exporter": _bind("local"),
        },
    ),
    "tinker": Manifest(
        name="tinker",
        description="The Tinker training service (TINKER_BASE_URL / TINKER_API_KEY); HF datasets; "
        "a local SQLite registry keeping tinker:// checkpoints as references.",
        ports={
            "service": _bind("tinker"),
            "datasets": _bind("hf"),
            "blobs": _bind("files"),
            "hub": _bind("hf"),
            "registry": _bind("sqlite"),
            "feedback": _bind("sqlite"),
            "exporter": _bind("local"),
        },
    ),
    "test": Manifest(
        name="test",
        description="In-memory fakes of every port (the fake service keeps its saves in the run).",
        ports={
            **{port: _bind("fake") for port in PORT_NAMES},
            "service": _bind("fake", root=f"{RUN_DIR_PLACEHOLDER}/fake-states"),
        },
    ),
}

DEFAULTS: dict[str, PortBinding] = {port: _bind("unconfigured") for port in PORT_NAMES}


def user_manifest_path() -> Path:
    """Where user manifests are read from."""
    env = os.environ.get("COOKBOOK_MANIFESTS")
    if env:
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return base / "cookbook" / "manifests.toml"


def load_manifest_file(path: Path) -> dict[str, Manifest]:
    """Every manifest in a TOML file; a one-line `ConfigError` names what is wrong."""
    data = load_toml(path, "manifest file")
    table = data.get("manifests")
    if not isinstance(table, dict):
        raise ConfigError(f"manifest file {str(path)!r} has no [manifests.NAME] tables")
    out: dict[str, Manifest] = {}
    for name, body in table.items():
        if not isinstance(body, dict):
            raise ConfigError(f"manifest {name!r} in {str(path)!r} must be a table")
        try:
            out[name] = Manifest.model_validate({"name": name, **body})
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"manifest {name!r} in {str(path)!r}: {where}: {err['msg']}") from None
        unknown = set(out[name].ports) - set(PORT_NAMES)
        if unknown:
            raise ConfigError(
                f"manifest {name!r} in {str(path)!r} wires unknown port(s) {sorted(unknown)}; ports: {', '.join(PORT_NAMES)}"
            )
    return out


def available_manifests(user_file: Path | None = None) -> dict[str, Manifest]:
    """Built-in manifests, then those of the user file (which may shadow built-ins)."""
    found = dict(BUILTIN_MANIFESTS)
    path = user_file or user_manifest_path()
    if path.exists():
        found.update(load_manifest_file(path))
    return found


def load_manifest(name_or_path: str, *, user_file: Path | None = None) -> Manifest:
    """A manifest by name, or the single (or first) manifest of a TOML file path."""
    if name_or_path.endswith(".toml"):
        in_file = load_manifest_file(Path(name_or_path))
        if not in_file:
            raise ConfigError(f"manifest file {name_or_path!r} defines no manifest")
        manifest = next(iter(in_file.values()))
        known = {**available_manifests(user_file), **in_file}
        return _flatten(manifest, known)
    known = available_manifests(user_file)
    if name_or_path not in known:
        raise UnknownNameError("manifest", name_or_path, known)
    return _flatten(known[name_or_path], known)


def _flatten(manifest: Manifest, known: Mapping[str, Manifest]) -> Manifest:
    chain: list[Manifest] = [manifest]
    seen = {manifest.name}
    while chain[-1].extends:
        parent_name = chain[-1].extends
        if parent_name in seen:
            raise ConfigError(f"manifest {manifest.name!r} extends itself through {parent_name!r}")
        if parent_name not in known:
            raise UnknownNameError("manifest", parent_name, known)
        seen.add(parent_name)
        chain.append(known[parent_name])
    ports: dict[str, PortBinding] = {}
    for m in reversed(chain):
        ports.update(m.ports)
    profile = next((m.profile for m in chain if m.profile), None)
    return manifest.model_copy(update={"ports": ports, "extends": None, "profile": profile})


def manifest_profile(manifest: Manifest) -> str:
    """The profile recipe defaults are chosen by: the declared one, else the service adapter.

    Give it a flattened manifest (`load_manifest` returns one); a manifest that wires no
    service has the profile `unconfigured`.
    """
    if manifest.profile:
        return manifest.profile
    service = manifest.ports.get("service")
    return service.adapter if service is not None else "unconfigured"


def resolve_bindings(
    manifest: Manifest, overrides: Mapping[str, PortBinding] | None = None
) -> dict[str, PortBinding]:
    """`defaults < manifest < overrides`, keyed by port name."""
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(PORT_NAMES)
    if unknown:
        raise ConfigError(f"unknown port(s) {sorted(unknown)} in overrides; ports: {', '.join(PORT_NAMES)}")
    return {**DEFAULTS, **manifest.ports, **overrides}


def bind_run_dir(bindings: Mapping[str, PortBinding], run_dir: Path | None) -> dict[str, PortBinding]:
    """Replace `{run_dir}` in string options with the run's directory.

    This is how a manifest keeps a run's artifacts (e.g. the local engine's checkpoints)
    inside its run directory. Outside a run (`run_dir=None`) such options are dropped,
    so the adapter's own default applies.
    """
    out: dict[str, PortBinding] = {}
    for port, binding in bindings.items():
        options: dict[str, object] = {}
        for key, value in binding.options.items():
            if isinstance(value, str) and RUN_DIR_PLACEHOLDER in value:
                if run_dir is None:
                    continue
                value = value.replace(RUN_DIR_PLACEHOLDER, str(run_dir.resolve()))
            options[key] = value
        out[port] = PortBinding.model_validate({"adapter": binding.adapter, "options": options})
    return out
