"""A pairwise reward model: Bradley-Terry over the reply's logprob under a fine-tuned model.

Which scalar: the reward of a reply is `beta * mean_t log p(reply_t | prompt, reply_<t)`
under the reward model's weights (`score="mean"`; `"sum"` sums instead), i.e. the
policy-logprob scalar of a LoRA-trained (or fully trained) copy of the model, not a
value head. It is the one that works through the ports on every backend: training
needs only `forward_backward_custom` (per-token logprobs that carry gradients, on the
local engine and on Tinker alike) and scoring only `SamplingClient.compute_logprobs`,
while a value head would need a scalar output no Tinker-compatible backend exposes.
The mean is the default because it does not reward short replies the way a sum of
(negative) logprobs does.

For a pair with scores `r_c` (chosen) and `r_r` (rejected), the Bradley-Terry loss is
`-log sigmoid(r_c - r_r)`, averaged over pairs. Like the DPO loss it uses only tensor
operators, so plain floats (the fakes') work too. Metrics: `loss`, `pair_accuracy`
(share of pairs with `r_c > r_r`), `margin`, `chosen_score`, `rejected_score`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from cookbook_runtime.errors import DataError
from cookbook_runtime.ports import CustomLossFn, SamplingClient, TrainingClient
from cookbook_runtime.train.preference.dataset import PreferenceDataset
from cookbook_runtime.train.preference.loss import as_float, sequence_logprob, softplus
from cookbook_runtime.train.preference.render import completion_datum
from cookbook_runtime.train.preference.types import Message
from cookbook_runtime.train.rl.losses import reference_logprobs
from cookbook_runtime.types import Datum

if TYPE_CHECKING:
    from cookbook_runtime.train.renderers import Renderer

__all__ = [
    "RewardPairEvaluator",
    "RewardScorer",
    "ScoreReduction",
    "bradley_terry_loss",
    "bradley_terry_loss_fn",
    "reply_score",
]

ScoreReduction = Literal["mean", "sum"]


def reply_score(logprobs: Any, weights: Sequence[float], score: ScoreReduction, beta: float) -> Any:
    """`beta * sum(w_t * lp_t)`, divided by `sum(w_t)` for `score="mean"`; a tensor or a float."""
    total = sequence_logprob(logprobs, weights)
    if score == "mean":
        total = total / max(math.fsum(weights), 1e-12)
    return total * beta


def bradley_terry_loss(pairs: Sequence[tuple[Any, Any]]) -> tuple[Any, dict[str, float]]:
    """Mean `-log sigmoid(chosen - rejected)` over `(chosen score, rejected score)` pairs, and its metrics."""
    if not pairs:
        raise DataError("the Bradley-Terry loss needs at least one pair")
    losses = [softplus(rejected - chosen) for chosen, rejected in pairs]
    loss = sum(losses[1:], losses[0]) / len(pairs)
    chosen = [as_float(c) for c, _ in pairs]
    rejected = [as_float(r) for _, r in pairs]
    n = len(pairs)
    return loss, {
        "loss": as_float(loss),
        "pair_accuracy": sum(c > r for c, r in zip(chosen, rejected, strict=True)) / n,
        "margin": sum(c - r for c, r in zip(chosen, rejected, strict=True)) / n,
        "chosen_score": sum(chosen) / n,
        "rejected_score": sum(rejected) / n,
    }


def bradley_terry_loss_fn(score: ScoreReduction, beta: float) -> CustomLossFn:
    """The custom loss of one batch of interleaved datums `[chosen_0, rejected_0, chosen_1, ...]`."""

    def loss_fn(data: list[Datum], logprobs: list[Any]) -> tuple[Any, dict[str, float]]:
        if len(data) % 2 or len(logprobs) != len(data):
            raise DataError(
                f"a reward-model batch interleaves chosen and rejected datums; got {len(data)} datums "
                f"and {len(logprobs)} logprob rows"
            )
        scores = [reply_score(lp, d.weights(), score, beta) for lp, d in zip(logprobs, data, strict=True)]
        loss, metrics = bradley_terry_loss([(scores[i], scores[i + 1]) for i in range(0, len(scores), 2)])
        metrics["num_pairs"] = float(len(data) // 2)
        return loss, metrics

    return loss_fn


@dataclass
class RewardPairEvaluator:
    """Held-out pair accuracy and loss of the reward model's current weights."""

    dataset: PreferenceDataset
    score: ScoreReduction
    beta: float
    max_batches: int | None = None
    _batches: list[list[Datum]] = field(default_factory=list)

    async def __call__(self, client: TrainingClient) -> dict[str, float]:
        """`test/pair_accuracy`, `test/loss`, `test/margin`, `test/num_pairs`."""
        if not self._batches:
            for batch in self.dataset.batches(0):
                if self.max_batches is not None and len(self._batches) >= self.max_batches:
                    break
                if batch.data:
                    self._batches.append(batch.data)
        pending = [await client.forward(data) for data in self._batches]
        pairs: list[tuple[float, float]] = []
        for data, handle in zip(self._batches, pending, strict=True):
            out = await handle.result()
            scores = [
                float(reply_score(list(o["logprobs"].data), d.weights(), self.score, self.beta))
                for o, d in zip(out.loss_fn_outputs, data, strict=True)
            ]
            pairs.extend((scores[i], scores[i + 1]) for i in range(0, len(scores), 2))
        if not pairs:
            return {}
        _, metrics = bradley_terry_loss(pairs)
        return {
            "test/pair_accuracy": metrics["pair_accuracy"],
            "test/loss": metrics["loss"],
            "test/margin": metrics["margin"],
            "test/num_pairs": float(len(pairs)),
        }


@dataclass
class RewardScorer:
    """Scores replies with a reward model's sampler: `compute_logprobs` of prompt + reply, reduced."""

    sampler: SamplingClient
    renderer: Renderer
    score: ScoreReduction
    beta: float
    max_length: int | None = None

    async def __call__(self, prompt: Sequence[Message], reply: Sequence[Message]) -> float:
        """The reward of `reply` to `prompt`; a reply with no tokens left to score is a `DataError`."""
        datum = completion_datum(tuple(prompt), tuple(reply), self.renderer, self.max_length)
        per_token = await reference_logprobs(self.sampler, datum)
        return float(reply_score(per_token, datum.weights(), self.score, self.beta))

    async def many(self, items: Sequence[tuple[Sequence[Message], Sequence[Message]]]) -> list[float]:
        """Scores of several `(prompt, reply)` pairs, requested together."""
        return list(await asyncio.gather(*(self(p, r) for p, r in items)))
