"""The Bradley-Terry reward-model loss through `forward_backward_custom` on the tiny model equals a hand computation.

The score of a reply is `beta * mean_t lp_t` over its weighted tokens (`m = sum(w lp) / sum(w)`).
The loss depends on each sequence only through that mean, so its gradient is
`sum_i (-c_i * grad m_chosen_i + c_i * grad m_rejected_i)` with
`c_i = beta * sigmoid(-margin_i) / n_pairs`: exactly the gradient of `cross_entropy`
with weights `c_i / W_chosen` on the chosen reply's tokens and `-c_i / W_rejected` on the rejected.
"""

from __future__ import annotations

import math

import pytest
from cookbook_adapters.local import LocalServiceClient
from cookbook_runtime.train.preference import (
    Comparison,
    bradley_terry_loss_fn,
    comparison_to_datums,
)
from cookbook_runtime.train.renderers import get_renderer
from cookbook_runtime.train.types import AdamParams, Datum, TensorData

BETA = 2.0
PAIRS = [("reverse a b c", "c b a", "a b c"), ("sort d b", "b d", "d b x"), ("copy x y", "x y", "y")]


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


async def test_bradley_terry_loss_and_gradient_match_the_hand_computation(
    service: LocalServiceClient, tiny: str
) -> None:
    custom = await service.create_lora_training_client(tiny, rank=4, seed=0)
    data = _data(custom.tokenizer())
    assert len({d.num_tokens for d in data}) > 1  # replies of different lengths: the mean matters
    out = await (await custom.forward_backward_custom(data, bradley_terry_loss_fn("mean", BETA))).result()
    custom_norm = (await (await custom.optim_step(AdamParams(learning_rate=0.0))).result()).metrics["grad_norm:mean"]

    hand = await service.create_lora_training_client(tiny, rank=4, seed=0)
    forward = await (await hand.forward(data)).result()
    totals = [sum(d.weights()) for d in data]
    means = [
        sum(lp * w for lp, w in zip(o["logprobs"].data, d.weights(), strict=True)) / total
        for o, d, total in zip(forward.loss_fn_outputs, data, totals, strict=True)
    ]
    margins = [BETA * (means[i] - means[i + 1]) for i in range(0, len(data), 2)]
    expected = sum(math.log1p(math.exp(-m)) for m in margins) / len(margins)
    assert out.metrics["loss"] == pytest.approx(expected, rel=1e-5)
    assert out.metrics["pair_accuracy"] == sum(m > 0 for m in margins) / len(margins)
    assert out.metrics["margin"] == pytest.approx(sum(margins) / len(margins), rel=1e-5)

    coefs = [BETA / (1 + math.exp(m)) / len(margins) for m in margins]
    weighted = [
        _scaled(d, coefs[i // 2] / totals[i] * (1 if i % 2 == 0 else -1)) for i, d in enumerate(data)
    ]
    await hand.forward_backward(weighted, "cross_entropy")
    hand_norm = (await (await hand.optim_step(AdamParams(learning_rate=0.0))).result()).metrics["grad_norm:mean"]
    assert hand_norm > 0
    assert custom_norm == pytest.approx(hand_norm, rel=1e-4)
