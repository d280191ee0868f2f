"""`cookbook models list|show|promote|lineage|compare`: read and move versions in the model registry.

The registry is the manifest's `registry` port (the `local` manifest's SQLite file in
the user data dir, unless a manifest or `--port` says otherwise).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ports import (
    MODEL_STAGES,
    ModelRegistry,
    ModelStage,
    ModelVersion,
    Ports,
    VersionRef,
    is_configured,
    load_manifest,
    parse_model_spec,
    resolve_bindings,
)

from cookbook_cli._inputs import parse_port_overrides
from cookbook_cli._output import format_value, out_console, print_json

__all__ = ["compare_versions", "list_models", "promote_model", "show_lineage", "show_model"]

T = TypeVar("T")

_HEADLINE = ("test/nll", "train_mean_nll", "loss", "reward")


def _with_registry(manifest: str, ports: Sequence[str], action: Callable[[ModelRegistry], Awaitable[T]]) -> T:
    """Run `action` on the manifest's registry, closing it afterwards."""
    bindings = resolve_bindings(load_manifest(manifest), parse_port_overrides(ports))
    wired = Ports(bindings)
    registry = wired.registry
    if not is_configured(registry):
        raise ConfigError(
            f"manifest {manifest!r} wires no model registry: use --manifest local or --port registry=sqlite"
        )

    async def go() -> T:
        try:
            return await action(registry)
        finally:
            await wired.aclose(raise_errors=False)

    return asyncio.run(go())


def _exact(text: str, *, what: str) -> tuple[str, int | ModelStage]:
    name, selector = parse_model_spec(text)
    if selector is None:
        raise ConfigError(f"{what} needs a version: write {name}:VERSION or {name}:STAGE (see 'cookbook models list {name}')")
    return name, selector


def _headline(metrics: dict[str, float]) -> str:
    keys = [k for k in _HEADLINE if k in metrics] or sorted(metrics)[:3]
    return "  ".join(f"{k}={format_value(metrics[k])}" for k in keys[:3])


def _lineage_text(mv: ModelVersion) -> str:
    return f"{mv.lineage} {mv.parent}" if mv.parent is not None else ""


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def list_models(name: str | None, *, stage: str | None, as_json: bool, manifest: str, ports: Sequence[str]) -> None:
    from rich.table import Table

    if name is not None:
        name, selector = parse_model_spec(name)
        if selector is not None:
            raise ConfigError(f"'cookbook models list' takes a model name, not a version; try 'cookbook models show {name}:{selector}'")
    if stage is not None and stage not in MODEL_STAGES:
        raise ConfigError(f"unknown stage {stage!r}; stages: {', '.join(MODEL_STAGES)}")

    versions = _with_registry(manifest, ports, lambda r: r.list(name, stage=stage))  # type: ignore[arg-type]
    if as_json:
        print_json([v.model_dump(mode="json", exclude={"config", "history"}) for v in versions])
        return
    console = out_console()
    if not versions:
        console.print("no registered models" + (f" in stage {stage!r}" if stage else ""))
        return
    table = Table(show_header=True, header_style="bold")
    for column in ("model", "stage", "base model", "lineage", "metrics", "registered"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            str(v.ref), v.stage, v.base_model, _lineage_text(v), _headline(v.metrics),
            v.created_at.strftime("%Y-%m-%d %H:%M"),
        )  # fmt: skip
    console.print(table)


def show_model(spec: str, *, as_json: bool, manifest: str, ports: Sequence[str]) -> None:
    from rich.table import Table

    name, selector = parse_model_spec(spec)

    async def read(registry: ModelRegistry) -> tuple[ModelVersion, list[Any]]:
        mv = await registry.get(name, selector)
        deployments = [d for d in await registry.list_deployments(name) if mv.version in {t.version for t in d.traffic}]
        return mv, deployments

    mv, deployments = _with_registry(manifest, ports, read)
    if as_json:
        print_json({**mv.model_dump(mode="json"), "deployments": [d.model_dump(mode="json") for d in deployments]})
        return
    console = out_console()
    console.print(f"[bold]{mv.ref}[/bold]  stage {mv.stage}", highlight=False)
    for label, value in (
        ("base model", mv.base_model),
        ("renderer", mv.renderer),
        ("recipe", mv.recipe),
        ("lineage", _lineage_text(mv)),
        ("config hash", mv.config_hash),
        ("registered", mv.created_at.isoformat(timespec="seconds")),
        ("run", mv.source_run),
        ("description", mv.description),
    ):
        if value:
            console.print(f"  {label}: {value}", highlight=False)
    if mv.metrics:
        metrics = Table(title="metrics", title_justify="left", show_header=False)
        metrics.add_column("metric")
        metrics.add_column("value", justify="right")
        for key in sorted(mv.metrics):
            metrics.add_row(key, format_value(mv.metrics[key]))
        console.print(metrics)
    if mv.artifacts:
        artifacts = Table(title="artifacts", title_justify="left", header_style="bold")
        for column in ("name", "kind", "stored", "sha256", "size"):
            artifacts.add_column(column)
        for a in mv.artifacts:
            where = a.uri or f"blobs:{a.key}" + ("/" if a.directory else "")
            artifacts.add_row(a.name, a.kind, where or "", a.sha256[:16], _size(a.size_bytes))
        console.print(artifacts)
    if mv.history:
        console.print("history:")
        for c in mv.history:
            verb = "->" if c.accepted else "refused ->"
            note = f"  ({c.reason})" if c.reason else ""
            console.print(f"  {c.at.isoformat(timespec='seconds')}  {c.from_stage} {verb} {c.to_stage}{note}", highlight=False)
    for d in deployments:
        split = ", ".join(f"v{t.version} {t.weight:.0%}" for t in d.traffic)
        console.print(f"deployment {d.id}: {d.status} on {d.target} ({d.strategy}: {split})", highlight=False)


