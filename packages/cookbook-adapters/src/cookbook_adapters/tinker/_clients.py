"""Runtime ports over the official `tinker` SDK.

The SDK already queues requests in submission order and returns futures at once;
each port call submits through the SDK and wraps its future in a `TinkerPending`
whose `result()` converts the SDK's answer to runtime types. The SDK runs its own
event loop in a background thread, so nothing here blocks the caller's loop except
creating the SDK's `ServiceClient` (done in a worker thread) and loading tokenizers.
Credentials come from the SDK's own chain (`TINKER_API_KEY`, stored credentials);
this module never reads, stores or prints them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar, cast
from urllib.parse import urlparse

import tinker
from cookbook_runtime.errors import BackendError
from cookbook_runtime.ports import CustomLossFn
from cookbook_runtime.train.tokenizer import Tokenizer
from cookbook_runtime.train.types import (
    AdamParams,
    Datum,
    ForwardBackwardOutput,
    LossName,
    ModelInput,
    OptimStepOutput,
    SampleResult,
    SamplingParams,
    TrainingInfo,
)
from tinker import types as tt
from tinker.lib.base_url import resolve_base_url

from cookbook_adapters.tinker import _convert as cv
from cookbook_adapters.tinker._errors import to_backend_error

__all__ = ["TinkerPending", "TinkerSamplingClient", "TinkerServiceClient", "TinkerTrainingClient"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class TinkerPending(Generic[T]):
    """An SDK future; `await result()` gives its output as runtime types."""

    def __init__(self, future: Awaitable[Any], convert: Callable[[Any], T], action: str) -> None:
        self._future = future
        self._convert = convert
        self._action = action
        self._value: list[T] = []

    async def result(self) -> T:
        if self._value:
            return self._value[0]
        try:
            raw = await self._future
        except Exception as exc:
            raise to_backend_error(exc, self._action) from exc
        self._value.append(self._convert(raw))
        return self._value[0]


def _load_tokenizer(tokenizer_id: str, *, local_only: bool = False) -> Tokenizer:
    from transformers import AutoTokenizer

    return cast(Tokenizer, AutoTokenizer.from_pretrained(tokenizer_id, local_files_only=local_only))


def _is_loopback(base_url: str) -> bool:
    return urlparse(base_url).hostname in ("127.0.0.1", "localhost", "::1")


def _in_thread(fn: Callable[[], T]) -> T:
    """Run a blocking SDK call on a plain thread: the SDK refuses blocking calls inside an event loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


class TinkerSamplingClient:
    """Samples through an SDK `SamplingClient`."""

    def __init__(self, sdk: tinker.SamplingClient, tokenizer: Callable[[], Tokenizer]) -> None:
        self.sdk = sdk
        self._tokenizer = tokenizer

    async def sample(self, prompt: ModelInput, num_samples: int, params: SamplingParams) -> SampleResult:
        try:
            response = await self.sdk.sample(
                cv.model_input_to_tinker(prompt), num_samples, cv.sampling_params_to_tinker(params)
            )
        except Exception as exc:
            raise to_backend_error(exc, "sample") from exc
        return cv.sample_result_from_tinker(response)

    async def compute_logprobs(self, prompt: ModelInput) -> list[float | None]:
        try:
            values = await self.sdk.compute_logprobs(cv.model_input_to_tinker(prompt))
        except Exception as exc:
            raise to_backend_error(exc, "compute_logprobs") from exc
        return [None if v is None else float(v) for v in values]

    def tokenizer(self) -> Tokenizer:
        return self._tokenizer()


