"""Evaluator kinds: task references that an installed package evaluates, as `KIND:REF`.

A benchmark task is a JSONL file the runtime reads itself. Other evaluation
frameworks plug in beside it: a package announces an `EvaluatorKind` under the
entry-point group `cookbook.evaluators`, and a task reference `KIND:REF` (for
example `inspect:cookbook_adapters.inspect.tasks:tiny_chat`) is handed to that
kind's factory. The entry point names a light `EvaluatorKind` object, so listing
kinds, or telling a user which extra to install, imports nothing heavy; the
factory module is imported only when a task of that kind is checked or built.

A factory has two methods: `check(ref)` validates the reference (the task loads)
and returns the task's name, before anything is written; `build(ref, renderer,
...)` returns a `TaskEvaluator`, a sampling-client evaluator whose `evaluate`
gives a `BenchmarkResult` like the JSONL tasks' evaluator, so the `evaluate`
stage, the training loops' `eval_tasks` and `cookbook eval` treat both alike.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from cookbook_runtime.errors import AdapterUnavailable, ConfigError, UnknownNameError
from cookbook_runtime.ports import SamplingClient

if TYPE_CHECKING:
    from cookbook_runtime.train.eval._benchmark import BenchmarkResult
    from cookbook_runtime.train.renderers import Renderer

__all__ = [
    "EVALUATOR_ENTRY_POINT_GROUP",
    "EvaluatorKind",
    "TaskEvaluator",
    "TaskEvaluatorFactory",
    "check_task",
    "evaluator_kind_names",
    "get_evaluator_kind",
    "split_kind",
]

logger = logging.getLogger(__name__)

EVALUATOR_ENTRY_POINT_GROUP = "cookbook.evaluators"


@runtime_checkable
class TaskEvaluator(Protocol):
    """A sampling-client evaluator of one task that also returns its per-item result."""

    kind: str
    name: str

    async def evaluate(self, client: SamplingClient) -> BenchmarkResult:
        """Run the task on `client`'s weights; per-item records and the summary metrics."""
        ...

    async def __call__(self, client: SamplingClient) -> dict[str, float]:
        """`eval/<name>/...` metrics of `client`'s weights."""
        ...


class TaskEvaluatorFactory(Protocol):
    """What an evaluator kind's factory object offers."""

    def check(self, ref: str) -> str:
        """Validate `ref` (the task loads) and return the task's name; `ConfigError` otherwise."""
        ...

    def build(
        self,
        ref: str,
        renderer: Renderer,
        *,
        limit: int | None,
        num_samples: int,
        ks: list[int],
        temperature: float,
        max_tokens: int,
        seed: int,
        name: str | None,
        work_dir: Path | None,
    ) -> TaskEvaluator:
        """An evaluator of task `ref`; `work_dir` is where it may keep its own logs (a run directory)."""
        ...


@dataclass(frozen=True)
class EvaluatorKind:
    """A kind of task reference, where its factory lives and which extra it needs."""

    name: str
    factory: str
    """`"module:attribute"` of a `TaskEvaluatorFactory`."""
    description: str = ""
    extra: str | None = None
    distribution: str = "cookbook-adapters"

    def load(self) -> TaskEvaluatorFactory:
        """Import the factory (`AdapterUnavailable` naming the extra when its dependency is missing)."""
        module_name, _, attr = self.factory.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            missing = (exc.name or "a dependency").split(".")[0]
            if self.extra and not missing.startswith("cookbook_"):
                raise AdapterUnavailable(self.name, missing, self.extra) from exc
            raise
        factory: TaskEvaluatorFactory = getattr(module, attr)
        return factory


@cache
def _kinds() -> dict[str, EvaluatorKind]:
    from importlib.metadata import entry_points  # deferred: costs ~15 ms at import

    found: dict[str, EvaluatorKind] = {}
    for ep in entry_points(group=EVALUATOR_ENTRY_POINT_GROUP):
        try:
            kind = ep.load()
        except Exception:  # a broken plugin must not hide the others
            logger.warning("could not load evaluator entry point %r", ep.name, exc_info=True)
            continue
        if not isinstance(kind, EvaluatorKind):
            logger.warning("entry point %r is not an EvaluatorKind; ignored", ep.name)
            continue
        found[kind.name] = kind
    return found


def evaluator_kind_names() -> list[str]:
    """Names of the installed evaluator kinds (entry points `cookbook.evaluators`)."""
    return sorted(_kinds())


def get_evaluator_kind(name: str) -> EvaluatorKind:
    """The kind called `name`, or an `UnknownNameError` listing the installed ones."""
    try:
        return _kinds()[name]
    except KeyError:
        raise UnknownNameError("evaluator kind", name, _kinds()) from None


def split_kind(task: str) -> tuple[EvaluatorKind, str] | None:
    """`(kind, ref)` when `task` is `KIND:REF` for an installed kind; None for a plain task name or path."""
    prefix, sep, ref = task.partition(":")
    if not sep or prefix not in _kinds():
        return None
    if not ref:
        raise ConfigError(f"task {task!r} names the {prefix!r} evaluator but no task: write {prefix}:REF")
    return _kinds()[prefix], ref


def check_task(task: str) -> str:
    """Validate a task reference (a registered name, a `.jsonl` path or `KIND:REF`); return the task's name."""
    split = split_kind(task)
    if split is not None:
        kind, ref = split
        return kind.load().check(ref)
    from cookbook_runtime.train.eval._tasks import load_task

    return load_task(task, limit=1).name
