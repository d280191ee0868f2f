"""The `Runtime` facade: the composition root between recipes, specs and ports.

It resolves ports from a manifest (plus overrides), builds a recipe's spec from a
config, validates it, and runs it. Recipes never reach ports except through here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import (
    Context,
    IfExists,
    PlannedStage,
    ProgressListener,
    RunDir,
    inspect_run_dir,
)
from cookbook_runtime.framework import run as run_pipeline
from cookbook_runtime.framework import validate as validate_pipeline
from cookbook_runtime.ir import BackendRef, Experiment, PortBinding
from cookbook_runtime.numbers import check_numbers
from cookbook_runtime.ports import (
    Manifest,
    Ports,
    bind_run_dir,
    load_manifest,
    manifest_profile,
    resolve_bindings,
)
from cookbook_runtime.redaction import REDACTED, is_secret_key, redact, short_repr
from cookbook_runtime.runtime._recipes import Recipe, get_recipe

__all__ = ["RunResult", "Runtime", "format_validation_error"]

logger = logging.getLogger(__name__)


def format_validation_error(exc: ValidationError, *, prefix: str = "") -> str:
    """One line naming the first invalid field and why."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "config"
    secret = any(isinstance(p, str) and is_secret_key(p) for p in err["loc"])
    shown = REDACTED if secret else short_repr(err.get("input"))
    extra = f" (got {shown})" if err["type"] != "missing" and not isinstance(err.get("input"), dict) else ""
    return f"{prefix}{where}: {err['msg']}{extra}"


@dataclass
class RunResult:
    """What `Runtime.run` produced."""

    experiment: Experiment
    run_dir: Path | None
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    planned: list[PlannedStage] = field(default_factory=list)
    dry_run: bool = False


