"""The tokenizer protocol, re-exported from `cookbook_runtime.types` (its home, a leaf module)."""

from cookbook_runtime.types import Tokenizer

__all__ = ["Tokenizer"]
