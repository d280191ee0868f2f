"""Saved training states and sampler weights, as plain directories.

A state directory (`save_state`) holds `cookbook_state.json` (what was trained and
the step), `trainable.safetensors` (every trainable tensor) and `optimizer.pt`.
A sampler directory (`save_weights_for_sampler`) is what other tools load: for
LoRA a PEFT adapter (`adapter_config.json` + `adapter_model.safetensors`), for
full fine-tuning a whole HF model directory with its tokenizer; either way
`cookbook_sampler.json` names the base model. Both are written atomically and
identified by their absolute local path.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from cookbook_runtime.atomic import atomic_write
from cookbook_runtime.errors import BackendError
from cookbook_runtime.user_files import UnreadableFile, load_json

T = TypeVar("T")

__all__ = [
    "SAMPLER_META",
    "STATE_META",
    "SamplerMeta",
    "StateMeta",
    "read_sampler_meta",
    "read_state_meta",
]

STATE_META = "cookbook_state.json"
SAMPLER_META = "cookbook_sampler.json"


@dataclass(frozen=True)
class StateMeta:
    """What a saved training state is."""

    base_model: str
    rank: int
    alpha: float
    train_attn: bool
    train_mlp: bool
    train_unembed: bool
    step: int
    has_optimizer: bool

    def write(self, directory: Path) -> None:
        atomic_write(directory / STATE_META, json.dumps(asdict(self), indent=2))


@dataclass(frozen=True)
class SamplerMeta:
    """What saved sampler weights are."""

    base_model: str
    rank: int

    def write(self, directory: Path) -> None:
        atomic_write(directory / SAMPLER_META, json.dumps(asdict(self), indent=2))


def _read(path: str, name: str, what: str) -> dict[str, Any]:
    meta = Path(path).expanduser() / name
    if not meta.exists():
        raise BackendError(
            f"no {what} at {path!r} (missing {name}); pass a path a local client saved"
        )
    hint = "the checkpoint is damaged: use an earlier one or retrain"
    loaded = load_json(meta, f"{what} metadata", hint=hint)
    if not isinstance(loaded, dict):
        raise UnreadableFile(f"{what} metadata", meta, "is not a JSON object", hint)
    return loaded


def _build(cls: type[T], raw: dict[str, Any], path: str, name: str, what: str) -> T:
    try:
        return cls(**raw)
    except TypeError:
        fields = ", ".join(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
        raise UnreadableFile(
            f"{what} metadata", Path(path) / name, f"does not hold the fields {fields}",
            "the checkpoint is damaged: use an earlier one or retrain",
        ) from None


def read_state_meta(path: str) -> StateMeta:
    """The metadata of the state saved at `path`."""
    return _build(StateMeta, _read(path, STATE_META, "saved training state"), path, STATE_META, "saved training state")


def read_sampler_meta(path: str) -> SamplerMeta:
    """The metadata of the sampler weights saved at `path`."""
    return _build(
        SamplerMeta, _read(path, SAMPLER_META, "saved sampler weights"), path, SAMPLER_META, "saved sampler weights"
    )
