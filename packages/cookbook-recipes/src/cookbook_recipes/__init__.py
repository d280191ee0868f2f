"""cookbook-recipes: configs and `build()` functions, registered under `cookbook.recipes`."""

__version__ = "0.1.0"

__all__ = ["__version__"]
