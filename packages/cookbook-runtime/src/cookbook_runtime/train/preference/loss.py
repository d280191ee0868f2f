"""The DPO loss, computed on the client from the policy's and the reference's logprobs.

For a pair with policy sequence logprobs `s_c`, `s_r` (summed over each completion's
weighted tokens) and reference ones `r_c`, `r_r`:

    chosen_reward   = beta * (s_c - r_c)
    rejected_reward = beta * (s_r - r_r)
    loss            = -log sigmoid(chosen_reward - rejected_reward)     (mean over pairs)

It runs through `TrainingClient.forward_backward_custom`: the backend hands the loss
function its per-token logprobs (tensors that carry gradients on the local engine and
on Tinker) and back-propagates the scalar it returns. The arithmetic below uses only
operators and tensor methods, so this module needs no tensor library itself; plain
floats (the in-memory fakes') work too. Metrics are tinker-cookbook's: `dpo_loss`,
`accuracy` (share of pairs whose chosen reward beats the rejected), `margin`,
`chosen_reward`, `rejected_reward`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cookbook_runtime.errors import DataError
from cookbook_runtime.ports import CustomLossFn
from cookbook_runtime.types import Datum

__all__ = ["PairLogprobs", "as_float", "dpo_loss", "dpo_loss_fn", "sequence_logprob", "softplus"]


def sequence_logprob(logprobs: Any, weights: Sequence[float]) -> Any:
    """`sum(w_t * lp_t)`: a 0-d tensor for tensor logprobs, a float for a list."""
    if hasattr(logprobs, "new_tensor"):
        return (logprobs * logprobs.new_tensor(list(weights))).sum()
    return math.fsum(float(lp) * w for lp, w in zip(logprobs, weights, strict=True))


def softplus(z: Any) -> Any:
    """`log(1 + exp(z))` without overflow, for a float or a 0-d tensor.

    The tensor form is `logaddexp(z, 0)`, whose gradient is `sigmoid(z)` everywhere:
    `clamp(z, min=0) + log1p(exp(-|z|))` has the same value but a gradient of 1, not
    1/2, at exactly `z = 0`, where every pair sits on a DPO run's first step (policy
    = reference), so that step's gradient depended on float noise in the reference.
    """
    if isinstance(z, int | float):
        return max(z, 0.0) + math.log1p(math.exp(-abs(z)))
    return z.logaddexp(z.new_zeros(()))


def as_float(x: Any) -> float:
    return float(x.detach()) if hasattr(x, "detach") else float(x)


@dataclass(frozen=True)
class PairLogprobs:
    """Sequence logprobs of one pair under the policy (may carry gradients) and the reference."""

    chosen: Any
    rejected: Any
    chosen_ref: float
    rejected_ref: float


def dpo_loss(pairs: Sequence[PairLogprobs], beta: float) -> tuple[Any, dict[str, float]]:
    """Mean DPO loss over `pairs` and its metrics."""
    if not pairs:
        raise DataError("the DPO loss needs at least one pair")
    losses = []
    chosen_rewards: list[float] = []
    rejected_rewards: list[float] = []
    for pair in pairs:
        chosen_reward = (pair.chosen - pair.chosen_ref) * beta
        rejected_reward = (pair.rejected - pair.rejected_ref) * beta
        losses.append(softplus(rejected_reward - chosen_reward))
        chosen_rewards.append(as_float(chosen_reward))
        rejected_rewards.append(as_float(rejected_reward))
    n = len(pairs)
    loss = sum(losses[1:], losses[0]) / n
    metrics = {
        "dpo_loss": as_float(loss),
        "accuracy": sum(c > r for c, r in zip(chosen_rewards, rejected_rewards, strict=True)) / n,
        "margin": sum(c - r for c, r in zip(chosen_rewards, rejected_rewards, strict=True)) / n,
        "chosen_reward": sum(chosen_rewards) / n,
        "rejected_reward": sum(rejected_rewards) / n,
    }
    return loss, metrics


def dpo_loss_fn(reference: Sequence[float], beta: float) -> CustomLossFn:
    """The custom loss of one batch of interleaved datums `[chosen_0, rejected_0, chosen_1, ...]`.

    `reference` holds the reference model's sequence logprob of each datum, in order.
    """

    def loss_fn(data: list[Datum], logprobs: list[Any]) -> tuple[Any, dict[str, float]]:
        if len(data) % 2 or len(data) != len(reference) or len(logprobs) != len(data):
            raise DataError(
                f"a DPO batch interleaves chosen and rejected datums with one reference value each; got "
                f"{len(data)} datums, {len(logprobs)} logprob rows and {len(reference)} reference values"
            )
        sums = [sequence_logprob(lp, d.weights()) for lp, d in zip(logprobs, data, strict=True)]
        pairs = [
            PairLogprobs(sums[i], sums[i + 1], reference[i], reference[i + 1]) for i in range(0, len(data), 2)
        ]
        loss, metrics = dpo_loss(pairs, beta)
        metrics["num_pairs"] = float(len(pairs))
        return loss, metrics

    return loss_fn
