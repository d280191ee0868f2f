"""`LocalServiceClient`: the embedded backend a manifest's `service` port points at."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.train.tokenizer import Tokenizer
from peft import PeftModel

from cookbook_adapters.local._checkpoints import read_sampler_meta, read_state_meta
from cookbook_adapters.local._models import (
    LoraSpec,
    apply_lora,
    load_model,
    load_tokenizer,
    pick_device,
    pick_dtype,
    resolve_model_dir,
)
from cookbook_adapters.local._paths import cache_root
from cookbook_adapters.local._sampling import LocalSamplingClient
from cookbook_adapters.local._training import LocalTrainingClient

__all__ = ["LocalServiceClient"]

logger = logging.getLogger(__name__)


class LocalServiceClient:
    """Creates training and sampling clients that run on this machine.

    Options (all optional, as a manifest binding gives them):

    - `device`: `"cpu"`, `"cuda"`, `"cuda:1"`...; default CUDA when available.
    - `dtype`: `"float32"`, `"bfloat16"`, `"float16"`; default float32 on CPU, bfloat16 on GPU.
    - `cache_dir`: where built models (`cookbook/tiny-chat`) are cached; default
      `$COOKBOOK_CACHE_DIR` or `~/.cache/cookbook`.
    - `root`: where saved states and sampler weights go; default `<cache_dir>/local`.
    - `lora_alpha`: LoRA alpha for every client (scale = alpha / rank); default 32.
    - `models`: extra model names, each mapped to a local HF model directory (or an
      HF cache name), so a directory is trained and sampled under the name a user
      gives it (`Qwen/Qwen3-8B` for a local copy); saved states record that name.

    Paths returned by `save_state` and `save_weights_for_sampler` are absolute local
    directories; `create_training_client_from_state` and
    `create_sampling_client(model_path=...)` take them back.
    """

    def __init__(
        self,
        *,
        device: str | None = None,
        dtype: str | None = None,
        cache_dir: str | Path | None = None,
        root: str | Path | None = None,
        lora_alpha: float = 32.0,
        models: Mapping[str, str | Path] | None = None,
    ) -> None:
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else cache_root()
        self.root = Path(root).expanduser() if root else self.cache_dir / "local"
        if lora_alpha <= 0:
            raise ConfigError(f"lora_alpha must be positive, got {lora_alpha}")
        self.lora_alpha = float(lora_alpha)
        self.models = {str(name): str(where) for name, where in (models or {}).items()}
        self._tokenizers: dict[str, Any] = {}
        self._clients: list[LocalTrainingClient | LocalSamplingClient] = []

    # -- models and tokenizers ----------------------------------------------------------

    def _model_dir(self, base_model: str) -> Path:
        return resolve_model_dir(self.models.get(base_model, base_model), self.cache_dir)

    def get_tokenizer(self, base_model: str) -> Tokenizer:
        if base_model not in self._tokenizers:
            self._tokenizers[base_model] = load_tokenizer(self._model_dir(base_model))
        tok: Tokenizer = self._tokenizers[base_model]
        return tok

    def _training_client(
        self, base_model: str, spec: LoraSpec, seed: int | None
    ) -> LocalTrainingClient:
        if spec.rank < 0:
            raise ConfigError(f"LoRA rank must be >= 0 (0 means full fine-tuning), got {spec.rank}")
        model_dir = self._model_dir(base_model)
        tokenizer = self.get_tokenizer(base_model)
        model = apply_lora(load_model(model_dir, self.device, self.dtype), spec, seed)
        client = LocalTrainingClient(
            base_model=base_model,
            model=model,
            tokenizer=tokenizer,
            spec=spec,
            root=self.root,
            open_sampler=self._open_sampler,
            track_sampler=self._track,
        )
        self._clients.append(client)
        client.on_close = self._forget
        return client

    def _track(self, client: LocalSamplingClient) -> LocalSamplingClient:
        """Remember `client` until it is closed, so `close()` can close what is left."""
        self._clients.append(client)
        client.on_close = self._forget
        return client

    def _forget(self, client: LocalTrainingClient | LocalSamplingClient) -> None:
        if client in self._clients:
            self._clients.remove(client)

    # -- ServiceClient ---------------------------------------------------------------

    async def create_lora_training_client(
        self,
        base_model: str,
        *,
        rank: int = 32,
        seed: int | None = None,
        train_mlp: bool = True,
        train_attn: bool = True,
        train_unembed: bool = True,
    ) -> LocalTrainingClient:
        spec = LoraSpec(rank, self.lora_alpha, train_attn, train_mlp, train_unembed)
        return await asyncio.to_thread(self._training_client, base_model, spec, seed)

    async def create_training_client_from_state(
        self, path: str, *, with_optimizer: bool = True
    ) -> LocalTrainingClient:
        meta = read_state_meta(path)
        spec = LoraSpec(meta.rank, meta.alpha, meta.train_attn, meta.train_mlp, meta.train_unembed)

        def build() -> LocalTrainingClient:
            client = self._training_client(meta.base_model, spec, None)
            client.load_state_now(path, with_optimizer=with_optimizer)
            return client

        return await asyncio.to_thread(build)

    async def create_sampling_client(
        self, *, base_model: str | None = None, model_path: str | None = None
    ) -> LocalSamplingClient:
        if model_path is not None:
            return await self._open_sampler(model_path)
        if base_model is None:
            raise ConfigError("create_sampling_client needs base_model or model_path")

        def build() -> LocalSamplingClient:
            model = load_model(self._model_dir(base_model), self.device, self.dtype)
            return LocalSamplingClient(model, self.get_tokenizer(base_model))

        return self._track(await asyncio.to_thread(build))

    async def _open_sampler(self, path: str) -> LocalSamplingClient:
        meta = read_sampler_meta(path)

        def build() -> LocalSamplingClient:
            if meta.rank == 0:
                model = load_model(Path(path), self.device, self.dtype)
            else:
                base = load_model(self._model_dir(meta.base_model), self.device, self.dtype)
                model = PeftModel.from_pretrained(base, path, is_trainable=False).merge_and_unload()
            return LocalSamplingClient(model, self.get_tokenizer(meta.base_model), model_path=path)

        return self._track(await asyncio.to_thread(build))

    async def close(self) -> None:
        for client in list(self._clients):
            await client.close()
        self._clients.clear()
