"""The `rlhf` recipe: SFT, a Bradley-Terry reward model on comparisons, then RL against its score."""

from cookbook_recipes.rlhf._recipe import RECIPE, RlhfConfig, RlhfRecipe, local_defaults

__all__ = ["RECIPE", "RlhfConfig", "RlhfRecipe", "local_defaults"]
