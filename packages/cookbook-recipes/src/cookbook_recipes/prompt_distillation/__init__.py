"""`prompt_distillation`: the student learns to answer as the teacher does with a long system prompt, without it."""

from cookbook_recipes.prompt_distillation._recipe import (
    RECIPE,
    PromptDistillationConfig,
    PromptDistillationRecipe,
    local_defaults,
)

__all__ = ["RECIPE", "PromptDistillationConfig", "PromptDistillationRecipe", "local_defaults"]
