"""The `dpo` recipe: Direct Preference Optimization on comparisons."""

from cookbook_recipes.dpo._recipe import RECIPE, DpoConfig, DpoRecipe, local_defaults

__all__ = ["RECIPE", "DpoConfig", "DpoRecipe", "local_defaults"]
