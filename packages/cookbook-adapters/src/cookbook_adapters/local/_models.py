"""Find, load and LoRA-wrap causal LMs, offline first.

A base model name is `cookbook/tiny-chat` (built on first use), a local directory
holding an HF model, or a hub id already in the local HF cache. Nothing is
downloaded: the engine must work on a machine without network.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
from cookbook_runtime.errors import BackendError, ConfigError
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from cookbook_adapters.local._tiny import TINY_CHAT, tiny_chat_dir

__all__ = [
    "LoraSpec",
    "apply_lora",
    "load_model",
    "load_tokenizer",
    "pick_device",
    "pick_dtype",
    "resolve_model_dir",
]

logger = logging.getLogger(__name__)
cast(Any, hf_logging).disable_progress_bar()  # loading bars would interleave with the CLI progress

_ATTN = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "qkv_proj",
    "c_attn",
    "query",
    "key",
    "value",
    "out_proj",
)
_MLP = (
    "gate_proj",
    "up_proj",
    "down_proj",
    "gate_up_proj",
    "fc1",
    "fc2",
    "c_fc",
    "c_proj",
    "w1",
    "w2",
    "w3",
)


@dataclass(frozen=True)
class LoraSpec:
    """Which LoRA to put on a model: rank 0 means full fine-tuning."""

    rank: int
    alpha: float
    train_attn: bool = True
    train_mlp: bool = True
    train_unembed: bool = True


def pick_device(device: str | None) -> torch.device:
    """The requested device, else CUDA when available, else CPU."""
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pick_dtype(dtype: str | None, device: torch.device) -> torch.dtype:
    """The requested dtype by name, else float32 on CPU and bfloat16 on GPU."""
    if dtype is None:
        return torch.float32 if device.type == "cpu" else torch.bfloat16
    found = getattr(torch, dtype, None)
    if not isinstance(found, torch.dtype) or not found.is_floating_point:
        raise ConfigError(
            f"dtype {dtype!r} is not a torch floating dtype; use float32, bfloat16 or float16"
        )
    return found


def resolve_model_dir(name: str, cache_root: Path | None = None) -> Path:
    """The local directory holding model `name`, or a `ConfigError` saying how to get it."""
    if name == TINY_CHAT:
        return tiny_chat_dir(cache_root)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ConfigError(
                f"model directory {str(path)!r} has no config.json; point at an HF model directory"
            )
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True))
    except Exception as exc:
        raise ConfigError(
            f"model {name!r} is neither {TINY_CHAT!r}, a local directory, nor in the local HF cache; "
            "download it first (huggingface-cli download) or pass a directory"
        ) from exc


def load_tokenizer(model_dir: Path) -> PreTrainedTokenizerBase:
    """The model's HF tokenizer, from local files only."""
    try:
        tok: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(
            model_dir, local_files_only=True
        )
    except Exception as exc:
        raise BackendError(f"could not load a tokenizer from {str(model_dir)!r}: {exc}") from exc
    return tok


def load_model(model_dir: Path, device: torch.device, dtype: torch.dtype) -> Any:
    """The causal LM at `model_dir` on `device`, in `dtype`."""
    try:
        model: Any = AutoModelForCausalLM.from_pretrained(
            model_dir, dtype=dtype, local_files_only=True
        )
    except Exception as exc:
        raise BackendError(f"could not load a causal LM from {str(model_dir)!r}: {exc}") from exc
    return model.to(device)


def lora_targets(model: Any, spec: LoraSpec) -> list[str]:
    """Names of the linear layers the LoRA spec selects, by the usual HF naming."""
    unembed = model.get_output_embeddings()
    names: set[str] = set()
    for full_name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        leaf = full_name.rsplit(".", 1)[-1]
        if module is unembed:
            if spec.train_unembed:
                names.add(full_name)
        elif (spec.train_attn and leaf in _ATTN) or (spec.train_mlp and leaf in _MLP):
            names.add(leaf)
    if not names:
        raise ConfigError(
            "the LoRA selects no layer: enable train_attn, train_mlp or train_unembed"
        )
    return sorted(names)


# LoRA factors are drawn from torch's one global CPU generator; clients made at once on
# several threads (a server with many SDK clients) would interleave their draws.
_GLOBAL_RNG = threading.Lock()


def apply_lora(model: Any, spec: LoraSpec, seed: int | None) -> Any:
    """`model` wrapped for training: a peft LoRA model, or itself with every weight trainable."""
    if spec.rank == 0:
        model.requires_grad_(True)
        return model
    config = LoraConfig(
        r=spec.rank,
        lora_alpha=cast(Any, spec.alpha),
        lora_dropout=0.0,
        bias="none",
        target_modules=lora_targets(model, spec),
        task_type="CAUSAL_LM",
    )
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        return get_peft_model(model, config)
