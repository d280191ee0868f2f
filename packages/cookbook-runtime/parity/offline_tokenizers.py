"""Real vocabularies, offline, behind the Hugging Face tokenizer methods both renderer libraries call.

tml-renderers ships the Qwen3, DeepSeek V3.1 and Harmony (GPT-OSS) BPEs;
llama-models ships Meta's Llama 3 ranks. `HFStyleTokenizer` gives any of them
the HF surface (`encode(text, add_special_tokens, split_special_tokens)`,
`decode`, `convert_tokens_to_ids`, `bos_token(_id)`, `eos_token(_id)`), splitting
text on added-token spellings first the way HF fast tokenizers do. Both sides of
every parity check get the same instance.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence


class HFStyleTokenizer:
    """An HF-like tokenizer over a BPE `encode_ordinary` plus a table of added tokens.

    `specials` are added tokens that `split_special_tokens=True` turns back into
    text; `non_specials` stay single tokens either way (Qwen's `<think>`).
    """

    def __init__(
        self,
        name: str,
        encode_ordinary: Callable[[str], list[int]],
        decode_bytes: Callable[[Sequence[int]], bytes],
        specials: dict[str, int],
        non_specials: dict[str, int],
        *,
        bos: str | None,
        eos: str | None,
    ) -> None:
        self.name_or_path = name
        self._encode_ordinary = encode_ordinary
        self._decode_bytes = decode_bytes
        self._added = {**specials, **non_specials}
        self._special_ids = frozenset(specials.values())
        self.all_special_ids = sorted(self._special_ids)
        self._by_id = {i: s for s, i in self._added.items()}
        self._split_all = _alternation(self._added)
        self._split_non_special = _alternation(non_specials)
        self.bos_token = bos
        self.eos_token = eos
        self.bos_token_id = self._added[bos] if bos else None
        self.eos_token_id = self._added[eos] if eos else None

    def encode(
        self, text: str, add_special_tokens: bool = False, split_special_tokens: bool = False
    ) -> list[int]:
        splitter = self._split_non_special if split_special_tokens else self._split_all
        out: list[int] = []
        pieces = splitter.split(text) if splitter is not None else [text]
        for i, piece in enumerate(pieces):
            if i % 2:
                out.append(self._added[piece])
            elif piece:
                out.extend(self._encode_ordinary(piece))
        return out

    def decode(self, token_ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        ids = [int(t) for t in token_ids]
        if skip_special_tokens:
            ids = [t for t in ids if t not in self._special_ids]
        return self._decode_bytes(ids).decode("utf-8", errors="replace")

    def convert_tokens_to_ids(self, token: str) -> int | None:
        return self._added.get(token)

    def __call__(self, text: str) -> list[int]:
        return self.encode(text)


def _alternation(tokens: dict[str, int]) -> re.Pattern[str] | None:
    if not tokens:
        return None
    alts = "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True))
    return re.compile(f"({alts})")


def _from_tml(name: str, tok: object, non_special: Callable[[str], bool], bos: str | None, eos: str | None) -> HFStyleTokenizer:
    specials: dict[str, int] = {}
    non_specials: dict[str, int] = {}
    for key in tok.special_tokens():  # type: ignore[attr-defined]
        token_id = tok.encode_special(key)  # type: ignore[attr-defined]
        spelling = tok.decode_bytes([token_id]).decode("utf-8")  # type: ignore[attr-defined]
        (non_specials if non_special(spelling) else specials)[spelling] = token_id
    return HFStyleTokenizer(
        name,
        tok.encode_ordinary,  # type: ignore[attr-defined]
        tok.decode_bytes,  # type: ignore[attr-defined]
        specials,
        non_specials,
        bos=bos,
        eos=eos,
    )


@functools.cache
def qwen3() -> HFStyleTokenizer:
    """Qwen3: `<|...|>` tokens are special; `<think>`, `<tool_call>`, FIM tokens are plain added tokens."""
    from tml_renderers.tokenizers import Qwen3Tokenizer

    plain_fim = {"<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"}
    return _from_tml(
        "Qwen/Qwen3-8B",
        Qwen3Tokenizer(),
        lambda s: not s.startswith("<|") or s in plain_fim,
        None,
        "<|im_end|>",
    )


@functools.cache
def deepseek_v31() -> HFStyleTokenizer:
    """DeepSeek V3.1: `<think>`/`</think>` are plain added tokens, the `<｜...｜>` ones special."""
    from tml_renderers.tokenizers import DeepSeekV31Tokenizer

    return _from_tml(
        "deepseek-ai/DeepSeek-V3.1",
        DeepSeekV31Tokenizer(),
        lambda s: s in ("<think>", "</think>"),
        "<｜begin▁of▁sentence｜>",
        "<｜end▁of▁sentence｜>",
    )


@functools.cache
def harmony() -> HFStyleTokenizer:
    """GPT-OSS's o200k Harmony vocabulary; every added token is special."""
    from tml_renderers.tokenizers import HarmonyTokenizer

    return _from_tml("openai/gpt-oss-20b", HarmonyTokenizer(), lambda s: False, "<|startoftext|>", "<|return|>")


_LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


@functools.cache
def llama3() -> HFStyleTokenizer:
    """Llama 3.1's ranks (llama-models) with its 256 reserved special tokens at 128000+."""
    import importlib.resources

    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    path = importlib.resources.files("llama_models") / "llama3" / "tokenizer.model"
    ranks = load_tiktoken_bpe(str(path))
    names = [
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|reserved_special_token_0|>",
        "<|reserved_special_token_1|>",
        "<|finetune_right_pad_id|>",
        "<|step_id|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eom_id|>",
        "<|eot_id|>",
        "<|python_tag|>",
    ]
    names += [f"<|reserved_special_token_{i}|>" for i in range(2, 256 - len(names) + 2)]
    specials = {name: len(ranks) + i for i, name in enumerate(names)}
    enc = tiktoken.Encoding("llama3", pat_str=_LLAMA3_PATTERN, mergeable_ranks=ranks, special_tokens=specials)
    return HFStyleTokenizer(
        "meta-llama/Llama-3.1-8B-Instruct",
        enc.encode_ordinary,
        enc.decode_bytes,
        specials,
        {},
        bos="<|begin_of_text|>",
        eos="<|eot_id|>",
    )


_QWEN_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


@functools.cache
def qwen3_hf() -> object:
    """A real `transformers.PreTrainedTokenizerFast` for Qwen3, rebuilt from the tml-renderers ranks.

    The ranks go through `TikTokenConverter` into a byte-level BPE, then the 26
    added tokens are added at their real ids with their real `special` flags, so
    `split_special_tokens=True` behaves as in the Hub tokenizer.
    """
    import base64
    import tempfile
    from pathlib import Path

    from tokenizers import AddedToken
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    source = qwen3()
    base_vocab = min(source._added.values())
    with tempfile.TemporaryDirectory() as tmp:
        ranks = Path(tmp) / "qwen.tiktoken"
        ranks.write_text(
            "".join(
                base64.b64encode(source._decode_bytes([i])).decode() + f" {i}\n" for i in range(base_vocab)
            )
        )
        backend = TikTokenConverter(vocab_file=str(ranks), pattern=_QWEN_PATTERN).converted()
    for spelling, token_id in sorted(source._added.items(), key=lambda kv: kv[1]):
        special = token_id in source._special_ids
        added = AddedToken(spelling, special=special, normalized=False)
        if special:
            backend.add_special_tokens([added])
        else:
            backend.add_tokens([added])
        assert backend.token_to_id(spelling) == token_id, spelling
    hf = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    hf.name_or_path = "Qwen/Qwen3-8B"
    return hf
