"""The embedded PyTorch backend: training and sampling on this machine (CPU or one GPU).

Needs the `[local]` extra (torch, transformers, peft, safetensors, tokenizers); the
imports below are top-level on purpose, so the adapter registry reports a missing
extra with the `pip install` to run.

Models: `cookbook/tiny-chat` (built on first use), any HF causal LM directory, or a
hub id already in the local HF cache. LoRA through peft, full fine-tuning at rank 0.
Saved states and sampler weights are plain local directories (see `_checkpoints`);
`LocalWeightsExporter` writes them as a PEFT adapter and as merged HF weights.
"""

from cookbook_adapters.local._export import LocalWeightsExporter
from cookbook_adapters.local._losses import LOSSES, compute_loss
from cookbook_adapters.local._sampling import LocalSamplingClient
from cookbook_adapters.local._service import LocalServiceClient
from cookbook_adapters.local._tiny import TINY_CHAT, tiny_chat_dir
from cookbook_adapters.local._training import LocalTrainingClient
from cookbook_adapters.local._worker import LocalPending

__all__ = [
    "LOSSES",
    "TINY_CHAT",
    "LocalPending",
    "LocalSamplingClient",
    "LocalServiceClient",
    "LocalTrainingClient",
    "LocalWeightsExporter",
    "compute_loss",
    "tiny_chat_dir",
]
