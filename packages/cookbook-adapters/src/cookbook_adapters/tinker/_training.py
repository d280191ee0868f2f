"""The `TrainingClient` port over an SDK `TrainingClient`.

The SDK queues requests in submission order and returns futures at once; each call
here submits through the SDK and wraps its future in a `TinkerPending`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import tinker
from cookbook_runtime.errors import BackendError
from cookbook_runtime.ports import CustomLossFn
from cookbook_runtime.train.tokenizer import Tokenizer
from cookbook_runtime.train.types import (
    AdamParams,
    Datum,
    ForwardBackwardOutput,
    LossName,
    OptimStepOutput,
    TrainingInfo,
)
from tinker import types as tt

from cookbook_adapters.tinker import _convert as cv
from cookbook_adapters.tinker._errors import to_backend_error
from cookbook_adapters.tinker._pending import TinkerPending
from cookbook_adapters.tinker._sampling import TinkerSamplingClient

if TYPE_CHECKING:
    from cookbook_adapters.tinker._service import TinkerServiceClient

__all__ = ["TinkerTrainingClient"]

T = TypeVar("T")


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
            raise BackendError(
                f"tinker training client {self._info.model_id} is closed: create a new one"
            )

    def _submit(
        self, action: str, call: Callable[[], Awaitable[Any]], convert: Callable[[Any], T]
    ) -> TinkerPending[T]:
        self._check_open()
        try:
            future = call()
        except Exception as exc:
            raise to_backend_error(exc, action) from exc
        return TinkerPending(future, convert, action)

    async def forward(
        self, data: Sequence[Datum], loss_fn: LossName = "cross_entropy"
    ) -> TinkerPending[ForwardBackwardOutput]:
        batch = [cv.datum_to_tinker(d) for d in data]
        return self._submit(
            "forward", lambda: self.sdk.forward(batch, loss_fn), cv.fwdbwd_output_from_tinker
        )

    async def forward_backward(
        self,
        data: Sequence[Datum],
        loss_fn: LossName,
        loss_fn_config: Mapping[str, float] | None = None,
    ) -> TinkerPending[ForwardBackwardOutput]:
        batch = [cv.datum_to_tinker(d) for d in data]
        config = cv.loss_fn_config_to_tinker(loss_fn_config)
        return self._submit(
            "forward_backward",
            lambda: self.sdk.forward_backward(batch, loss_fn, config),
            cv.fwdbwd_output_from_tinker,
        )

    async def forward_backward_custom(
        self, data: Sequence[Datum], loss_fn: CustomLossFn
    ) -> TinkerPending[ForwardBackwardOutput]:
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
        return self._submit(
            "optim_step", lambda: self.sdk.optim_step(adam), cv.optim_output_from_tinker
        )

    async def save_state(self, name: str, *, ttl_seconds: int | None = None) -> TinkerPending[str]:
        """Save weights and optimizer state; `ttl_seconds` lets the service expire the checkpoint."""
        return self._submit(
            "save_state",
            lambda: self.sdk.save_state(name, ttl_seconds=ttl_seconds),
            lambda r: str(r.path),
        )

    async def load_state(self, path: str, *, with_optimizer: bool = True) -> TinkerPending[None]:
        """Continue on a new SDK run created from the checkpoint at `path`.

        The SDK retired loading into a live run (`TrainingClient.load_state*`); its
        replacement, `ServiceClient.create_training_client_from_state*`, starts a run
        from the checkpoint. This client moves onto that run before returning, so every
        request queued after this call trains the loaded weights; `info().model_id`
        names the new run.
        """
        self._check_open()
        restored = await self._service.create_training_client_from_state(
            path, with_optimizer=with_optimizer
        )
        self.sdk, self._info = restored.sdk, restored._info
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return TinkerPending(done, lambda _: None, "load_state")

    async def save_weights_for_sampler(
        self, name: str, *, ttl_seconds: int | None = None
    ) -> TinkerPending[str]:
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
                sdk_sampler = await self._service.sdk_client().create_sampling_client(
                    model_path=path
                )
        except BackendError:
            raise
        except Exception as exc:
            raise to_backend_error(exc, "sampling_client") from exc
        return TinkerSamplingClient(sdk_sampler, self.tokenizer)

    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = self._service.tokenizer_for(
                self._info.base_model, self._info.tokenizer_id
            )
        return self._tokenizer

    async def info(self) -> TrainingInfo:
        return self._info

    async def close(self) -> None:
        """The SDK has no per-run close; further calls through this client are refused."""
        self._closed = True
