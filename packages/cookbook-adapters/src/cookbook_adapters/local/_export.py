"""`LocalWeightsExporter`: checkpoints as a PEFT adapter and as merged HF weights, on this machine.

It takes what the local engine saved (sampler weights, or a training state, which it
first turns into sampler weights with the engine itself) or any PEFT adapter
directory, such as a Tinker checkpoint downloaded with `tinker checkpoint download`.
A `tinker://` training state (or external weights) path is downloaded first, through
the tinker adapter (`cookbook-adapters[tinker]`), from the Tinker service or a
`cookbook serve` at `TINKER_BASE_URL`.
The merged model is the base with the adapter folded in by peft's `merge_and_unload`,
the same fold the engine's sampler uses, so both score text identically.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from cookbook_runtime.atomic import atomic_write
from cookbook_runtime.errors import AdapterUnavailable, ConfigError
from cookbook_runtime.ports import ExportedWeights, ExportFormat
from cookbook_runtime.user_files import load_json
from peft import PeftModel

from cookbook_adapters.local._checkpoints import SAMPLER_META, STATE_META, read_sampler_meta
from cookbook_adapters.local._models import (
    load_model,
    load_tokenizer,
    pick_device,
    pick_dtype,
    resolve_model_dir,
)
from cookbook_adapters.local._paths import atomic_directory, cache_root
from cookbook_adapters.local._tiny import TINY_CHAT

if TYPE_CHECKING:
    from cookbook_adapters.tinker import DownloadedCheckpoint

__all__ = ["LocalWeightsExporter"]

_ADAPTER_CONFIG = "adapter_config.json"


@dataclass(frozen=True)
class _Source:
    """A checkpoint directory the exporter can read, and what it holds."""

    path: Path
    base_model: str
    rank: int


class LocalWeightsExporter:
    """Exports with torch and peft on `device` (default CPU, which needs no GPU memory).

    `cache_dir` is where the local engine keeps built models (`cookbook/tiny-chat`);
    default `$COOKBOOK_CACHE_DIR` or `~/.cache/cookbook`, as for the local service.
    `tinker_base_url` is where `tinker://` checkpoints are downloaded from (default
    `TINKER_BASE_URL`, else the Tinker service).
    """

    def __init__(
        self,
        *,
        device: str | None = "cpu",
        cache_dir: str | Path | None = None,
        tinker_base_url: str | None = None,
    ) -> None:
        self.device = pick_device(device)
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else cache_root()
        self.tinker_base_url = tinker_base_url

    async def export(
        self,
        checkpoint: str,
        dest: Path,
        *,
        formats: Sequence[ExportFormat] = ("peft_adapter", "merged"),
        base_model: str | None = None,
        dtype: str | None = None,
    ) -> ExportedWeights:
        target_dtype = pick_dtype(dtype, self.device) if dtype else None
        if checkpoint.startswith("tinker://"):
            with tempfile.TemporaryDirectory(prefix="cookbook-export-") as tmp:
                got = await self._download(checkpoint, Path(tmp) / "weights")
                source = _Source(got.path, base_model or got.base_model, got.lora_rank)
                return await asyncio.to_thread(
                    self._export, checkpoint, source, Path(dest), formats, target_dtype
                )
        path = Path(checkpoint).expanduser()
        if (path / STATE_META).is_file():
            with tempfile.TemporaryDirectory(prefix="cookbook-export-") as tmp:
                sampler = await self._sampler_from_state(str(path), Path(tmp))
                return await asyncio.to_thread(
                    self._export, checkpoint, self._source(sampler, base_model), Path(dest), formats, target_dtype
                )
        source = self._source(path, base_model)
        return await asyncio.to_thread(self._export, checkpoint, source, Path(dest), formats, target_dtype)

    async def _download(self, checkpoint: str, dest: Path) -> DownloadedCheckpoint:
        """A `tinker://` checkpoint's weights, downloaded into `dest` by the tinker adapter."""
        try:
            from cookbook_adapters.tinker import download_checkpoint
        except ImportError:
            raise AdapterUnavailable("tinker", "the Tinker SDK to download tinker:// checkpoints", "tinker") from None
        return await asyncio.to_thread(
            download_checkpoint, checkpoint, dest, base_url=self.tinker_base_url
        )

    async def _sampler_from_state(self, state: str, root: Path) -> Path:
        """Sampler weights of a saved training state, written by the engine itself."""
        from cookbook_adapters.local._service import LocalServiceClient

        service = LocalServiceClient(device=str(self.device), dtype="float32", cache_dir=self.cache_dir, root=root)
        try:
            client = await service.create_training_client_from_state(state, with_optimizer=False)
            return Path(await (await client.save_weights_for_sampler("export")).result())
        finally:
            await service.close()

    def _source(self, path: Path, base_model: str | None) -> _Source:
        if not path.is_dir():
            raise ConfigError(f"checkpoint {str(path)!r} is not a directory; pass a path a training stage saved")
        if (path / SAMPLER_META).is_file():
            meta = read_sampler_meta(str(path))
            return _Source(path, base_model or meta.base_model, meta.rank)
        if (path / _ADAPTER_CONFIG).is_file():
            config = load_json(path / _ADAPTER_CONFIG, "PEFT adapter config")
            base = base_model or (config.get("base_model_name_or_path") if isinstance(config, dict) else None)
            rank = config.get("r") if isinstance(config, dict) else None
            if not base or not isinstance(rank, int):
                raise ConfigError(
                    f"PEFT adapter {str(path)!r} names no base model or rank; pass base_model"
                )
            return _Source(path, str(base), rank)
        raise ConfigError(
            f"checkpoint {str(path)!r} is neither saved sampler weights, a saved state nor a PEFT adapter "
            f"(no {SAMPLER_META}, {STATE_META} or {_ADAPTER_CONFIG})"
        )

    def _export(
        self,
        checkpoint: str,
        source: _Source,
        dest: Path,
        formats: Sequence[ExportFormat],
        dtype: torch.dtype | None,
    ) -> ExportedWeights:
        if source.rank == 0 and "peft_adapter" in formats:
            raise ConfigError(
                f"checkpoint {checkpoint!r} is a full fine-tune (LoRA rank 0): it has no adapter; "
                "export formats ['merged']"
            )
        model_dir = source.path if source.rank == 0 else resolve_model_dir(source.base_model, self.cache_dir)
        tokenizer = load_tokenizer(model_dir)
        out: dict[str, str] = {}
        if "peft_adapter" in formats:
            out["peft_adapter_dir"] = str(self._write_adapter(source, model_dir, tokenizer, dest / "peft_adapter"))
        if "merged" in formats:
            out["merged_dir"] = str(self._write_merged(source, model_dir, tokenizer, dest / "merged", dtype))
        return ExportedWeights(checkpoint=checkpoint, base_model=source.base_model, lora_rank=source.rank, **out)

    def _write_adapter(self, source: _Source, model_dir: Path, tokenizer: Any, dest: Path) -> Path:
        # Where peft finds the base: a hub id as is; a model only on this machine by its directory.
        base_ref = str(model_dir) if source.base_model == TINY_CHAT or Path(source.base_model).is_dir() \
            else source.base_model

        def fill(tmp: Path) -> None:
            for item in source.path.iterdir():
                if item.name.startswith("adapter_") and item.is_file():
                    shutil.copy2(item, tmp / item.name)
            config_path = tmp / _ADAPTER_CONFIG
            config = json.loads(config_path.read_text(encoding="utf-8"))
            config["base_model_name_or_path"] = base_ref
            atomic_write(config_path, json.dumps(config, indent=2))
            tokenizer.save_pretrained(tmp)

        return atomic_directory(dest, fill, replace=True).resolve()

    def _write_merged(
        self, source: _Source, model_dir: Path, tokenizer: Any, dest: Path, dtype: torch.dtype | None
    ) -> Path:
        # Fold in float32, so a bfloat16 export rounds once, after the merge.
        model = load_model(model_dir, self.device, torch.float32)
        if source.rank > 0:
            model = PeftModel.from_pretrained(model, str(source.path), is_trainable=False).merge_and_unload()
        target = dtype or _config_dtype(model_dir) or torch.float32
        model = model.to(target)

        def fill(tmp: Path) -> None:
            model.save_pretrained(tmp, safe_serialization=True)
            tokenizer.save_pretrained(tmp)

        return atomic_directory(dest, fill, replace=True).resolve()


def _config_dtype(model_dir: Path) -> torch.dtype | None:
    """The dtype the base model's config.json declares, if any."""
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = config.get("dtype") or config.get("torch_dtype")
    found = getattr(torch, name, None) if isinstance(name, str) else None
    return found if isinstance(found, torch.dtype) and found.is_floating_point else None
