"""RL loss settings and the KL penalty against a reference model.

The policy losses themselves run on the backend (`forward_backward(data, loss_fn,
loss_fn_config)`); this module says which inputs and config each takes:

    importance_sampling   -sum(exp(lp - q) * A)                       no config
    ppo                   -sum(min(r * A, clip(r, lo, hi) * A))       clip_low_threshold, clip_high_threshold
    cispo                 -sum(sg(clip(r, lo, hi)) * lp * A)          clip_low_threshold, clip_high_threshold
    dro                   -sum(lp * A - beta / 2 * (lp - q)^2)        beta

All read `target_tokens`, `logprobs` (the sampler's, `q`) and `advantages`. The KL
penalty is reward shaping (tinker-cookbook's): with `d = q - lp_ref` on action
tokens, `A += coef * (mean(d) - d)`, the reference logprobs coming from
`compute_logprobs` on a reference sampler.
"""

from __future__ import annotations

import asyncio
from typing import Literal, TypeAlias

from cookbook_runtime.ports import SamplingClient
from cookbook_runtime.train.rl.data import RLBatch
from cookbook_runtime.train.types import Datum, ModelInput, TensorData

__all__ = ["RLLossName", "incorporate_kl_penalty", "loss_fn_config", "reference_logprobs"]

RLLossName: TypeAlias = Literal["importance_sampling", "ppo", "cispo", "dro"]


def loss_fn_config(
    loss: RLLossName, *, clip_low: float = 0.8, clip_high: float = 1.2, beta: float = 0.05
) -> dict[str, float] | None:
    """The `loss_fn_config` that `forward_backward` takes for `loss`."""
    if loss in ("ppo", "cispo"):
        return {"clip_low_threshold": clip_low, "clip_high_threshold": clip_high}
    if loss == "dro":
        return {"beta": beta}
    return None


async def reference_logprobs(reference: SamplingClient, datum: Datum) -> list[float]:
    """The reference model's logprob of each target token of `datum`."""
    targets = [int(t) for t in datum.loss_fn_inputs["target_tokens"].data]
    tokens = datum.model_input.to_ints()
    full = ModelInput.from_ints([*tokens, targets[-1]]) if targets else datum.model_input
    values = await reference.compute_logprobs(full)
    return [float(v) if v is not None else 0.0 for v in values[1:]]


def _with_advantages(datum: Datum, advantages: list[float]) -> Datum:
    return Datum(datum.model_input, {**datum.loss_fn_inputs, "advantages": TensorData.from_list(advantages, "float32")})


async def incorporate_kl_penalty(batch: RLBatch, reference: SamplingClient, coef: float) -> dict[str, float]:
    """Shape the advantages of `batch` in place with the KL penalty; returns `kl_policy_base`."""
    ref = await asyncio.gather(*(reference_logprobs(reference, d) for d in batch.data))
    diffs: list[list[float]] = []
    total = 0.0
    count = 0
    for datum, mask, lp_ref in zip(batch.data, batch.masks, ref, strict=True):
        q = datum.loss_fn_inputs["logprobs"].data
        d = [(float(qi) - r) * m for qi, r, m in zip(q, lp_ref, mask, strict=True)]
        diffs.append(d)
        total += sum(d)
        count += int(sum(mask))
    mean_kl = total / count if count else 0.0
    for i, (datum, mask, d) in enumerate(zip(batch.data, batch.masks, diffs, strict=True)):
        adv = datum.loss_fn_inputs["advantages"].data
        shaped = [float(a) + coef * m * (mean_kl - di) for a, m, di in zip(adv, mask, d, strict=True)]
        batch.data[i] = _with_advantages(datum, shaped)
    return {"kl_policy_base": mean_kl}
