"""`sft_to_deploy`: fine-tune, evaluate, register, promote behind a metric gate, export, serve."""

from cookbook_recipes.sft_to_deploy._recipe import (
    RECIPE,
    SftToDeployConfig,
    SftToDeployRecipe,
    local_defaults,
)

__all__ = ["RECIPE", "SftToDeployConfig", "SftToDeployRecipe", "local_defaults"]
