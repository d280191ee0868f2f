"""A byte-level tokenizer with chat special tokens, for fakes and tests.

Ids 0-255 are bytes; special tokens follow from 256. Special-token spellings in
text are recognised (as Hugging Face tokenizers do for added tokens).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["ByteTokenizer"]

DEFAULT_SPECIALS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<think>",
    "</think>",
    "<tool_call>",
    "</tool_call>",
)


class ByteTokenizer:
    """UTF-8 bytes plus named special tokens; satisfies the `Tokenizer` protocol."""

    def __init__(self, specials: Sequence[str] = DEFAULT_SPECIALS, *, eos: str = "<|im_end|>") -> None:
        self._special_ids = {tok: 256 + i for i, tok in enumerate(specials)}
        self._special_tokens = {i: tok for tok, i in self._special_ids.items()}
        pattern = "|".join(re.escape(t) for t in sorted(specials, key=len, reverse=True))
        self._split = re.compile(f"({pattern})") if specials else None
        self._eos = self._special_ids.get(eos)

    @property
    def vocab_size(self) -> int:
        return 256 + len(self._special_ids)

    @property
    def bos_token_id(self) -> int | None:
        return None

    @property
    def eos_token_id(self) -> int | None:
        return self._eos

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        pieces = self._split.split(text) if self._split else [text]
        out: list[int] = []
        for piece in pieces:
            if piece in self._special_ids:
                out.append(self._special_ids[piece])
            elif piece:
                out.extend(piece.encode("utf-8"))
        return out

    def decode(self, token_ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        buf = bytearray()
        parts: list[str] = []
        for t in token_ids:
            if t < 256:
                buf.append(t)
                continue
            if buf:
                parts.append(buf.decode("utf-8", errors="replace"))
                buf = bytearray()
            if not skip_special_tokens:
                parts.append(self._special_tokens.get(t, ""))
        if buf:
            parts.append(buf.decode("utf-8", errors="replace"))
        return "".join(parts)

    def convert_tokens_to_ids(self, token: str) -> int | None:
        return self._special_ids.get(token)
