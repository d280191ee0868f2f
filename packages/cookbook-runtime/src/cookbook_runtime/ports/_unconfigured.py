"""The stand-in for a port no manifest wires: any use raises `PortNotConfigured`."""

from __future__ import annotations

from typing import Any, NoReturn

from cookbook_runtime.errors import PortNotConfigured

__all__ = ["Unconfigured"]


class Unconfigured:
    """Raises `PortNotConfigured(port)` on any attribute access."""

    def __init__(self, port: str) -> None:
        object.__setattr__(self, "_port", port)

    def __getattr__(self, name: str) -> NoReturn:
        raise PortNotConfigured(object.__getattribute__(self, "_port"))

    def __repr__(self) -> str:
        return f"Unconfigured({object.__getattribute__(self, '_port')!r})"

    def __bool__(self) -> bool:
        return False


def is_configured(port_object: Any) -> bool:
    """False for the unconfigured stand-in."""
    return not isinstance(port_object, Unconfigured)
