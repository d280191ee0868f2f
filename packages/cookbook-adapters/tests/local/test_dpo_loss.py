"""The DPO loss through `forward_backward_custom` on the tiny model equals a hand computation.

The hand side uses only a plain forward and a weighted cross entropy: the DPO loss
depends on each sequence logprob `s` through one scalar per sequence, so its
gradient is `sum_i (-c_i * grad s_chosen_i + c_i * grad s_rejected_i)` with
`c_i = beta * sigmoid(-margin_i) / n_pairs`, which is exactly the gradient of
`cross_entropy` with weights `c_i` on the chosen tokens and `-c_i` on the rejected.
"""

from __future__ import annotations

import math

import pytest
from cookbook_adapters.local import LocalServiceClient
from cookbook_runtime.train.preference import Comparison, comparison_to_datums, dpo_loss_fn
from cookbook_runtime.train.renderers import get_renderer
from cookbook_runtime.train.types import AdamParams, Datum, TensorData

BETA = 0.4
PAIRS = [("reverse a b c", "c b a", "a b c"), ("sort d b", "b d", "d b"), ("copy x y", "x y", "y x")]
REFERENCE = [-20.0, -21.5, -18.0, -18.5, -19.0, -17.0]


def _data(tokenizer: object) -> list[Datum]:
    renderer = get_renderer("qwen3_instruct", tokenizer)
    data: list[Datum] = []
    for prompt, chosen, rejected in PAIRS:
        comparison = Comparison.of(
            [{"role": "user", "content": prompt}],
            [{"role": "assistant", "content": chosen}],
            [{"role": "assistant", "content": rejected}],
        )
        data.extend(comparison_to_datums(comparison, renderer, max_length=None))
    return data


def _scaled(datum: Datum, scale: float) -> Datum:
    weights = [w * scale for w in datum.weights()]
    return Datum(datum.model_input, {**datum.loss_fn_inputs, "weights": TensorData.from_list(weights, "float32")})


async def test_dpo_loss_and_gradient_match_the_hand_computation(service: LocalServiceClient, tiny: str) -> None:
    custom = await service.create_lora_training_client(tiny, rank=4, seed=0)
    data = _data(custom.tokenizer())
    out = await (await custom.forward_backward_custom(data, dpo_loss_fn(REFERENCE, BETA))).result()
    custom_norm = (await (await custom.optim_step(AdamParams(learning_rate=0.0))).result()).metrics["grad_norm:mean"]

    hand = await service.create_lora_training_client(tiny, rank=4, seed=0)
    forward = await (await hand.forward(data)).result()
    sums = [
        sum(lp * w for lp, w in zip(o["logprobs"].data, d.weights(), strict=True))
        for o, d in zip(forward.loss_fn_outputs, data, strict=True)
    ]
    margins = [
        BETA * ((sums[i] - REFERENCE[i]) - (sums[i + 1] - REFERENCE[i + 1])) for i in range(0, len(data), 2)
    ]
    expected = sum(math.log1p(math.exp(-m)) for m in margins) / len(margins)
    assert out.metrics["dpo_loss"] == pytest.approx(expected, rel=1e-5)
    assert out.metrics["accuracy"] == sum(m > 0 for m in margins) / len(margins)

    coefs = [BETA / (1 + math.exp(m)) / len(margins) for m in margins]
    weighted = [_scaled(d, coefs[i // 2] * (1 if i % 2 == 0 else -1)) for i, d in enumerate(data)]
    await hand.forward_backward(weighted, "cross_entropy")
    hand_norm = (await (await hand.optim_step(AdamParams(learning_rate=0.0))).result()).metrics["grad_norm:mean"]
    assert hand_norm > 0
    assert custom_norm == pytest.approx(hand_norm, rel=1e-4)


@pytest.mark.parametrize("offset", [0.0, 1e-7, -1e-7])
def test_the_loss_gradient_at_a_zero_margin_is_half_beta(offset: float) -> None:
    """On a DPO run's first step policy = reference, so every margin is zero up to float noise; the
    gradient there is beta * sigmoid(0) / n = beta / 2 per pair whichever side of zero the noise falls
    (it used to be beta at exactly zero, so the step depended on the reference's rounding)."""
    import torch
    from cookbook_runtime.train.preference.loss import PairLogprobs, dpo_loss, softplus

    chosen = torch.tensor(-20.0 + offset, dtype=torch.float64, requires_grad=True)
    rejected = torch.tensor(-21.5, dtype=torch.float64, requires_grad=True)
    loss, _ = dpo_loss([PairLogprobs(chosen, rejected, -20.0, -21.5)], BETA)
    loss.backward()
    assert chosen.grad is not None and rejected.grad is not None
    assert float(chosen.grad) == pytest.approx(-BETA / 2, rel=1e-6)
    assert float(rejected.grad) == pytest.approx(BETA / 2, rel=1e-6)
    z = torch.tensor([-800.0, -3.0, 0.0, 3.0, 800.0], dtype=torch.float64)
    assert softplus(z).tolist() == pytest.approx(torch.nn.functional.softplus(z).tolist(), rel=1e-12)
    assert softplus(0.0) == pytest.approx(math.log(2.0))
