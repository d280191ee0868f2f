"""The two evaluator shapes a training loop runs on a schedule, and the schedule.

As in tinker-cookbook, an evaluator is an async callable returning metrics:

- a `TrainingClientEvaluator` is handed the training client (it runs forward
  passes, e.g. held-out NLL); one that also has `submit` queues its requests and
  returns a handle, so a pipelined loop places it between two steps without waiting;
- a `SamplingClientEvaluator` is handed a sampling client of the current weights
  (it generates and scores, e.g. a benchmark's pass@k).

An evaluator names its own metrics, with their prefix: held-out NLL is `test/nll`,
a benchmark task's are `eval/<task>/...`, so rows from every loop read the same.
`EvalSchedule` says which evaluators are due at a step: the frequent ones every
`eval_every` steps, the infrequent (slow) ones every `infrequent_eval_every`, all of
them after the last step; 0 turns a cadence off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from cookbook_runtime.ports import SamplingClient, TrainingClient

__all__ = [
    "EvalSchedule",
    "Evaluator",
    "PendingMetrics",
    "SamplingClientEvaluator",
    "SubmittingEvaluator",
    "TrainingClientEvaluator",
    "is_sampling_evaluator",
]


class PendingMetrics(Protocol):
    """Queued evaluation work; `result()` waits and returns its metrics."""

    async def result(self) -> dict[str, float]:
        """Wait for the queued requests and compute the metrics."""
        ...


@runtime_checkable
class TrainingClientEvaluator(Protocol):
    """Metrics of the training client's current weights, computed with forward passes."""

    async def __call__(self, client: TrainingClient) -> dict[str, float]:
        """Evaluate now and return metrics (keys carry their prefix)."""
        ...


@runtime_checkable
class SubmittingEvaluator(TrainingClientEvaluator, Protocol):
    """A training-client evaluator that can queue its requests without waiting for them."""

    async def submit(self, client: TrainingClient) -> PendingMetrics:
        """Queue the forward passes behind the requests already submitted; return at once."""
        ...


@runtime_checkable
class SamplingClientEvaluator(Protocol):
    """Metrics of a sampler's weights, computed by generating and scoring."""

    kind: str
    """Always `"sampling"`: how a loop tells the two shapes apart (both are callables)."""

    async def __call__(self, client: SamplingClient) -> dict[str, float]:
        """Generate, score and return metrics (keys carry their prefix)."""
        ...


Evaluator = TrainingClientEvaluator | SamplingClientEvaluator


def is_sampling_evaluator(evaluator: Any) -> bool:
    """Whether `evaluator` wants a sampling client (it declares `kind = "sampling"`)."""
    return getattr(evaluator, "kind", None) == "sampling"


@dataclass(frozen=True)
class EvalSchedule:
    """Which evaluators run at which steps."""

    evaluators: Sequence[Any] = field(default_factory=tuple)
    infrequent: Sequence[Any] = field(default_factory=tuple)
    eval_every: int = 0
    infrequent_eval_every: int = 0

    def due(self, step: int) -> list[Any]:
        """Evaluators to run before training step `step` (step 0 evaluates the starting weights)."""
        out: list[Any] = []
        if self.eval_every > 0 and step % self.eval_every == 0:
            out.extend(self.evaluators)
        if self.infrequent_eval_every > 0 and step % self.infrequent_eval_every == 0:
            out.extend(self.infrequent)
        return out

    def final(self) -> list[Any]:
        """Every evaluator: what runs once more on the final weights."""
        return [*self.evaluators, *self.infrequent]

    def __bool__(self) -> bool:
        return bool(self.evaluators or self.infrequent)

    @staticmethod
    def split(evaluators: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        """(training-client evaluators, sampling-client evaluators)."""
        sampling = [e for e in evaluators if is_sampling_evaluator(e)]
        training = [e for e in evaluators if not is_sampling_evaluator(e)]
        return training, sampling