def promote_model(spec: str, to: str, *, reason: str, manifest: str, ports: Sequence[str]) -> None:
    name, selector = _exact(spec, what="'cookbook models promote'")
    if to not in MODEL_STAGES:
        raise ConfigError(f"unknown stage {to!r} for --to; stages: {', '.join(MODEL_STAGES)}")

    async def move(registry: ModelRegistry) -> tuple[ModelVersion, ModelVersion]:
        before = await registry.get(name, selector)
        after = await registry.promote(name, before.version, to, reason=reason)  # type: ignore[arg-type]
        return before, after

    before, after = _with_registry(manifest, ports, move)
    out_console().print(f"{after.ref}: {before.stage} -> {after.stage}", highlight=False)


def show_lineage(spec: str, *, as_json: bool, manifest: str, ports: Sequence[str]) -> None:
    name, selector = parse_model_spec(spec)

    async def read(registry: ModelRegistry) -> Any:
        mv = await registry.get(name, selector)
        return await registry.lineage(mv.name, mv.version)

    lineage = _with_registry(manifest, ports, read)
    if as_json:
        print_json(lineage.model_dump(mode="json"))
        return
    console = out_console()
    chain = [(str(e.parent), e.kind) for e in reversed(lineage.ancestors)]
    depth = 0
    for parent, _ in chain:
        console.print(f"{'  ' * depth}{parent}", highlight=False)
        depth += 1
    kind = lineage.ancestors[0].kind if lineage.ancestors else ""
    console.print(f"{'  ' * depth}[bold]{lineage.version}[/bold]{'  (' + kind + ')' if kind else ''}  <- this version", highlight=False)
    levels: dict[str, int] = {str(lineage.version): depth}
    for e in lineage.descendants:
        level = levels[str(e.parent)] + 1
        levels[str(e.child)] = level
        console.print(f"{'  ' * level}{e.child}  ({e.kind} {e.parent})", highlight=False)
    if not lineage.ancestors and not lineage.descendants:
        console.print(f"{lineage.version} has no parent and no descendants", highlight=False)


def compare_versions(a: str, b: str, *, as_json: bool, manifest: str, ports: Sequence[str]) -> None:
    from rich.table import Table

    (na, sa), (nb, sb) = _exact(a, what="'cookbook models compare'"), _exact(b, what="'cookbook models compare'")

    async def read(registry: ModelRegistry) -> Any:
        va, vb = await registry.get(na, sa), await registry.get(nb, sb)
        return await registry.compare(VersionRef(name=va.name, version=va.version), VersionRef(name=vb.name, version=vb.version))

    cmp = _with_registry(manifest, ports, read)
    if as_json:
        print_json(cmp.model_dump(mode="json"))
        return
    console = out_console()
    table = Table(show_header=True, header_style="bold")
    for column in ("metric", str(cmp.a), str(cmp.b), "change"):
        table.add_column(column, justify="right" if column != "metric" else "left")
    for key, m in cmp.metrics.items():
        shown = ["-" if v is None else format_value(v) for v in (m.a, m.b)]
        table.add_row(key, *shown, "" if m.delta is None else f"{m.delta:+.4g}")
    console.print(table)
    for key, (va_, vb_) in cmp.config_changes.items():
        console.print(f"config {key}: {format_value(va_)} -> {format_value(vb_)}", highlight=False)
    console.print("same weights" if cmp.same_weights else "different weights")