class Runtime:
    """Build, validate and run experiments against the ports a manifest wires."""

    def __init__(
        self,
        manifest: str = "local",
        *,
        overrides: Mapping[str, PortBinding] | None = None,
        run_dir: Path | str | None = None,
        user_manifests: Path | None = None,
        ports: Ports | None = None,
    ) -> None:
        self.manifest_name = manifest
        self._overrides = dict(overrides or {})
        self._user_manifests = user_manifests
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._ports = ports

    # -- wiring -----------------------------------------------------------------
    def manifest(self) -> Manifest:
        return load_manifest(self.manifest_name, user_file=self._user_manifests)

    def bindings(self, backend: BackendRef | None = None) -> dict[str, PortBinding]:
        """The resolved port wiring: defaults < manifest < spec overrides < runtime overrides."""
        manifest = self.manifest()
        spec_overrides = dict(backend.overrides) if backend else {}
        return resolve_bindings(manifest, {**spec_overrides, **self._overrides})

    def bind(self, spec: Experiment) -> Experiment:
        """`spec` wired to this runtime: its manifest, every port override, the resolved bindings.

        The result is the full record of a run's wiring, so `experiment.json` alone rebuilds
        it (`cookbook run-spec`). When the spec already records a wiring for the same manifest
        and that manifest now resolves differently, a warning says which ports changed.
        """
        backend = BackendRef(
            manifest=self.manifest_name, overrides={**spec.backend.overrides, **self._overrides}
        )
        resolved = {
            port: PortBinding(adapter=b.adapter, options=redact(dict(b.options)))
            for port, b in self.bindings(backend).items()
            if b.adapter != "unconfigured"
        }
        before = spec.backend
        if before.resolved and before.manifest == backend.manifest and before.resolved != resolved:
            changed = sorted(p for p in {*before.resolved, *resolved} if before.resolved.get(p) != resolved.get(p))
            logger.warning(
                "manifest %r now wires port(s) %s differently from when this spec was built; "
                "running with the current wiring",
                backend.manifest,
                ", ".join(changed),
            )
        return spec.model_copy(update={"backend": backend.model_copy(update={"resolved": resolved})})

    def ports(self, backend: BackendRef | None = None, *, run_dir: Path | None = None) -> Ports:
        """Ports for a run in `run_dir` (which fills `{run_dir}` options), or for use outside one."""
        if self._ports is not None:
            return self._ports
        return Ports(bind_run_dir(self.bindings(backend), run_dir))

    # -- specs ------------------------------------------------------------------
    def config(self, recipe: str | Recipe, values: Mapping[str, Any] | BaseModel | None = None) -> BaseModel:
        """A recipe's validated config: manifest defaults < `values`."""
        r = get_recipe(recipe) if isinstance(recipe, str) else recipe
        if isinstance(values, BaseModel):
            check_numbers(values.model_dump(), prefix=f"recipe {r.name!r}: ")
            return values
        merged = {**r.defaults_for(self.profile()), **dict(values or {})}
        try:
            config = r.Config.model_validate(merged)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, prefix=f"recipe {r.name!r}: ")) from None
        check_numbers(config.model_dump(), prefix=f"recipe {r.name!r}: ")
        return config

    def profile(self) -> str:
        """The manifest's profile, which picks a recipe's backend defaults (`Recipe.defaults_for`)."""
        return manifest_profile(self.manifest())

    def build_spec(self, recipe: str | Recipe, config: Mapping[str, Any] | BaseModel | None = None) -> Experiment:
        """The experiment a recipe builds for `config`, bound to this runtime's manifest."""
        r = get_recipe(recipe) if isinstance(recipe, str) else recipe
        cfg = self.config(r, config)
        spec = r.build(cfg)
        return self.bind(spec.model_copy(update={"recipe": r.name}))

    def validate(self, spec: Experiment) -> list[PlannedStage]:
        """Check every stage name and option, every number and the port wiring; run nothing."""
        check_numbers(spec.model_dump(), prefix="spec: ")
        planned = validate_pipeline(spec)
        self.ports(spec.backend)  # unknown adapter names fail here
        return planned

    def _run_dir_for(self, spec: Experiment) -> Path:
        if self.run_dir is not None:
            return self.run_dir
        if spec.outputs.log_path:
            return Path(spec.outputs.log_path).expanduser()
        return Path("runs") / spec.id

    # -- running ----------------------------------------------------------------
    async def arun_spec(
        self,
        spec: Experiment,
        *,
        config: BaseModel | None = None,
        if_exists: IfExists = "resume",
        progress: ProgressListener | None = None,
    ) -> RunResult:
        """Run `spec`; nothing is written until every check (see `framework.run`) has passed.

        `progress` receives this run's progress reports. The ports are closed whatever
        happens; an error closing them is logged, and never replaces the run's error.
        """
        spec = self.bind(spec)
        planned = self.validate(spec)
        run_dir = self._run_dir_for(spec)
        rd = RunDir(run_dir)
        files = {"config.json": config.model_dump(mode="json")} if config is not None else None
        ports = self.ports(spec.backend, run_dir=rd.path)
        artifacts = None
        if spec.outputs.artifacts is not None:
            from cookbook_runtime.framework._artifacts import ArtifactMirror

            artifacts = ArtifactMirror.from_binding(spec.outputs.artifacts)
            if inspect_run_dir(rd.path) != "run":  # the guard first: never restore among a user's files
                await artifacts.restore(rd.path)
        try:
            ctx: Context = await run_pipeline(
                spec, ports, rd, artifacts=artifacts, if_exists=if_exists, files=files, progress=progress
            )
        except BaseException:
            await ports.aclose(raise_errors=False)
            raise
        await ports.aclose()
        return RunResult(spec, run_dir, ctx.outputs, planned)

    def run_spec(
        self, spec: Experiment, *, if_exists: IfExists = "resume", progress: ProgressListener | None = None
    ) -> RunResult:
        """Run an experiment spec (e.g. one read from `cookbook spec`)."""
        import asyncio  # deferred: importing the facade should stay cheap
        return asyncio.run(self.arun_spec(spec, if_exists=if_exists, progress=progress))

    async def arun(
        self,
        recipe: str | Recipe,
        config: Mapping[str, Any] | BaseModel | None = None,
        *,
        dry_run: bool = False,
        progress: ProgressListener | None = None,
    ) -> RunResult:
        r = get_recipe(recipe) if isinstance(recipe, str) else recipe
        cfg = self.config(r, config)
        spec = self.build_spec(r, cfg)
        if dry_run:
            planned = self.validate(spec)
            return RunResult(spec, self._run_dir_for(spec), {}, planned, dry_run=True)
        return await self.arun_spec(spec, config=cfg, progress=progress)

    def run(
        self,
        recipe: str | Recipe,
        config: Mapping[str, Any] | BaseModel | None = None,
        *,
        dry_run: bool = False,
        progress: ProgressListener | None = None,
    ) -> RunResult:
        """Build, validate and (unless `dry_run`) run a recipe; `progress` watches it."""
        import asyncio
        return asyncio.run(self.arun(recipe, config, dry_run=dry_run, progress=progress))
