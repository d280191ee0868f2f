"""Env factories by name: how a spec says which RL environment to train on.

A spec can only hold data, so the `rl_train` stage names its env (`env="arithmetic"`)
and passes `env_options`; the factory registered under that name validates the
options with its pydantic `Options` model (before anything runs) and builds the
train and held-out `RLDataset`s. Factories register with `register_env` or, from
other packages, under the entry-point group `cookbook.rl_envs` (name -> factory
class), the way recipes and stages do; names from a spec are looked up, never imported.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel

from cookbook_runtime.errors import UnknownNameError
from cookbook_runtime.ports import DatasetStore, ServiceClient
from cookbook_runtime.train.renderers import Renderer
from cookbook_runtime.train.rl.types import RLDataset

__all__ = ["ENV_ENTRY_POINT_GROUP", "EnvContext", "EnvFactory", "env_names", "get_env", "register_env"]

logger = logging.getLogger(__name__)

ENV_ENTRY_POINT_GROUP = "cookbook.rl_envs"


@dataclass(frozen=True)
class EnvContext:
    """What a factory builds datasets with."""

    renderer: Renderer
    datasets: DatasetStore
    group_size: int
    groups_per_batch: int
    seed: int
    service: ServiceClient | None = None
    """The run's training service, for envs that score with a model (e.g. `reward_model`)."""
    artifact: Callable[[type[Any], str | None], Any] | None = None
    """`Context.artifact` of the running stage: typed refs earlier stages published."""
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    """Closers an env registers for what it opened; the stage awaits them when training ends."""


@runtime_checkable
class EnvFactory(Protocol):
    """Builds an env's train and held-out datasets from validated options."""

    name: ClassVar[str]
    Options: ClassVar[type[BaseModel]]

    def build(self, options: Any, ctx: EnvContext) -> tuple[RLDataset, RLDataset | None]:
        """`(train, test)`; `test` is None when the env has no held-out set."""
        ...


_registered: dict[str, type[Any]] = {}

_BUILTIN_ENVS: dict[str, str] = {
    "reward_model": "cookbook_runtime.train.preference.rm_env:RewardModelRL",
}
"""Envs shipped in the runtime, imported on first use."""


def register_env(factory: type[Any]) -> type[Any]:
    """Register an env factory class under its `name` (usable as a decorator)."""
    _registered[factory.name] = factory
    return factory


@cache
def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points  # deferred: costs ~15 ms at import

    return {ep.name: ep for ep in entry_points(group=ENV_ENTRY_POINT_GROUP)}


def env_names() -> list[str]:
    """Every env name known: registered and from entry points."""
    return sorted({*_BUILTIN_ENVS, *_registered, *_entry_points()})


def get_env(name: str) -> type[Any]:
    """The env factory class called `name`."""
    if name in _registered:
        return _registered[name]
    if name in _BUILTIN_ENVS:
        from importlib import import_module

        module, attr = _BUILTIN_ENVS[name].split(":")
        found: type[Any] = getattr(import_module(module), attr)
        return found
    eps = _entry_points()
    if name in eps:
        loaded: type[Any] = eps[name].load()
        return loaded
    raise UnknownNameError("RL env", name, env_names())
