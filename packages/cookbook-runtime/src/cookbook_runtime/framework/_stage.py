"""The `Stage` protocol and the stage registry.

A stage is a named unit of a pipeline with a pydantic `Options` model. Built-in
stages are registered by import path so listing them imports nothing; plugins add
stages under the entry-point group `cookbook.stages` (name -> Stage class). A
plugin may declare a stage whose dependencies come with one of its extras; loading
it without them is a `ConfigError` naming the extra (read from the distribution's
`Requires-Dist`), not an import traceback.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel

from cookbook_runtime.errors import ConfigError, UnknownNameError

if TYPE_CHECKING:
    from cookbook_runtime.framework._context import Context

__all__ = ["EarlierStage", "Stage", "get_stage", "register_stage", "stage_names"]

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


class EarlierStage:
    """Marks a stage option (`Annotated[str | None, EarlierStage()]`) that names an earlier enabled stage.

    The runner's `validate` checks every such option, in nested option models too,
    against the enabled stages before the stage that holds it (by key), so a typo
    fails a dry run, before anything trains.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "EarlierStage()"


@runtime_checkable
class Stage(Protocol):
    """One pipeline step. `run` returns JSON-able outputs later stages can read.

    A stage may also define `async def preflight(self, experiment, ports, options)`:
    cheap checks of its input (model name, renderer, dataset and its first rows)
    that the runner calls before the run directory is created, so bad input fails
    with nothing written. It must not write anything or train. A preflight that
    also takes a keyword `key` is given its own `StageSpec.key`: its position in
    the pipeline, which its name does not tell when two stages share one.

    An option naming an earlier stage is declared `Annotated[str | None,
    EarlierStage()]`; `validate` checks each against the stages before this one.
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


_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _extras_providing(dist: Any, module: str) -> list[str]:
    """`dist`'s extras whose requirements (through its own extras they pull in) include `module`'s distribution."""
    own = _normalize(dist.name)
    direct: dict[str, set[str]] = {}
    nested: dict[str, set[str]] = {}
    for line in dist.metadata.get_all("Requires-Dist") or []:
        requirement, _, marker = line.partition(";")
        extra = _EXTRA_MARKER.search(marker)
        match = _REQUIREMENT.match(requirement)
        if extra is None or match is None:
            continue
        name = _normalize(match.group(1))
        if name == own:  # `pkg[a]; extra == "b"`: extra b includes extra a
            nested.setdefault(extra.group(1), set()).update(e.strip() for e in (match.group(2) or "").split(","))
        else:
            direct.setdefault(extra.group(1), set()).add(name)

    def provides(extra: str, seen: frozenset[str] = frozenset()) -> bool:
        if _normalize(module) in direct.get(extra, set()):
            return True
        return any(provides(e, seen | {extra}) for e in nested.get(extra, set()) - seen - {extra})

    return [e for e in dist.metadata.get_all("Provides-Extra") or [] if provides(e)]


def _load_entry_point(name: str, ep: Any) -> type[Any]:
    """Load a plugin stage; a dependency its distribution leaves to an extra is a `ConfigError` naming it."""
    try:
        loaded: type[Any] = ep.load()
    except ModuleNotFoundError as exc:
        dist = ep.dist
        missing = (exc.name or "").partition(".")[0]
        if dist is None or not missing:
            raise
        extras = _extras_providing(dist, missing)
        if not extras:
            raise
        extra = name if name in extras else extras[0]
        raise ConfigError(
            f"stage {name!r} ({dist.name}) needs {missing}: pip install '{dist.name}[{extra}]'"
        ) from None
    return loaded


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
        return _load_entry_point(name, eps[name])
    raise UnknownNameError("stage", name, stage_names())
