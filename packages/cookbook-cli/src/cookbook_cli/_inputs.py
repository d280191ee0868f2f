"""Recipe config from the command line: `key=value` overrides and config files.

Values are parsed as JSON when they parse (`3`, `1e-4`, `true`, `[1,2]`, `null`),
else kept as strings, and the recipe's pydantic model has the last word. A field
typed as a string keeps the raw text (`name=123` stays `"123"`). Keys use dots for
nested fields; an unknown key is rejected with the closest known name. Mappings
merge into the defaults key by key; an empty one (`{}`) or `null` replaces them.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import ConfigError, UnknownNameError
from cookbook_runtime.ir import PortBinding
from cookbook_runtime.ports import PORT_NAMES
from cookbook_runtime.user_files import UnreadableFile, load_toml, parse_json, read_text
from pydantic import BaseModel

__all__ = [
    "build_config_values",
    "check_keys",
    "deep_merge",
    "load_config_file",
    "parse_overrides",
    "parse_port_overrides",
    "submodel_of",
]


def _load_yaml(path: Path, text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:  # its str() quotes the offending line: never shown
        mark = exc.problem_mark
        where = f" (line {mark.line + 1} column {mark.column + 1}: {exc.problem})" if mark is not None else ""
        raise UnreadableFile("config file", path, f"is not valid YAML{where}") from None
    except (yaml.YAMLError, RecursionError):
        raise UnreadableFile("config file", path, "is not valid YAML") from None


def load_config_file(path: Path) -> dict[str, Any]:
    """A config mapping from a TOML, YAML or JSON file (chosen by extension).

    Read through the runtime's one user-file loader, so every unreadable file is one
    line naming it; parse errors give a line and column, never the text (it may hold
    a secret).
    """
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml", ".json"):
        raise ConfigError(f"config file {str(path)!r}: unknown format; use .toml, .yaml, .yml or .json")
    if suffix == ".toml":
        data: Any = load_toml(path, "config file")
    else:
        text = read_text(path, "config file")
        data = parse_json(text, "config file", path) if suffix == ".json" else _load_yaml(path, text)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping of config keys, not {type(data).__name__}")
    return data


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """`base` updated by `top`, merging nested mappings key by key.

    An empty mapping (or null) in `top` replaces the value in `base` instead of
    merging into it, so `gate_min: {}` clears a default threshold.
    """
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and value and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def submodel_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside `annotation` (`M`, `M | None`), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        if len(models) == 1:
            return models[0]
    return None


def _is_stringy(annotation: Any) -> bool:
    """Whether a field takes only text (str, optional str, a Literal of strings, a path)."""
    if annotation is str or annotation is Path:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return all(isinstance(a, str) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return bool(args) and all(_is_stringy(a) for a in args)
    return False


def _resolve_field(model: type[BaseModel], key: str) -> Any:
    """The annotation of dotted `key` in `model`; unknown keys suggest the closest."""
    parts = key.split(".")
    current: type[BaseModel] | None = model
    annotation: Any = None
    for depth, part in enumerate(parts):
        if current is None:
            raise ConfigError(f"config key {key!r}: {'.'.join(parts[:depth])!r} has no sub-fields")
        fields = current.model_fields
        if part not in fields:
            prefix = ".".join(parts[:depth])
            known = [f"{prefix}.{name}" if prefix else name for name in fields]
            raise UnknownNameError("config key", key, known)
        annotation = fields[part].annotation
        current = submodel_of(annotation)
    return annotation


def _parse_value(raw: str, annotation: Any) -> Any:
    if _is_stringy(annotation) and raw != "null":
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_overrides(model: type[BaseModel], items: Iterable[str]) -> dict[str, Any]:
    """Nested config values from `key=value` items, checked against `model`'s fields."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not key=value (e.g. learning_rate=1e-4)")
        value = _parse_value(raw, _resolve_field(model, key))
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[leaf] = value
    return out


def check_keys(model: type[BaseModel], values: Mapping[str, Any], prefix: str = "") -> None:
    """Reject unknown keys of a config file, naming the closest known key."""
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        sub = submodel_of(_resolve_field(model, dotted))
        if sub is not None and isinstance(value, Mapping):
            check_keys(model, value, prefix=f"{dotted}.")


def build_config_values(
    model: type[BaseModel], overrides: Iterable[str], config_file: Path | None
) -> dict[str, Any]:
    """Config file values, then command-line overrides on top (the command line wins)."""
    base: dict[str, Any] = {}
    if config_file is not None:
        base = load_config_file(config_file)
        check_keys(model, base)
    return deep_merge(base, parse_overrides(model, overrides))


def parse_port_overrides(items: Iterable[str]) -> dict[str, PortBinding]:
    """`--port PORT=ADAPTER` items as bindings; unknown ports suggest the closest."""
    out: dict[str, PortBinding] = {}
    for item in items:
        port, sep, adapter = item.partition("=")
        port, adapter = port.strip(), adapter.strip()
        if not sep or not port or not adapter:
            raise ConfigError(f"--port {item!r} is not PORT=ADAPTER (e.g. --port blobs=files)")
        if port not in PORT_NAMES:
            raise UnknownNameError("port", port, PORT_NAMES)
        out[port] = PortBinding(adapter=adapter)
    return out
