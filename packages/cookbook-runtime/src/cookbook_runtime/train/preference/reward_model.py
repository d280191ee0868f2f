"""A pairwise reward model: Bradley-Terry over the reply's logprob under a fine-tuned model.

Which scalar: the reward of a reply is `beta * mean_t (log p(reply_t | ...) - log p_0(reply_t | ...))`
over the reply's tokens, where `p` is the reward model (a LoRA-trained, or fully
trained, copy of the model) and `p_0` its starting weights (`reference="initial"`,
the default; `reference="none"` drops the `p_0` term), with `score="sum"` summing
instead of averaging. That is the policy-logprob scalar, DPO's implicit reward,
not a value head, because it is the one that works through the ports on every
backend: training needs only `forward_backward_custom` (per-token logprobs that
carry gradients, on the local engine and on Tinker alike) and scoring only
`SamplingClient.compute_logprobs`, while a value head needs a scalar output that no
Tinker-compatible backend exposes. The mean keeps short replies from winning by
having fewer (negative) terms; the reference keeps replies that the starting model
already finds predictable (e.g. one repeated letter) from scoring high for that
alone, a reward hack RL finds quickly without it.

For a pair with scores `r_c` (chosen) and `r_r` (rejected), the Bradley-Terry loss is
`-log sigmoid(r_c - r_r)`, averaged over pairs. Like the DPO loss it uses only tensor
operators, so plain floats (the fakes') work too. Metrics: `loss`, `pair_accuracy`
(share of pairs with `r_c > r_r`, a tie (within `TIE_TOLERANCE`) counting half: at the start every score
relative to the starting weights is 0, so it starts at 0.5), `margin`,
`chosen_score`, `rejected_score`.
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
from cookbook_runtime.train.preference.reference import reference_sequence_logprobs
from cookbook_runtime.train.preference.render import completion_datum
from cookbook_runtime.train.preference.types import Message
from cookbook_runtime.train.rl.losses import reference_logprobs
from cookbook_runtime.types import Datum

if TYPE_CHECKING:
    from cookbook_runtime.train.renderers import Renderer

__all__ = [
    "RewardPairEvaluator",
    "RewardReference",
    "RewardScorer",
    "ScoreReduction",
    "bradley_terry_loss",
    "bradley_terry_loss_fn",
    "reply_score",
]

ScoreReduction = Literal["mean", "sum"]
RewardReference = Literal["initial", "none"]
"""'initial': scores are relative to the reward model's starting weights; 'none': raw logprobs."""


def reply_score(
    logprobs: Any, weights: Sequence[float], score: ScoreReduction, beta: float, reference: float = 0.0
) -> Any:
    """`beta * (sum(w_t * lp_t) - reference)`, divided by `sum(w_t)` for `score="mean"`; a tensor or a float.

    `reference` is the starting weights' `sum(w_t * lp0_t)` of the same reply (0: no reference).
    """
    total = sequence_logprob(logprobs, weights) - reference
    if score == "mean":
        total = total / max(math.fsum(weights), 1e-12)
    return total * beta


TIE_TOLERANCE = 1e-5
"""Scores this close count as a tie: the backends' training and sampling forwards differ by rounding."""


def _ranked(chosen: float, rejected: float) -> float:
    if abs(chosen - rejected) <= TIE_TOLERANCE:
        return 0.5
    return 1.0 if chosen > rejected else 0.0


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
        "pair_accuracy": sum(_ranked(c, r) for c, r in zip(chosen, rejected, strict=True)) / n,
        "margin": sum(c - r for c, r in zip(chosen, rejected, strict=True)) / n,
        "chosen_score": sum(chosen) / n,
        "rejected_score": sum(rejected) / n,
    }


def bradley_terry_loss_fn(
    score: ScoreReduction, beta: float, reference: Sequence[float] | None = None
) -> CustomLossFn:
    """The custom loss of one batch of interleaved datums `[chosen_0, rejected_0, chosen_1, ...]`.

    `reference`, if given, holds the starting weights' weighted logprob sum of each datum, in order.
    """

    def loss_fn(data: list[Datum], logprobs: list[Any]) -> tuple[Any, dict[str, float]]:
        refs = list(reference) if reference is not None else [0.0] * len(data)
        if len(data) % 2 or len(logprobs) != len(data) or len(refs) != len(data):
            raise DataError(
                f"a reward-model batch interleaves chosen and rejected datums; got {len(data)} datums, "
                f"{len(logprobs)} logprob rows and {len(refs)} reference values"
            )
        scores = [
            reply_score(lp, d.weights(), score, beta, r) for lp, d, r in zip(logprobs, data, refs, strict=True)
        ]
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
    reference: SamplingClient | None = None
    max_batches: int | None = None
    _batches: list[list[Datum]] = field(default_factory=list)
    _reference: list[list[float]] = field(default_factory=list)

    async def __call__(self, client: TrainingClient) -> dict[str, float]:
        """`test/pair_accuracy`, `test/loss`, `test/margin`, `test/num_pairs`."""
        if not self._batches:
            for batch in self.dataset.batches(0):
                if self.max_batches is not None and len(self._batches) >= self.max_batches:
                    break
                if batch.data:
                    self._batches.append(batch.data)
                    self._reference.append(
                        await reference_sequence_logprobs(self.reference, batch.data)
                        if self.reference is not None
                        else [0.0] * len(batch.data)
                    )
        pending = [await client.forward(data) for data in self._batches]
        pairs: list[tuple[float, float]] = []
        for data, refs, handle in zip(self._batches, self._reference, pending, strict=True):
            out = await handle.result()
            scores = [
                float(reply_score(list(o["logprobs"].data), d.weights(), self.score, self.beta, r))
                for o, d, r in zip(out.loss_fn_outputs, data, refs, strict=True)
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
    """Scores replies with a reward model's sampler (and its reference's): `compute_logprobs`, reduced."""

    sampler: SamplingClient
    renderer: Renderer
    score: ScoreReduction
    beta: float
    reference: SamplingClient | None = None
    max_length: int | None = None

    async def __call__(self, prompt: Sequence[Message], reply: Sequence[Message]) -> float:
        """The reward of `reply` to `prompt`; a reply with no tokens left to score is a `DataError`."""
        datum = completion_datum(tuple(prompt), tuple(reply), self.renderer, self.max_length)
        if self.reference is None:
            per_token = await reference_logprobs(self.sampler, datum)
            return float(reply_score(per_token, datum.weights(), self.score, self.beta))
        per_token, ref = await asyncio.gather(
            reference_logprobs(self.sampler, datum), reference_sequence_logprobs(self.reference, [datum])
        )
        return float(reply_score(per_token, datum.weights(), self.score, self.beta, ref[0]))

    async def many(self, items: Sequence[tuple[Sequence[Message], Sequence[Message]]]) -> list[float]:
        """Scores of several `(prompt, reply)` pairs, requested together."""
        return list(await asyncio.gather(*(self(p, r) for p, r in items)))
