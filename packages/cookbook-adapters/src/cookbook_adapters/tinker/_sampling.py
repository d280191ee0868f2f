"""The `SamplingClient` port over an SDK `SamplingClient`."""

from __future__ import annotations

from collections.abc import Callable

import tinker
from cookbook_runtime.errors import BackendError
from cookbook_runtime.train.tokenizer import Tokenizer
from cookbook_runtime.train.types import ModelInput, SampleResult, SamplingParams, TensorData

from cookbook_adapters.tinker import _convert as cv
from cookbook_adapters.tinker._errors import to_backend_error

__all__ = ["TinkerSamplingClient"]


class TinkerSamplingClient:
    """Samples through an SDK `SamplingClient`."""

    def __init__(self, sdk: tinker.SamplingClient, tokenizer: Callable[[], Tokenizer]) -> None:
        self._sdk: tinker.SamplingClient | None = sdk
        self._tokenizer = tokenizer

    @property
    def sdk(self) -> tinker.SamplingClient:
        """The SDK client; a `BackendError` once this client is closed."""
        if self._sdk is None:
            raise BackendError("this Tinker sampling client is closed; create a new one")
        return self._sdk

    async def sample(
        self,
        prompt: ModelInput,
        num_samples: int,
        params: SamplingParams,
        *,
        include_prompt_logprobs: bool = False,
        topk_prompt_logprobs: int = 0,
        topk_sample_logprobs: int = 0,
        target_prompt_logprobs: TensorData | None = None,
        prompt_alt_tokens_k: int = 0,
    ) -> SampleResult:
        sdk = self.sdk
        try:
            response = await sdk.sample(
                cv.model_input_to_tinker(prompt),
                num_samples,
                cv.sampling_params_to_tinker(params),
                include_prompt_logprobs=include_prompt_logprobs,
                topk_prompt_logprobs=topk_prompt_logprobs,
                topk_sample_logprobs=topk_sample_logprobs,
                target_prompt_logprobs=None
                if target_prompt_logprobs is None
                else cv.tensor_to_tinker(target_prompt_logprobs),
                prompt_alt_tokens_k=prompt_alt_tokens_k,
            )
        except Exception as exc:
            raise to_backend_error(exc, "sample") from exc
        return cv.sample_result_from_tinker(response)

    async def compute_logprobs(self, prompt: ModelInput) -> list[float | None]:
        sdk = self.sdk
        try:
            values = await sdk.compute_logprobs(cv.model_input_to_tinker(prompt))
        except Exception as exc:
            raise to_backend_error(exc, "compute_logprobs") from exc
        return [None if v is None else float(v) for v in values]

    def tokenizer(self) -> Tokenizer:
        return self._tokenizer()

    async def close(self) -> None:
        """Drop the SDK client (the service keeps no per-client state to free)."""
        self._sdk = None
