"""The tokenizer protocol renderers and loops rely on.

It is the subset of a Hugging Face tokenizer that chat rendering needs, so an HF
`PreTrainedTokenizerFast` satisfies it as-is and offline tokenizers can be wrapped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

__all__ = ["Tokenizer"]


@runtime_checkable
class Tokenizer(Protocol):
    """Text <-> token ids, with special-token lookup."""

    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]:
        """Token ids of `text`; renderers always pass `add_special_tokens=False`."""
        ...

    def decode(self, token_ids: Sequence[int], skip_special_tokens: bool = ...) -> str:
        """Text of `token_ids`."""
        ...

    def convert_tokens_to_ids(self, token: str) -> int | None:
        """Id of one vocabulary entry (e.g. '<|im_end|>'), or None/unk id when absent."""
        ...

    @property
    def bos_token_id(self) -> int | None:
        """Beginning-of-sequence id, if the model has one."""
        ...

    @property
    def eos_token_id(self) -> int | None:
        """End-of-sequence id, if the model has one."""
        ...
