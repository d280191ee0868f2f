"""The `ServiceClient` port over the SDK's `ServiceClient`.

Creating the SDK client opens a session (network calls), so it happens on first use
and in a worker thread. Credentials come from the SDK's own chain
(`TINKER_API_KEY`, stored credentials); this module never reads, stores or prints them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import cast
from urllib.parse import urlparse

import tinker
from cookbook_runtime.errors import BackendError
from cookbook_runtime.train.tokenizer import Tokenizer
from tinker.lib.base_url import resolve_base_url

from cookbook_adapters.tinker._errors import to_backend_error
from cookbook_adapters.tinker._pending import in_thread
from cookbook_adapters.tinker._sampling import TinkerSamplingClient
from cookbook_adapters.tinker._training import TinkerTrainingClient

__all__ = ["TinkerServiceClient"]

logger = logging.getLogger(__name__)


def _load_tokenizer(tokenizer_id: str, *, local_only: bool = False) -> Tokenizer:
    from transformers import AutoTokenizer

    return cast(Tokenizer, AutoTokenizer.from_pretrained(tokenizer_id, local_files_only=local_only))


def _is_loopback(base_url: str) -> bool:
    return urlparse(base_url).hostname in ("127.0.0.1", "localhost", "::1")


class TinkerServiceClient:
    """The `service` port on the Tinker service (or any server speaking its protocol).

    `base_url` overrides `TINKER_BASE_URL`; the API key is whatever the SDK finds.
    """

    def __init__(self, *, base_url: str | None = None, project_id: str | None = None) -> None:
        self._base_url = base_url
        self._project_id = project_id
        self._sdk: tinker.ServiceClient | None = None
        self._lock = threading.Lock()
        self._tokenizers: dict[str, Tokenizer] = {}
        self._tokenizer_ids: dict[str, str] = {}

    def sdk_client(self) -> tinker.ServiceClient:
        """The SDK's `ServiceClient`, created (one session) on first use."""
        with self._lock:
            if self._sdk is None:
                try:
                    self._sdk = tinker.ServiceClient(
                        base_url=self._base_url, project_id=self._project_id
                    )
                except Exception as exc:
                    raise to_backend_error(exc, "connect") from exc
            return self._sdk

    async def _client(self) -> tinker.ServiceClient:
        if self._sdk is not None:
            return self._sdk
        return await asyncio.to_thread(self.sdk_client)

    def _wrap(self, sdk: tinker.TrainingClient) -> TinkerTrainingClient:
        client = TinkerTrainingClient(sdk, self)
        if client._info.tokenizer_id:
            self._tokenizer_ids.setdefault(client._info.base_model, client._info.tokenizer_id)
        return client

    async def create_lora_training_client(
        self,
        base_model: str,
        *,
        rank: int = 32,
        seed: int | None = None,
        train_mlp: bool = True,
        train_attn: bool = True,
        train_unembed: bool = True,
    ) -> TinkerTrainingClient:
        sdk = await self._client()
        try:
            created = await sdk.create_lora_training_client(
                base_model,
                rank=rank,
                seed=seed,
                train_mlp=train_mlp,
                train_attn=train_attn,
                train_unembed=train_unembed,
            )
        except Exception as exc:
            raise to_backend_error(exc, f"create_lora_training_client({base_model!r})") from exc
        return self._wrap(created)

    async def create_training_client_from_state(
        self, path: str, *, with_optimizer: bool = True
    ) -> TinkerTrainingClient:
        sdk = await self._client()
        try:
            if with_optimizer:
                created = await sdk.create_training_client_from_state_with_optimizer(path)
            else:
                created = await sdk.create_training_client_from_state(path)
        except Exception as exc:
            raise to_backend_error(exc, f"create_training_client_from_state({path!r})") from exc
        return self._wrap(created)

    async def create_sampling_client(
        self, *, base_model: str | None = None, model_path: str | None = None
    ) -> TinkerSamplingClient:
        sdk = await self._client()
        try:
            sampler = await sdk.create_sampling_client(model_path=model_path, base_model=base_model)
        except Exception as exc:
            raise to_backend_error(exc, "create_sampling_client") from exc
        name = sampler.get_base_model()
        return TinkerSamplingClient(sampler, lambda: self.get_tokenizer(name))

    def tokenizer_for(self, base_model: str, tokenizer_id: str | None) -> Tokenizer:
        """The tokenizer named by `tokenizer_id` (what the service reports), cached per base model."""
        if base_model not in self._tokenizers:
            try:
                self._tokenizers[base_model] = _load_tokenizer(tokenizer_id or base_model)
            except Exception as exc:
                raise to_backend_error(exc, f"loading the tokenizer of {base_model!r}") from exc
        return self._tokenizers[base_model]

    def get_tokenizer(self, base_model: str) -> Tokenizer:
        """The tokenizer the service reports for `base_model`.

        Known after a training client of that model exists. Before, the name is tried
        as a local directory or cached Hugging Face repo, then (for a remote service)
        on the Hugging Face hub. Only a server on this machine is then asked, through a
        rank-1 training client whose info names the tokenizer: on a remote service that
        would open a billed training run just to read a name, so there it is an error.
        """
        if base_model in self._tokenizers:
            return self._tokenizers[base_model]
        known = self._tokenizer_ids.get(base_model)
        if known is not None:
            return self.tokenizer_for(base_model, known)
        attempts = [True] if _is_loopback(resolve_base_url(self._base_url)) else [True, False]
        for local_only in attempts:
            try:
                self._tokenizers[base_model] = _load_tokenizer(base_model, local_only=local_only)
                return self._tokenizers[base_model]
            except Exception:
                logger.debug("tokenizer of %s not found (local_only=%s)", base_model, local_only)
        if len(attempts) > 1:
            raise BackendError(
                f"no tokenizer for {base_model!r} in the Hugging Face cache or hub; "
                f"download it first (huggingface-cli download {base_model}) or create a training client"
            )
        logger.info("asking the service for the tokenizer of %s", base_model)
        tokenizer_id = in_thread(lambda: self._probe_tokenizer_id(base_model))
        self._tokenizer_ids[base_model] = tokenizer_id or base_model
        return self.tokenizer_for(base_model, tokenizer_id)

    def _probe_tokenizer_id(self, base_model: str) -> str | None:
        try:
            probe = self.sdk_client().create_lora_training_client(base_model, rank=1).result()
        except Exception as exc:
            raise to_backend_error(exc, f"get_tokenizer({base_model!r})") from exc
        return probe.get_info().model_data.tokenizer_id

    async def close(self) -> None:
        if self._sdk is None:
            return
        sdk, self._sdk = self._sdk, None
        try:
            await sdk.close("success")
        except Exception as exc:
            raise to_backend_error(exc, "close") from exc
