"""`rl_basic`: RL on a verifiable task (tinker-cookbook's GSM8K recipe; tiny-chat's letter tasks after a short SFT warm start locally)."""

from cookbook_recipes.rl_basic._recipe import RECIPE, RlBasicConfig, RlBasicRecipe, local_defaults

__all__ = ["RECIPE", "RlBasicConfig", "RlBasicRecipe", "local_defaults"]
