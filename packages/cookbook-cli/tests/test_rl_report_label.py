"""The run report names what an RL stage's held-out reward is: an env's reward, or a reward model's score."""

from __future__ import annotations

import re
from typing import Any

import pytest


@pytest.mark.parametrize(
    ("recipe", "label"),
    [("rlhf", "reward-model score"), ("rl_basic", "reward")],
)
def test_the_rl_reward_line_says_what_scored_it(cli: Any, recipe: str, label: str) -> None:
    result = cli("run", recipe, "--manifest", "test", "--port", "datasets=files", "log_path=runs/r", "max_steps=2")
    assert result.exit_code == 0, result.output
    assert "held-out, before -> after:" in result.stdout, result.stdout
    lines = [line.strip() for line in result.stdout.splitlines() if "(rl_train) " in line]
    assert len(lines) == 1, result.stdout
    assert re.fullmatch(rf"{re.escape(label)} \(rl_train\) +-?[\d.]+ -> -?[\d.]+ \([+-][\d.]+\)", lines[0]), (recipe, lines)
