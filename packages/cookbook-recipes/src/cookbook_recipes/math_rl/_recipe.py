"""The `math_rl` recipe: one RL loop, the env chosen with `env=`.

`arithmetic` (synthetic sums), `gsm8k` and `math` (dataset problems, boxed answers
graded numerically), `guess_number` (multi-turn, feedback each turn) and
`calculator` (tool use: the model calls a shipped calculator tool). Defaults are
tinker-cookbook's `math_rl` (100 problems x 4 samples per step); offline manifests
get the tiny model and a few minutes' worth of steps.
"""

from __future__ import annotations

from typing import Any, Literal

from cookbook_runtime.ir import Experiment
from pydantic import Field

from cookbook_recipes._recipe_base import RecipeBase
from cookbook_recipes._rl_config import RLRecipeConfig, rl_stage, rl_training

__all__ = ["RECIPE", "MathRlConfig", "MathRlRecipe", "local_defaults"]

MathEnv = Literal["arithmetic", "gsm8k", "math", "guess_number", "calculator"]


class MathRlConfig(RLRecipeConfig):
    """RL on one of the math envs."""

    env: MathEnv = Field(default="arithmetic", description="arithmetic, gsm8k, math, guess_number or calculator.")
    group_size: int = Field(default=4, ge=1, description="Samples per problem.")
    groups_per_batch: int = Field(default=100, ge=1, description="Problems per step.")
    learning_rate: float = Field(default=1e-5, gt=0, description="Peak learning rate.")


def local_defaults() -> dict[str, Any]:
    """The tiny model, small batches, short replies: a few minutes on a CPU."""
    return {
        "model_name": "cookbook/tiny-chat",
        "renderer_name": "qwen3_instruct",
        "lora_rank": 0,
        "group_size": 4,
        "groups_per_batch": 8,
        "learning_rate": 1e-4,
        "max_tokens": 24,
        "max_steps": 10,
        "eval_every": 5,
        "save_every": 5,
    }


class MathRlRecipe(RecipeBase):
    """RL on a selectable math environment, as tinker-cookbook's `math_rl`."""

    name = "math_rl"
    kind = "rl"
    description = (
        "RL on a math env chosen with env=: arithmetic, gsm8k, math, guess_number (multi-turn), calculator (tools)."
    )
    Config = MathRlConfig
    offline_defaults = staticmethod(local_defaults)

    def build(self, config: MathRlConfig) -> Experiment:
        return self.experiment(
            [rl_stage(config, config.env)], id=f"math_rl_{config.env}", training=rl_training(config),
            log_path=config.log_path,
        )


RECIPE = MathRlRecipe()
