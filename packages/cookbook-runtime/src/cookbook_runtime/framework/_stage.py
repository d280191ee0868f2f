"""The `Stage` protocol and the stage registry.

A stage is a named unit of a pipeline with a pydantic `Options` model. Built-in
stages are registered by import path so listing them imports nothing; plugins add
stages under the entry-point group `cookbook.stages` (name -> Stage class).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel

from cookbook_runtime.errors import UnknownNameError

if TYPE_CHECKING:
    from cookbook_runtime.framework._context import Context

__all__ = ["Stage", "get_stage", "register_stage", "stage_names"]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "cookbook.stages"

_BUILTIN_STAGES: dict[str, str] = {
    "supervised_train": "cookbook_runtime.train.stages:SupervisedTrainStage",
    "rl_train": "cookbook_runtime.train.stages:RLTrainStage",
    "dpo_train": "cookbook_runtime.train.stages:DPOTrainStage",
    "reward_model_train": "cookbook_runtime.train.stages:RewardModelTrainStage",
    "evaluate_nll": "cookbook_runtime.train.stages:EvaluateNllStage",
    "evaluate_exact_match": "cookbook_runtime.train.stages:EvaluateExactMatchStage",
    "evaluate": "cookbook_runtime.train.stages:EvaluateStage",
    "sample": "cookbook_runtime.train.stages:SampleStage",
    "export": "cookbook_runtime.train.stages:ExportStage",
    "register": "cookbook_runtime.train.stages:RegisterStage",
    "promote": "cookbook_runtime.train.stages:PromoteStage",
    "fetch_model": "cookbook_runtime.train.stages:FetchModelStage",
    "distill_on_policy": "cookbook_runtime.train.distill:DistillOnPolicyStage",
    "distill_off_policy": "cookbook_runtime.train.distill:DistillOffPolicyStage",
    "check_triggers": "cookbook_runtime.train.feedback:CheckTriggersStage",
    "export_feedback": "cookbook_runtime.train.feedback:ExportFeedbackStage",
}

_registered: dict[str, type[Any]] = {}


@runtime_checkable
class Stage(Protocol):
    """One pipeline step. `run` returns JSON-able outputs later stages can read.

    A stage may also define `async def preflight(self, experiment, ports, options)`:
    cheap checks of its input (model name, renderer, dataset and its first rows)
    that the runner calls before the run directory is created, so bad input fails
    with nothing written. It must not write anything or train.
    """

    name: ClassVar[str]
    Options: ClassVar[type[BaseModel]]

    async def run(self, ctx: Context, options: Any) -> Mapping[str, Any] | None:
        """Do the work; raise to fail the pipeline."""
        ...


def register_stage(stage_cls: type[Any]) -> type[Any]:
    """Register a stage class under its `name` (usable as a decorator)."""
    _registered[stage_cls.name] = stage_cls
    return stage_cls


@cache
def _entry_point_stages() -> dict[str, Any]:
    from importlib.metadata import entry_points  # deferred: costs ~15 ms at import
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


_PLUGIN_STAGES = {"deploy": "cookbook-adapters[deploy]"}
"""Stages other packages provide (entry points), by the install that brings each, for a useful error."""


def stage_names() -> list[str]:
    """Every stage name known: built-in, registered and from entry points."""
    return sorted({*_BUILTIN_STAGES, *_registered, *_entry_point_stages()})


def get_stage(name: str) -> type[Any]:
    """The stage class called `name`."""
    if name in _registered:
        return _registered[name]
    if name in _BUILTIN_STAGES:
        module_name, _, attr = _BUILTIN_STAGES[name].partition(":")
        cls: type[Any] = getattr(importlib.import_module(module_name), attr)
        return cls
    eps = _entry_point_stages()
    if name in eps:
        loaded: type[Any] = eps[name].load()
        return loaded
    if name in _PLUGIN_STAGES:
        from cookbook_runtime.errors import ConfigError

        raise ConfigError(f"stage {name!r} comes with {_PLUGIN_STAGES[name]}: pip install '{_PLUGIN_STAGES[name]}'")
    raise UnknownNameError("stage", name, stage_names())
