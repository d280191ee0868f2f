"""`RecipeBase`: which backends get a recipe's offline setting, and the frame of the experiment it builds."""

from __future__ import annotations

import importlib

import pytest
from cookbook_recipes._recipe_base import OFFLINE_PROFILES, RecipeBase
from cookbook_runtime.runtime._recipes import get_recipe

SHIPPED = [
    "sl_basic", "rl_basic", "math_rl", "dpo", "distillation", "prompt_distillation", "rlhf", "sft_to_deploy",
    "feedback_retrain",
]


@pytest.mark.parametrize("name", SHIPPED)
def test_offline_profiles_get_the_modules_local_defaults(name: str) -> None:
    recipe = get_recipe(name)
    assert isinstance(recipe, RecipeBase), name
    local_defaults = importlib.import_module(f"cookbook_recipes.{name}").local_defaults
    for profile in OFFLINE_PROFILES:
        assert recipe.defaults_for(profile) == local_defaults(), (name, profile)
    assert recipe.defaults_for("tinker") == {}, name
    assert recipe.Config.model_validate(local_defaults()), name  # the offline setting is a valid config


@pytest.mark.parametrize("name", SHIPPED)
def test_the_experiment_is_named_after_the_recipe_and_runs_in_log_path(name: str) -> None:
    recipe = get_recipe(name)
    config = recipe.Config.model_validate({**recipe.defaults_for("local"), "log_path": "runs/here"})
    spec = recipe.build(config)
    assert spec.recipe == name and spec.description == recipe.description
    assert spec.id == name or (name == "math_rl" and spec.id.startswith("math_rl_"))
    assert spec.outputs.log_path == "runs/here"
