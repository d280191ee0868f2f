"""`NllEvaluator`: the mean NLL of a held-out dataset, a training-client evaluator.

It is two-phase like training calls: `submit` queues the forward passes and returns
at once, so a pipelined loop evaluates the weights between two steps without
stalling; the requests run in order, after the previous step's update. Its metric
is `test/nll` (tinker-cookbook's name for the same number).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cookbook_runtime.ports import Pending, TrainingClient
from cookbook_runtime.train.data import SupervisedDataset
from cookbook_runtime.types import Datum, ForwardBackwardOutput, TensorData

__all__ = ["NllEvaluator", "PendingEvaluation", "mean_nll", "nll_sums"]


def nll_sums(data: Sequence[Datum], outputs: Sequence[Mapping[str, TensorData]]) -> tuple[float, float]:
    """`(sum of -logprob * weight, sum of weights)` over a batch's tokens."""
    total = 0.0
    weight = 0.0
    for datum, out in zip(data, outputs, strict=True):
        logprobs = out["logprobs"].data
        weights = datum.weights()
        total -= math.fsum(float(lp) * w for lp, w in zip(logprobs, weights, strict=False))
        weight += math.fsum(weights)
    return total, weight


def mean_nll(data: Sequence[Datum], outputs: Sequence[Mapping[str, TensorData]]) -> float:
    """Weighted mean NLL per loss token; NaN when no token carries weight."""
    total, weight = nll_sums(data, outputs)
    return total / weight if weight > 0 else float("nan")


@dataclass
class PendingEvaluation:
    """Queued forward passes; `result()` waits for them and returns the metrics."""

    metric_name: str
    parts: list[tuple[list[Datum], Pending[ForwardBackwardOutput]]]

    async def result(self) -> dict[str, float]:
        total = 0.0
        weight = 0.0
        for data, pending in self.parts:
            out = await pending.result()
            t, w = nll_sums(data, out.loss_fn_outputs)
            total += t
            weight += w
        return {self.metric_name: total / weight if weight > 0 else float("nan")}


class NllEvaluator:
    """Mean NLL of a held-out dataset under a training client's current weights."""

    def __init__(
        self, dataset: SupervisedDataset, *, metric_name: str = "test/nll", max_batches: int | None = None
    ) -> None:
        self.dataset = dataset
        self.metric_name = metric_name
        self.max_batches = max_batches

    async def submit(self, client: TrainingClient) -> PendingEvaluation:
        """Queue a forward pass per held-out batch; returns before any runs."""
        parts: list[tuple[list[Datum], Pending[ForwardBackwardOutput]]] = []
        for batch in self.dataset.batches(epoch=0):
            if self.max_batches is not None and batch.index >= self.max_batches:
                break
            if batch.data:
                parts.append((batch.data, await client.forward(batch.data, "cross_entropy")))
        return PendingEvaluation(self.metric_name, parts)

    async def __call__(self, client: TrainingClient) -> dict[str, float]:
        """Evaluate now: queue and wait."""
        return await (await self.submit(client)).result()