class TinkerTrainingClient:
    """One Tinker training run through an SDK `TrainingClient`."""

    def __init__(self, sdk: tinker.TrainingClient, service: TinkerServiceClient) -> None:
        self.sdk = sdk
        self._service = service
        self._tokenizer: Tokenizer | None = None
        self._closed = False
        info = sdk.get_info()
        self._info = TrainingInfo(
            base_model=info.model_data.model_name or info.model_name or "",
            lora_rank=int(info.lora_rank or 0),
            model_id=info.model_id,
            tokenizer_id=info.model_data.tokenizer_id,
        )

    def _check_open(self) -> None:
        if self._closed:
            raise BackendError(f"tinker training client {self._info.model_id} is closed: create a new one")

    def _submit(self, action: str, call: Callable[[], Awaitable[Any]], convert: Callable[[Any], T]) -> TinkerPending[T]:
        self._check_open()
        try:
            future = call()
        except Exception as exc:
            raise to_backend_error(exc, action) from exc
        return TinkerPending(future, convert, action)

    async def forward(self, data: Sequence[Datum], loss_fn: LossName = "cross_entropy") -> TinkerPending[ForwardBackwardOutput]:
        batch = [cv.datum_to_tinker(d) for d in data]
        return self._submit("forward", lambda: self.sdk.forward(batch, loss_fn), cv.fwdbwd_output_from_tinker)

    async def forward_backward(
        self, data: Sequence[Datum], loss_fn: LossName, loss_fn_config: Mapping[str, float] | None = None
    ) -> TinkerPending[ForwardBackwardOutput]:
        batch = [cv.datum_to_tinker(d) for d in data]
        config = cv.loss_fn_config_to_tinker(loss_fn_config)
        return self._submit(
            "forward_backward",
            lambda: self.sdk.forward_backward(batch, loss_fn, config),
            cv.fwdbwd_output_from_tinker,
        )

    async def forward_backward_custom(self, data: Sequence[Datum], loss_fn: CustomLossFn) -> TinkerPending[ForwardBackwardOutput]:
        runtime_batch = list(data)
        batch = [cv.datum_to_tinker(d) for d in runtime_batch]

        def sdk_loss(_: list[tt.Datum], logprobs: list[Any]) -> tuple[Any, dict[str, float]]:
            return loss_fn(runtime_batch, logprobs)

        return self._submit(
            "forward_backward_custom",
            lambda: self.sdk.forward_backward_custom(batch, sdk_loss),
            cv.fwdbwd_output_from_tinker,
        )

    async def optim_step(self, params: AdamParams) -> TinkerPending[OptimStepOutput]:
        adam = cv.adam_params_to_tinker(params)
        return self._submit("optim_step", lambda: self.sdk.optim_step(adam), cv.optim_output_from_tinker)

    async def save_state(self, name: str, *, ttl_seconds: int | None = None) -> TinkerPending[str]:
        """Save weights and optimizer state; `ttl_seconds` lets the service expire the checkpoint."""
        return self._submit(
            "save_state", lambda: self.sdk.save_state(name, ttl_seconds=ttl_seconds), lambda r: str(r.path)
        )

    async def load_state(self, path: str, *, with_optimizer: bool = True) -> TinkerPending[None]:
        def call() -> Awaitable[Any]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", FutureWarning)
                if with_optimizer:
                    return self.sdk.load_state_with_optimizer(path)
                return self.sdk.load_state(path)

        return self._submit("load_state", call, lambda _: None)

    async def save_weights_for_sampler(self, name: str, *, ttl_seconds: int | None = None) -> TinkerPending[str]:
        return self._submit(
            "save_weights_for_sampler",
            lambda: self.sdk.save_weights_for_sampler(name, ttl_seconds=ttl_seconds),
            lambda r: str(r.path),
        )

    async def sampling_client(self, name: str | None = None) -> TinkerSamplingClient:
        self._check_open()
        try:
            if name is None:
                sdk_sampler = await self.sdk.save_weights_and_get_sampling_client()
            else:
                path = await (await self.save_weights_for_sampler(name)).result()
                sdk_sampler = await self._service.sdk_client().create_sampling_client(model_path=path)
        except BackendError:
            raise
        except Exception as exc:
            raise to_backend_error(exc, "sampling_client") from exc
        return TinkerSamplingClient(sdk_sampler, self.tokenizer)

    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = self._service.tokenizer_for(self._info.base_model, self._info.tokenizer_id)
        return self._tokenizer

    async def info(self) -> TrainingInfo:
        return self._info

    async def close(self) -> None:
        """The SDK has no per-run close; further calls through this client are refused."""
        self._closed = True


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
                    self._sdk = tinker.ServiceClient(base_url=self._base_url, project_id=self._project_id)
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

    async def create_training_client_from_state(self, path: str, *, with_optimizer: bool = True) -> TinkerTrainingClient:
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
        on the Hugging Face hub, and failing that the service is asked by creating a
        rank-1 training client of the model, whose info names the tokenizer. A server
        on this machine is asked before the hub: its models are not on the hub.
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
        logger.info("asking the service for the tokenizer of %s", base_model)
        tokenizer_id = _in_thread(lambda: self._probe_tokenizer_id(base_model))
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
