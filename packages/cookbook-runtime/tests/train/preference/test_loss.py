"""The DPO loss: a hand computation on floats, and tinker-cookbook's formula (values and gradients) on tensors."""

from __future__ import annotations

import math

import pytest
from cookbook_runtime.errors import DataError
from cookbook_runtime.train.datum import datum_from_model_input_weights
from cookbook_runtime.train.preference import PairLogprobs, dpo_loss, dpo_loss_fn
from cookbook_runtime.train.types import ModelInput


def test_loss_and_metrics_by_hand() -> None:
    beta = 0.5
    pairs = [PairLogprobs(-1.0, -3.0, -2.0, -2.0), PairLogprobs(-4.0, -1.0, -3.0, -1.5)]
    loss, metrics = dpo_loss(pairs, beta)
    # Pair 1: rewards 0.5 and -0.5, margin 1.0; pair 2: rewards -0.5 and 0.25, margin -0.75.
    expected = (math.log1p(math.exp(-1.0)) + math.log1p(math.exp(0.75))) / 2
    assert loss == pytest.approx(expected)
    assert metrics == pytest.approx(
        {"dpo_loss": expected, "accuracy": 0.5, "margin": 0.125, "chosen_reward": 0.0, "rejected_reward": -0.125}
    )


def test_large_margins_do_not_overflow() -> None:
    loss, _ = dpo_loss([PairLogprobs(0.0, -5000.0, 0.0, 0.0), PairLogprobs(-5000.0, 0.0, 0.0, 0.0)], 1.0)
    assert loss == pytest.approx(5000.0 / 2)


def _datum(tokens: list[int], weights: list[float]):  # type: ignore[no-untyped-def]
    return datum_from_model_input_weights(ModelInput.from_ints(tokens), weights)


def test_custom_loss_pairs_interleaved_datums_with_weighted_sums() -> None:
    chosen = _datum([1, 2, 3, 4], [0, 0, 1, 1])
    rejected = _datum([1, 2, 5, 6], [0, 0, 1, 1])
    logprobs = [[-9.0, -1.0, -1.0], [-9.0, -2.0, -2.0]]  # the prompt token's -9 carries no weight
    loss, metrics = dpo_loss_fn([-3.0, -3.0], beta=1.0)([chosen, rejected], logprobs)
    assert loss == pytest.approx(math.log1p(math.exp(-2.0)))
    assert metrics["num_pairs"] == 1.0 and metrics["accuracy"] == 1.0


def test_custom_loss_rejects_an_odd_batch() -> None:
    with pytest.raises(DataError, match="interleaves"):
        dpo_loss_fn([0.0], beta=1.0)([_datum([1, 2], [0, 1])], [[-1.0]])


def test_matches_tinker_cookbook_values_and_gradients() -> None:
    torch = pytest.importorskip("torch")
    train_dpo = pytest.importorskip("tinker_cookbook.preference.train_dpo")
    gen = torch.Generator().manual_seed(0)
    weights = [[0, 1, 1, 1], [0, 0, 1, 1], [0, 1, 1, 0], [0, 1, 1, 1]]
    data = [_datum(list(range(1, 6)), [0.0, *w]) for w in weights]
    reference = [-3.0, -2.5, -1.0, -4.0]
    ours_lp = [torch.randn(4, generator=gen, dtype=torch.float64).requires_grad_() for _ in data]
    theirs_lp = [lp.detach().clone().requires_grad_() for lp in ours_lp]
    loss, metrics = dpo_loss_fn(reference, beta=0.3)(data, ours_lp)
    loss.backward()
    sums = [(lp * torch.tensor(w, dtype=torch.float64)).sum() for lp, w in zip(theirs_lp, weights, strict=True)]
    ref = [torch.tensor(r, dtype=torch.float64) for r in reference]
    expected, their_metrics = train_dpo.compute_dpo_loss(sums[0::2], sums[1::2], ref[0::2], ref[1::2], 0.3)
    expected.backward()
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-12)
    for key in ("dpo_loss", "accuracy", "margin", "chosen_reward", "rejected_reward"):
        assert metrics[key] == pytest.approx(their_metrics[key], rel=1e-6), key
    for ours, theirs in zip(ours_lp, theirs_lp, strict=True):
        assert torch.allclose(ours.grad, theirs.grad, rtol=1e-12, atol=1e-15)
