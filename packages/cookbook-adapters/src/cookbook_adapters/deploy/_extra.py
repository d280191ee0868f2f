"""Whether the `[deploy]` extra is installed, checked without importing it."""

from __future__ import annotations

from importlib.util import find_spec

from cookbook_runtime.errors import AdapterUnavailable

__all__ = ["require_server_extra"]

_NEEDS = ("fastapi", "uvicorn", "torch", "transformers", "peft")


def require_server_extra() -> None:
    """Raise `AdapterUnavailable` naming the first missing package of the `[deploy]` extra."""
    for module in _NEEDS:
        if find_spec(module) is None:
            raise AdapterUnavailable("deploy", module, "deploy")
