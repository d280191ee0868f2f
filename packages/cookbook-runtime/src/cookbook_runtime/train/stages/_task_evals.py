"""Benchmark-task settings shared by the `evaluate` stage and the training stages' in-loop evals.

A training stage's `eval_tasks` become sampling-client evaluators run on the loop's
schedule (`eval_every`, or `infrequent_eval_every` for an entry marked
`infrequent`); the `evaluate` stage runs one task once. The settings are checked
when the options are validated (k within the samples), and the task name when the
stage preflights, so a typo fails before the run directory is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cookbook_runtime.train.eval import (
    BenchmarkEvaluator,
    TaskEvaluator,
    check_task,
    load_task,
    split_kind,
)

if TYPE_CHECKING:
    from cookbook_runtime.train.renderers import Renderer

__all__ = ["TaskEvalSettings", "TaskEvalSpec", "build_task_evaluators", "check_tasks"]


class TaskEvalSettings(BaseModel):
    """How one benchmark task is sampled and scored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: str = Field(
        description="A registered eval task name (entry points 'cookbook.eval_tasks'), a .jsonl path, "
        "or KIND:REF for an installed evaluator kind (e.g. inspect:module:task or inspect:path/to/task.py)."
    )
    limit: int | None = Field(default=None, ge=1, description="Evaluate at most this many items (the first ones).")
    num_samples: int = Field(default=1, ge=1, le=1024, description="Samples per item (n of the pass@k estimator).")
    k: list[int] = Field(default_factory=lambda: [1], min_length=1, description="The k of each pass@k reported.")
    temperature: float = Field(default=0.0, ge=0, description="Sampling temperature; 0 is greedy.")
    max_tokens: int = Field(default=64, ge=1, description="Cap on each reply's tokens.")
    seed: int = Field(default=0, description="Base seed; item i samples with seed + i (KIND:REF tasks document theirs).")

    @model_validator(mode="after")
    def _check_k(self) -> TaskEvalSettings:
        bad = [k for k in self.k if k < 1 or k > self.num_samples]
        if bad:
            raise ValueError(f"pass@k needs 1 <= k <= num_samples ({self.num_samples}); got k={bad[0]}")
        return self

    def evaluator(
        self, renderer: Renderer, *, name: str | None = None, work_dir: Path | None = None
    ) -> BenchmarkEvaluator | TaskEvaluator:
        """The task's evaluator; `work_dir` (a run directory) is where a KIND:REF evaluator keeps its logs."""
        split = split_kind(self.task)
        if split is not None:
            kind, ref = split
            return kind.load().build(
                ref,
                renderer,
                limit=self.limit,
                num_samples=self.num_samples,
                ks=list(self.k),
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                seed=self.seed,
                name=name,
                work_dir=work_dir,
            )
        return BenchmarkEvaluator(
            load_task(self.task),
            renderer,
            num_samples=self.num_samples,
            ks=self.k,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            seed=self.seed,
            limit=self.limit,
            name=name,
        )


class TaskEvalSpec(TaskEvalSettings):
    """A task a training loop evaluates on its schedule."""

    infrequent: bool = Field(default=False, description="Run every infrequent_eval_every steps instead of eval_every.")


def check_tasks(specs: Sequence[TaskEvalSettings]) -> None:
    """Load each task once (a missing or malformed one raises before anything runs)."""
    for spec in specs:
        check_task(spec.task)


def build_task_evaluators(
    specs: Sequence[TaskEvalSpec], renderer: Renderer, *, work_dir: Path | None = None
) -> tuple[list[Any], list[Any]]:
    """(frequent, infrequent) sampling evaluators of `specs`."""
    frequent = [s.evaluator(renderer, work_dir=work_dir) for s in specs if not s.infrequent]
    infrequent = [s.evaluator(renderer, work_dir=work_dir) for s in specs if s.infrequent]
    return frequent, infrequent
