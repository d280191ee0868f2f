"""`distillation`: a student learns a teacher, on-policy (reverse KL on its own samples) or off-policy (soft targets)."""

from cookbook_recipes.distillation._recipe import (
    RECIPE,
    DistillationConfig,
    DistillationRecipe,
    local_defaults,
)

__all__ = ["RECIPE", "DistillationConfig", "DistillationRecipe", "local_defaults"]
