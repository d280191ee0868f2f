"""Give every backend tokenizer a local directory the SDK's `get_tokenizer()` can load.

The SDK loads a training client's tokenizer with `AutoTokenizer.from_pretrained(
tokenizer_id)`, where `tokenizer_id` comes from the server's `get_info`. Reporting an
absolute directory keeps that call offline: a Hugging Face tokenizer is saved as it
is; a byte-level tokenizer (the runtime's fake) is rebuilt as an equivalent
`tokenizers` byte-level model, ids 0-255 for bytes and its special tokens after.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import BackendError
from cookbook_runtime.train.tokenizer import Tokenizer

__all__ = ["export_tokenizer"]


def _byte_to_char() -> dict[int, str]:
    """The printable stand-in character of each byte, as byte-level BPE vocabularies spell them."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def _special_tokens(tokenizer: Any) -> list[str]:
    specials: dict[int, str] = {}
    for token, idx in getattr(tokenizer, "_special_ids", {}).items():
        specials[int(idx)] = str(token)
    return [specials[i] for i in sorted(specials)]


def _save_byte_tokenizer(tokenizer: Tokenizer, directory: Path) -> None:
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = _special_tokens(tokenizer)
    chars = _byte_to_char()
    vocab = {chars[b]: b for b in range(256)}
    core = HFTokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens(specials)
    eos_id = tokenizer.eos_token_id
    eos = (
        specials[eos_id - 256]
        if eos_id is not None and 256 <= eos_id < 256 + len(specials)
        else None
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=core, eos_token=eos)  # type: ignore[no-untyped-call]
    fast.save_pretrained(str(directory))


def _is_byte_tokenizer(tokenizer: Tokenizer) -> bool:
    return hasattr(tokenizer, "_special_ids") and getattr(tokenizer, "vocab_size", 0) == 256 + len(
        getattr(tokenizer, "_special_ids", {})
    )


def export_tokenizer(tokenizer: Tokenizer, root: Path, key: str) -> str:
    """A directory holding `tokenizer` in Hugging Face format (created once per `key`)."""
    existing = getattr(tokenizer, "name_or_path", None)
    if isinstance(existing, str) and existing and Path(existing, "tokenizer_config.json").is_file():
        return str(Path(existing).resolve())
    directory = root / hashlib.sha256(key.encode()).hexdigest()[:16]
    if (directory / "tokenizer_config.json").is_file():
        return str(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save = getattr(tokenizer, "save_pretrained", None)
    if callable(save):
        save(str(directory))
    elif _is_byte_tokenizer(tokenizer):
        _save_byte_tokenizer(tokenizer, directory)
    else:
        raise BackendError(
            f"cannot export tokenizer {type(tokenizer).__name__} for SDK clients: "
            "give it save_pretrained() or a name_or_path directory"
        )
    return str(directory)
