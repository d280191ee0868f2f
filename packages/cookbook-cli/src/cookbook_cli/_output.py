"""Printing: one stdout console for results, one stderr console for progress and notes.

Everything that may hold user values passes through `redact` first, so a secret
given in a config, a manifest or a port option never reaches the terminal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from cookbook_runtime.redaction import REDACTED, is_secret_key, redact, short_repr

if TYPE_CHECKING:
    from cookbook_runtime.ir import PortBinding
    from pydantic import ValidationError
    from rich.console import Console
    from rich.table import Table

__all__ = [
    "bindings_table",
    "err_console",
    "format_value",
    "out_console",
    "print_json",
    "validation_message",
]


@cache
def out_console() -> Console:
    from rich.console import Console

    return Console(soft_wrap=False, emoji=False)


@cache
def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, emoji=False)


def print_json(obj: Any) -> None:
    """Plain, redacted JSON on stdout (no colours: it is meant for `> file`)."""
    import typer

    typer.echo(json.dumps(redact(obj), indent=2, sort_keys=False))


def format_value(value: Any) -> str:
    """A short, readable rendering of a metric or default value."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def bindings_table(bindings: Mapping[str, PortBinding], *, title: str | None = None) -> Table:
    """Port -> adapter (and redacted options), one row per port."""
    from rich.table import Table

    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("port")
    table.add_column("adapter")
    table.add_column("options")
    for port, binding in bindings.items():
        options = redact(dict(binding.options))
        table.add_row(port, binding.adapter, json.dumps(options) if options else "")
    return table


def validation_message(exc: ValidationError, *, prefix: str = "") -> str:
    """One line naming the first invalid field; the bad value is shown unless it is a secret."""
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    where = ".".join(loc) or "config"
    value = err.get("input")
    shown = ""
    if err["type"] != "missing" and not isinstance(value, dict):
        shown = f" (got {REDACTED})" if any(is_secret_key(p) for p in loc) else f" (got {short_repr(value)})"
    return f"{prefix}{where}: {err['msg']}{shown}"
