"""`cookbook recipes`, `describe` and `manifests`: what is installed and how it is wired."""

from __future__ import annotations

import typing
from collections.abc import Iterator, Mapping
from typing import Any

from cookbook_runtime.ports import (
    available_manifests,
    load_manifest,
    manifest_profile,
    resolve_bindings,
)
from cookbook_runtime.runtime import REDACTED, Recipe, get_recipe, is_secret_key, recipe_names
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from cookbook_cli._inputs import submodel_of
from cookbook_cli._output import bindings_table, format_value, out_console, print_json

__all__ = ["describe_recipe", "field_rows", "list_manifests", "list_recipes"]

_REQUIRED = "(required)"


def list_recipes() -> None:
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    table.add_column("name")
    table.add_column("kind")
    table.add_column("description")
    for name in recipe_names():
        recipe = get_recipe(name)
        table.add_row(recipe.name, recipe.kind, recipe.description)
    if not table.rows:
        out_console().print("no recipes installed; pip install cookbook-recipes")
        return
    out_console().print(table)


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and typing.get_origin(annotation) is None:
        return annotation.__name__
    text = str(annotation).replace("typing.", "")
    for prefix in ("pydantic.types.", "cookbook_runtime.ir._specs.", "pydantic.", "pathlib."):
        text = text.replace(prefix, "")
    return text


def _default(field: Any) -> Any:
    if field.default is PydanticUndefined and field.default_factory is None:
        return PydanticUndefined
    return field.get_default(call_default_factory=True, validated_data={})


def field_rows(
    model: type[BaseModel], overrides: Mapping[str, Any], prefix: str = ""
) -> Iterator[tuple[str, str, str, str]]:
    """(dotted name, type, default, description) of every field, nested fields flattened."""
    for name, field in model.model_fields.items():
        dotted = f"{prefix}{name}"
        default = overrides[name] if name in overrides else _default(field)
        sub = submodel_of(field.annotation)
        if sub is not None and (isinstance(default, BaseModel | Mapping) or default is PydanticUndefined):
            yield dotted, sub.__name__, "" if default is not PydanticUndefined else _REQUIRED, field.description or ""
            nested: dict[str, Any] = {}
            if isinstance(default, BaseModel):
                nested = default.model_dump(mode="json")
            elif isinstance(default, Mapping):
                nested = dict(default)
            yield from field_rows(sub, nested, prefix=f"{dotted}.")
            continue
        if default is PydanticUndefined:
            shown = _REQUIRED
        elif is_secret_key(name) and default not in (None, ""):
            shown = REDACTED
        else:
            if isinstance(default, BaseModel):
                default = default.model_dump(mode="json")
            shown = format_value(default)
        yield dotted, _type_name(field.annotation), shown, field.description or ""


def describe_recipe(name: str, *, manifest: str, as_json: bool) -> None:
    recipe: Recipe = get_recipe(name)
    if as_json:
        print_json(recipe.Config.model_json_schema())
        return
    from rich.table import Table

    flat = load_manifest(manifest)
    profile = manifest_profile(flat)
    overrides = recipe.defaults_for(profile)
    table = Table(
        title=f"{recipe.name} ({recipe.kind}): defaults for manifest '{flat.name}' (profile '{profile}')",
        show_header=True,
        header_style="bold",
        title_justify="left",
    )
    table.add_column("field", overflow="fold")
    table.add_column("type", overflow="fold")
    table.add_column("default", overflow="fold")  # defaults are shown whole, never cut
    table.add_column("description", ratio=1, min_width=20)
    for row in field_rows(recipe.Config, overrides):
        table.add_row(*row)
    console = out_console()
    console.print(recipe.description)
    console.print(table)


def list_manifests() -> None:
    console = out_console()
    for name, manifest in available_manifests().items():
        flat = load_manifest(name)
        bindings = {port: b for port, b in resolve_bindings(flat).items() if b.adapter != "unconfigured"}
        extends = f" (extends {manifest.extends})" if manifest.extends else ""
        console.print(f"[bold]{name}[/bold]{extends}: {manifest.description}", highlight=False)
        console.print(bindings_table(bindings))
