"""Options that name an earlier stage, and the one check they all get.

A stage declares such an option `Annotated[str | None, EarlierStage()]`; the
runner's `validate` finds every one (nested option models included) and checks it
against the enabled stages before the stage holding it, found by its key, so two
stages of the same name are each checked at their own position.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework._stage import EarlierStage
from cookbook_runtime.ir import Experiment

if TYPE_CHECKING:
    from cookbook_runtime.framework._runner import PlannedStage

__all__ = ["check_stage_references", "earlier_stage_keys", "require_earlier_stage", "stage_references"]


def earlier_stage_keys(experiment: Experiment, key: str) -> list[str]:
    """Keys of the enabled stages before the stage whose key is `key`: what it may read outputs of."""
    keys = [spec.key for spec in experiment.pipeline]
    if key not in keys:
        raise ConfigError(f"stage {key!r} is not in the pipeline (stages: {', '.join(keys) or 'none'})")
    return [spec.key for spec in experiment.pipeline[: keys.index(key)] if spec.enabled]


def require_earlier_stage(experiment: Experiment, key: str, option: str, value: str | None) -> None:
    """A `ConfigError` unless `value`, option `option` of the stage keyed `key`, is an earlier enabled stage.

    None is nothing to check. The message leaves out the stage, which the runner
    puts in front of every preflight and validation error.
    """
    if value is None:
        return
    earlier = earlier_stage_keys(experiment, key)
    if value in earlier:
        return
    keys = [spec.key for spec in experiment.pipeline]
    if value not in keys:
        hint = f"no stage has the id {value!r}: name one of those"
    elif value == key:
        hint = "a stage cannot read its own outputs: name one of those"
    elif keys.index(value) > keys.index(key):
        hint = f"put {value!r} before {key!r}, or name one of those"
    else:
        hint = f"{value!r} is disabled: enable it, or name one of those"
    raise ConfigError(
        f"{option} {value!r} is not an earlier enabled stage (earlier: {', '.join(earlier) or 'none'}); {hint}"
    )


def stage_references(options: BaseModel, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(option path as written, stage named) for every `EarlierStage` option set in `options`."""
    for name, field in type(options).model_fields.items():
        value = getattr(options, name)
        where = f"{prefix}{field.alias or name}"
        if any(isinstance(m, EarlierStage) for m in field.metadata):
            if isinstance(value, str):
                yield where, value
        elif isinstance(value, BaseModel):
            yield from stage_references(value, f"{where}.")
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from stage_references(item, f"{where}[{i}].")


def check_stage_references(experiment: Experiment, planned: Sequence[PlannedStage]) -> None:
    """Every planned stage's `EarlierStage` options name enabled stages before it; else a one-line `ConfigError`."""
    for item in planned:
        for option, value in stage_references(item.options):
            try:
                require_earlier_stage(experiment, item.spec.key, option, value)
            except ConfigError as exc:
                raise ConfigError(f"stage {item.spec.key!r}: {exc}") from None
