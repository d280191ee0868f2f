from __future__ import annotations

import math

import pytest
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.train.schedules import learning_rate_at, lr_multiplier


@pytest.mark.parametrize("schedule", ["constant", "linear", "cosine"])
def test_multipliers_match_tinker_cookbook(schedule: str) -> None:
    lr_scheduling = pytest.importorskip("tinker_cookbook.utils.lr_scheduling")
    for total in (1, 7, 100):
        for step in range(total):
            expected = lr_scheduling.compute_schedule_lr_multiplier(schedule, step, total)
            assert lr_multiplier(schedule, step, total) == pytest.approx(expected), (schedule, step, total)


def test_known_values() -> None:
    assert lr_multiplier("linear", 5, 10) == 0.5
    assert lr_multiplier("cosine", 5, 10) == pytest.approx(0.5)
    assert lr_multiplier("cosine", 0, 10) == 1.0
    assert lr_multiplier("constant", 9, 10) == 1.0
    assert learning_rate_at(2e-4, "linear", 0, 4) == pytest.approx(2e-4)


def test_warmup_ramps_then_decays_over_the_rest() -> None:
    values = [lr_multiplier("linear", s, 10, warmup_steps=4) for s in range(10)]
    assert values[:4] == [0.25, 0.5, 0.75, 1.0]
    assert values[4] == 1.0
    assert values[7] == pytest.approx(0.5)
    cosine = [lr_multiplier("cosine", s, 10, warmup_steps=2) for s in range(10)]
    assert cosine[:3] == [0.5, 1.0, 1.0]
    assert cosine[6] == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))


def test_bad_inputs_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="total_steps"):
        lr_multiplier("linear", 0, 0)
    with pytest.raises(ConfigError, match="unknown learning-rate schedule 'step'"):
        lr_multiplier("step", 0, 10)
