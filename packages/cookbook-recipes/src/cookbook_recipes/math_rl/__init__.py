"""`math_rl`: RL on a selectable math env (arithmetic, gsm8k, math, guess_number, calculator)."""

from cookbook_recipes.math_rl._recipe import RECIPE, MathRlConfig, MathRlRecipe, local_defaults

__all__ = ["RECIPE", "MathRlConfig", "MathRlRecipe", "local_defaults"]
