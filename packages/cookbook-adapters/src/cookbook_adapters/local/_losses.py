"""The built-in losses, over padded `[batch, time]` tensors, as the Tinker API defines them.

Every loss is a *sum* over tokens (not a mean), so gradients from several
`forward_backward` calls add up the same way whatever the batching; loops that want
a mean scale `weights` or `advantages` themselves. Notation, per token:

    lp   = target logprob under the current weights   (`logprobs` output)
    q    = sampling logprob from `loss_fn_inputs["logprobs"]`
    A    = `loss_fn_inputs["advantages"]`
    w    = `loss_fn_inputs["weights"]`
    r    = exp(lp - q), the importance ratio
    clip = clamp(., clip_low_threshold, clip_high_threshold)   (defaults 0.8, 1.2)

`mask` is 1 on real tokens and 0 on padding; padding never contributes.

`cross_entropy` also takes Tinker's soft targets: `(N, K)` `target_tokens` with
`(N, K)` `weights` give `lp` of shape `[batch, time, K]` and
`loss = -sum_{n,k} w[n,k] * lp[n,k]` (off-policy distillation's top-k teacher
distribution); `(N, 1)` is the ordinary loss. The RL losses take `(N,)` targets only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from cookbook_runtime.errors import ConfigError, DataError

__all__ = ["LOSSES", "REQUIRED_INPUTS", "LossInputs", "compute_loss"]

LossInputs = Mapping[str, torch.Tensor]
"""Padded `[batch, time]` float tensors by `loss_fn_inputs` key, plus `mask`."""

DEFAULT_CLIP_LOW = 0.8
DEFAULT_CLIP_HIGH = 1.2
DEFAULT_DRO_BETA = 0.05


def cross_entropy(
    lp: torch.Tensor, inputs: LossInputs, config: Mapping[str, float]
) -> torch.Tensor:
    """Weighted negative log-likelihood: `loss = -sum(w * lp)`; `w` defaults to 1.

    With soft targets `lp` and `w` are `[batch, time, K]` and the sum runs over K too.
    """
    mask = inputs["mask"]
    if lp.dim() == 3:
        mask = mask.unsqueeze(-1)
    weights = inputs.get("weights", mask)
    if weights.dim() != lp.dim():
        raise DataError(
            f"cross_entropy got weights of {weights.dim() - 1}-D rows for {lp.dim() - 1}-D "
            "target_tokens; give weights the shape of target_tokens"
        )
    return -(lp * weights * mask).sum()


def importance_sampling(
    lp: torch.Tensor, inputs: LossInputs, config: Mapping[str, float]
) -> torch.Tensor:
    """Off-policy REINFORCE: `loss = -sum(r * A)` with `r = exp(lp - q)`."""
    ratio = torch.exp(lp - inputs["logprobs"])
    return -(ratio * inputs["advantages"] * inputs["mask"]).sum()


def ppo(lp: torch.Tensor, inputs: LossInputs, config: Mapping[str, float]) -> torch.Tensor:
    """Clipped surrogate, token-wise: `loss = -sum(min(r * A, clip(r) * A))`.

    `loss_fn_config` keys `clip_low_threshold` (default 0.8) and `clip_high_threshold`
    (default 1.2) bound the ratio.
    """
    ratio = torch.exp(lp - inputs["logprobs"])
    clipped = torch.clamp(ratio, _clip_low(config), _clip_high(config))
    adv = inputs["advantages"]
    return -(torch.minimum(ratio * adv, clipped * adv) * inputs["mask"]).sum()


def cispo(lp: torch.Tensor, inputs: LossInputs, config: Mapping[str, float]) -> torch.Tensor:
    """Clipped-ratio-weighted policy gradient: `loss = -sum(sg(clip(r)) * lp * A)`.

    `sg` stops the gradient, so the clipped ratio only weights each token's
    log-likelihood gradient. Thresholds as for `ppo`.
    """
    ratio = torch.exp(lp - inputs["logprobs"])
    weight = torch.clamp(ratio, _clip_low(config), _clip_high(config)).detach()
    return -(weight * lp * inputs["advantages"] * inputs["mask"]).sum()


def dro(lp: torch.Tensor, inputs: LossInputs, config: Mapping[str, float]) -> torch.Tensor:
    """Quadratic-penalty policy gradient: `loss = -sum(lp * A - beta/2 * (lp - q)^2)`.

    `loss_fn_config["beta"]` sets the penalty (default 0.05). The penalty applies only
    to sampled tokens: RL datums give prompt positions `q = 0` and `A = 0`, and there
    `(lp - 0)^2` would pull the model towards predicting its own prompt, growing
    without bound with the prompt's length. A position with both zero is a prompt one.
    """
    beta = float(config.get("beta", DEFAULT_DRO_BETA))
    q = inputs["logprobs"]
    adv = inputs["advantages"]
    sampled = ((q != 0) | (adv != 0)).to(lp.dtype)
    objective = lp * adv - 0.5 * beta * sampled * (lp - q) ** 2
    return -(objective * inputs["mask"]).sum()


def _clip_low(config: Mapping[str, float]) -> float:
    return float(config.get("clip_low_threshold", DEFAULT_CLIP_LOW))


def _clip_high(config: Mapping[str, float]) -> float:
    return float(config.get("clip_high_threshold", DEFAULT_CLIP_HIGH))


LossFn = Callable[[torch.Tensor, LossInputs, Mapping[str, float]], torch.Tensor]

LOSSES: dict[str, LossFn] = {
    "cross_entropy": cross_entropy,
    "importance_sampling": importance_sampling,
    "ppo": ppo,
    "cispo": cispo,
    "dro": dro,
}

REQUIRED_INPUTS: dict[str, tuple[str, ...]] = {
    "cross_entropy": (),
    "importance_sampling": ("logprobs", "advantages"),
    "ppo": ("logprobs", "advantages"),
    "cispo": ("logprobs", "advantages"),
    "dro": ("logprobs", "advantages"),
}


def compute_loss(
    name: str, lp: torch.Tensor, inputs: LossInputs, config: Mapping[str, float] | None = None
) -> torch.Tensor:
    """The scalar loss `name` over padded target logprobs `lp` and its inputs."""
    try:
        fn = LOSSES[name]
    except KeyError:
        raise ConfigError(
            f"unknown loss {name!r}; the local engine supports: {', '.join(LOSSES)}"
        ) from None
    if lp.dim() == 3 and name != "cross_entropy":
        raise DataError(
            f"loss {name!r} takes (N,) target_tokens; (N, K) soft targets are for cross_entropy"
        )
    missing = [k for k in REQUIRED_INPUTS[name] if k not in inputs]
    if missing:
        raise ConfigError(f"loss {name!r} needs loss_fn_inputs {missing}; add them to every Datum")
    return fn(lp, inputs, config or {})
