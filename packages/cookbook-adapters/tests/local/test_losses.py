"""Each built-in loss equals its hand-computed value (Tinker's definitions)."""

from __future__ import annotations

import math

import pytest
import torch
from cookbook_adapters.local import compute_loss
from cookbook_runtime.errors import ConfigError

# Two tokens of one datum plus one padding position.
LP = [-0.5, -2.0, -9.0]
Q = [-0.7, -1.0, -9.0]
ADV = [2.0, -1.0, 5.0]
MASK = [1.0, 1.0, 0.0]


def _inputs(**extra: list[float]) -> dict[str, torch.Tensor]:
    base = {"logprobs": Q, "advantages": ADV, "mask": MASK, **extra}
    return {k: torch.tensor([v], dtype=torch.float64) for k, v in base.items()}


def _lp() -> torch.Tensor:
    return torch.tensor([LP], dtype=torch.float64, requires_grad=True)


def _ratio(i: int) -> float:
    return math.exp(LP[i] - Q[i])


def test_cross_entropy_is_weighted_nll_sum() -> None:
    loss = compute_loss("cross_entropy", _lp(), _inputs(weights=[0.5, 1.0, 1.0]))
    assert loss.item() == pytest.approx(0.5 * 0.5 + 2.0)


def test_cross_entropy_without_weights_counts_every_real_token() -> None:
    assert compute_loss("cross_entropy", _lp(), _inputs()).item() == pytest.approx(2.5)


def test_importance_sampling() -> None:
    expected = -(_ratio(0) * 2.0 + _ratio(1) * -1.0)
    assert compute_loss("importance_sampling", _lp(), _inputs()).item() == pytest.approx(expected)


def test_ppo_clips_with_default_thresholds() -> None:
    # token 0: r = e^0.2 = 1.221 > 1.2 and A > 0 -> min picks the clipped 1.2 * 2
    # token 1: r = e^-1 = 0.368 < 0.8 and A < 0 -> min(-0.368, -0.8) = -0.8
    expected = -(1.2 * 2.0 + 0.8 * -1.0)
    assert compute_loss("ppo", _lp(), _inputs()).item() == pytest.approx(expected)


def test_ppo_honours_configured_thresholds() -> None:
    config = {"clip_low_threshold": 0.5, "clip_high_threshold": 1.5}
    expected = -(_ratio(0) * 2.0 + 0.5 * -1.0)  # token 0 now unclipped; token 1 clipped at 0.5
    assert compute_loss("ppo", _lp(), _inputs(), config).item() == pytest.approx(expected)


def test_ppo_gradient_vanishes_where_clipped() -> None:
    lp = _lp()
    compute_loss("ppo", lp, _inputs()).backward()
    assert lp.grad is not None
    assert lp.grad[0].tolist() == [0.0, 0.0, 0.0]


def test_cispo_value_and_stop_gradient() -> None:
    lp = _lp()
    loss = compute_loss("cispo", lp, _inputs())
    expected = -(1.2 * -0.5 * 2.0 + 0.8 * -2.0 * -1.0)
    assert loss.item() == pytest.approx(expected)
    loss.backward()
    assert lp.grad is not None
    # d/dlp of -(sg(c) * lp * A) is -c * A: the ratio is not differentiated.
    assert lp.grad[0].tolist() == pytest.approx([-1.2 * 2.0, -0.8 * -1.0, 0.0])


def test_dro_with_beta() -> None:
    beta = 0.3
    expected = -sum(LP[i] * ADV[i] - 0.5 * beta * (LP[i] - Q[i]) ** 2 for i in (0, 1))
    assert compute_loss("dro", _lp(), _inputs(), {"beta": beta}).item() == pytest.approx(expected)


def test_dro_penalty_skips_prompt_positions() -> None:
    # position 0 is a prompt token (q = 0, A = 0): no penalty however unlikely it is
    lp = torch.tensor([[-6.0, -2.0]], dtype=torch.float64, requires_grad=True)
    inputs = {
        "logprobs": torch.tensor([[0.0, -1.0]], dtype=torch.float64),
        "advantages": torch.tensor([[0.0, 1.0]], dtype=torch.float64),
        "mask": torch.tensor([[1.0, 1.0]], dtype=torch.float64),
    }
    loss = compute_loss("dro", lp, inputs, {"beta": 0.5})
    assert loss.item() == pytest.approx(-(-2.0 * 1.0 - 0.25 * 1.0))
    loss.backward()
    assert lp.grad is not None
    assert lp.grad[0, 0].item() == 0.0


def test_rl_loss_without_advantages_is_a_config_error() -> None:
    inputs = {"mask": torch.tensor([MASK])}
    with pytest.raises(ConfigError, match="advantages"):
        compute_loss("ppo", _lp(), inputs)


def test_unknown_loss_is_named() -> None:
    with pytest.raises(ConfigError, match="'hinge'"):
        compute_loss("hinge", _lp(), _inputs())


def test_soft_cross_entropy_sums_over_candidates() -> None:
    lp = torch.tensor([[[-0.5, -1.5], [-2.0, -0.1], [-9.0, -9.0]]], dtype=torch.float64)
    weights = torch.tensor([[[0.75, 0.25], [0.0, 1.0], [1.0, 1.0]]], dtype=torch.float64)
    inputs = {"weights": weights, "mask": torch.tensor([MASK], dtype=torch.float64)}
    expected = 0.75 * 0.5 + 0.25 * 1.5 + 1.0 * 0.1  # the padding position adds nothing
    assert compute_loss("cross_entropy", lp, inputs).item() == pytest.approx(expected)
