"""The `Runtime` facade and the recipe registry."""

from cookbook_runtime.runtime._facade import RunResult, Runtime, format_validation_error
from cookbook_runtime.runtime._recipes import Recipe, get_recipe, recipe_names, register_recipe
from cookbook_runtime.runtime._redact import REDACTED, is_secret_key, redact

__all__ = [
    "REDACTED",
    "Recipe",
    "RunResult",
    "Runtime",
    "format_validation_error",
    "get_recipe",
    "is_secret_key",
    "recipe_names",
    "redact",
    "register_recipe",
]
