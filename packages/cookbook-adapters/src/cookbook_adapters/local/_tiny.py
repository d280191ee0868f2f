"""`cookbook/tiny-chat`: a tiny Qwen3-style chat model built from a seed on first use.

Offline runs and tests need a model that exists without a hub. This one is a
randomly initialised `Qwen3ForCausalLM` (a few hundred thousand parameters, fast to
train on two CPU cores) with a byte-level BPE tokenizer trained on a generated
corpus and carrying Qwen3's chat tokens and template, so the `qwen3_instruct`
renderer works on it unchanged. It is saved as an ordinary HF model directory,
keyed by a hash of everything that shapes it, and written atomically so that
concurrent first uses are safe.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, cast

import torch
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

from cookbook_adapters.local._corpus import corpus_lines
from cookbook_adapters.local._paths import atomic_directory, cache_root

__all__ = ["TINY_CHAT", "tiny_chat_dir"]

logger = logging.getLogger(__name__)

TINY_CHAT = "cookbook/tiny-chat"
_BUILD_VERSION = 2
_SEED = 0
_VOCAB_SIZE = 1024
_SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
_ADDED = ("<think>", "</think>", "<tool_call>", "</tool_call>")
_MODEL: dict[str, Any] = {
    "hidden_size": 96,
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 24,
    "max_position_embeddings": 1024,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": False,
}
_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def _fingerprint() -> str:
    blob = json.dumps(
        {
            "v": _BUILD_VERSION,
            "seed": _SEED,
            "vocab": _VOCAB_SIZE,
            "model": _MODEL,
            "template": _CHAT_TEMPLATE,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def tiny_chat_dir(root: Path | None = None) -> Path:
    """The tiny model's directory, building it first if this cache lacks it."""
    dest = (root or cache_root()) / "models" / f"tiny-chat-{_fingerprint()}"
    if (dest / "config.json").exists():
        return dest
    logger.info("building %s in %s", TINY_CHAT, dest)
    return atomic_directory(dest, _build)


def _train_tokenizer() -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r"\p{N}"), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=_VOCAB_SIZE - len(_SPECIAL) - len(_ADDED),
        min_frequency=2,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus_lines(_SEED), trainer=trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in _SPECIAL])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in _ADDED])
    make_tokenizer = cast(Any, PreTrainedTokenizerFast)  # untyped in transformers
    return cast(
        PreTrainedTokenizerFast,
        make_tokenizer(
            tokenizer_object=tok,
            eos_token="<|im_end|>",
            pad_token="<|endoftext|>",
            chat_template=_CHAT_TEMPLATE,
            clean_up_tokenization_spaces=False,
            model_max_length=_MODEL["max_position_embeddings"],
        ),
    )


def _build(out: Path) -> None:
    tokenizer = _train_tokenizer()
    config = cast(Any, Qwen3Config)(
        vocab_size=len(tokenizer),
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        bos_token_id=None,
        **_MODEL,
    )
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(_SEED)
    try:
        model = cast(Any, Qwen3ForCausalLM)(config)
    finally:
        torch.random.set_rng_state(generator_state)
    model.generation_config.eos_token_id = config.eos_token_id
    model.generation_config.pad_token_id = config.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
