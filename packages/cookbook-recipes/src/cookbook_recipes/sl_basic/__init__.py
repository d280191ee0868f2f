"""`sl_basic`: supervised fine-tuning on a chat dataset (tinker-cookbook's basic SL recipe)."""

from cookbook_recipes.sl_basic._config import SlBasicConfig
from cookbook_recipes.sl_basic._recipe import (
    OFFLINE_PROFILES,
    RECIPE,
    SlBasicRecipe,
    local_defaults,
)

__all__ = ["OFFLINE_PROFILES", "RECIPE", "SlBasicConfig", "SlBasicRecipe", "local_defaults"]
