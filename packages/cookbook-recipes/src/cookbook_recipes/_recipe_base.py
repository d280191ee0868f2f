"""What every shipped recipe class shares, so that each recipe is its config and `build()`.

A recipe subclasses `RecipeBase`, names itself (`name`, `kind`, `description`,
`Config`), points `offline_defaults` at its module's `local_defaults`, and writes
`build()`, which ends in `self.experiment(...)`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from cookbook_runtime.ir import (
    BackendRef,
    DatasetRef,
    Experiment,
    OutputsSpec,
    StageSpec,
    TrainingConfig,
)
from pydantic import BaseModel

__all__ = ["OFFLINE_PROFILES", "RecipeBase"]

OFFLINE_PROFILES = ("local", "fake")
"""Manifest profiles that get a recipe's `offline_defaults()`: the embedded engine and the in-memory fakes."""


class RecipeBase:
    """The runtime's `Recipe` protocol, less `build()`: backend defaults and the experiment's frame."""

    name: ClassVar[str]
    kind: ClassVar[str]
    description: ClassVar[str]
    Config: ClassVar[type[BaseModel]]

    @staticmethod
    def offline_defaults() -> dict[str, Any]:
        """Config values of the offline setting (the tiny model, shipped data); a recipe sets its own."""
        return {}

    def defaults_for(self, profile: str) -> dict[str, Any]:
        """Tinker's defaults are the Config's own; offline backends get `offline_defaults()`.

        `profile` is the manifest's (its declared `profile`, else its service adapter), so
        any manifest extending `local`, or the `test` fakes, gets the offline setting.
        """
        return self.offline_defaults() if profile in OFFLINE_PROFILES else {}

    def experiment(
        self,
        pipeline: list[StageSpec],
        *,
        log_path: str | None,
        training: TrainingConfig | None = None,
        dataset: DatasetRef | None = None,
        backend: BackendRef | None = None,
        id: str | None = None,
    ) -> Experiment:
        """The spec of `pipeline`, under the recipe's name (or `id`), run in `log_path`."""
        return Experiment(
            id=id or self.name,
            description=self.description,
            recipe=self.name,
            backend=backend or BackendRef(),
            dataset=dataset,
            training=training,
            pipeline=pipeline,
            outputs=OutputsSpec(log_path=log_path),
        )
