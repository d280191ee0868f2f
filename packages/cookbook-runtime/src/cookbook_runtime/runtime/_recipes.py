"""The recipe protocol and registry.

A recipe is a name, a pydantic `Config`, and `build(config) -> Experiment`. Recipes
register under the entry-point group `cookbook.recipes` (name -> recipe object),
so third-party packages add their own without touching this one.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel

from cookbook_runtime.errors import UnknownNameError
from cookbook_runtime.ir import Experiment

__all__ = ["Recipe", "get_recipe", "recipe_names", "register_recipe"]

logger = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "cookbook.recipes"
_registered: dict[str, Recipe] = {}


@runtime_checkable
class Recipe(Protocol):
    """A named experiment builder."""

    name: ClassVar[str]
    kind: ClassVar[str]
    """'sl', 'rl', 'dpo', 'distillation', ... for listings."""
    description: ClassVar[str]
    Config: ClassVar[type[BaseModel]]

    def defaults_for(self, profile: str) -> dict[str, Any]:
        """Config values that differ by backend (e.g. the tiny model under profile 'local').

        `profile` is the manifest's profile (`cookbook_runtime.ports.manifest_profile`):
        the one it declares, else its service adapter's name ('local', 'tinker', 'fake').
        """
        ...

    def build(self, config: Any) -> Experiment:
        """The experiment spec for a validated config. Pure: no ports, no I/O."""
        ...


def register_recipe(recipe: Recipe) -> Recipe:
    """Register a recipe object in-process (tests, notebooks)."""
    _registered[recipe.name] = recipe
    return recipe


@cache
def _entry_point_recipes() -> dict[str, Any]:
    from importlib.metadata import entry_points  # deferred: costs ~15 ms at import
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def recipe_names() -> list[str]:
    return sorted({*_registered, *_entry_point_recipes()})


def get_recipe(name: str) -> Recipe:
    """The recipe called `name`, or an `UnknownNameError` suggesting the closest."""
    if name in _registered:
        return _registered[name]
    eps = _entry_point_recipes()
    if name not in eps:
        raise UnknownNameError("recipe", name, recipe_names())
    loaded = eps[name].load()
    recipe: Recipe = loaded() if isinstance(loaded, type) else loaded
    _registered[name] = recipe
    return recipe
