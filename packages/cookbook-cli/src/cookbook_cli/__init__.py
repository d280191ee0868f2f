"""cookbook-cli: the `cookbook` command."""

__version__ = "0.1.0"

__all__ = ["__version__"]
