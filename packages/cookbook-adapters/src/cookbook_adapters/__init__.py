"""cookbook-adapters: one sub-package per outside system, each behind an extra.

`local` (PyTorch engine), `files`, `hf`, `s3`, `tinker`, `server`, `embeddings`.
Import the sub-package you need; this top level imports nothing heavy.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
