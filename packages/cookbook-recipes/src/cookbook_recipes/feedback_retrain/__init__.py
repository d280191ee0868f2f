"""`feedback_retrain`: retrain a served model with DPO on its users' feedback when a trigger fires."""

from cookbook_recipes.feedback_retrain._recipe import (
    RECIPE,
    FeedbackRetrainConfig,
    FeedbackRetrainRecipe,
    local_defaults,
)

__all__ = ["RECIPE", "FeedbackRetrainConfig", "FeedbackRetrainRecipe", "local_defaults"]
