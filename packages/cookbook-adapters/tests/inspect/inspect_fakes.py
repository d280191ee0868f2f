"""Sampling-client fakes for the inspect adapter's tests: canned replies, and a recorder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cookbook_runtime.types import ModelInput, SampledSequence, SampleResult, SamplingParams

TASK = "cookbook_adapters.inspect.tasks.tiny_chat:tiny_chat_exact"


class CannedSampler:
    """Answers every prompt with the same token sequences (cycled) and records each request."""

    def __init__(self, tokenizer: Any, replies: Sequence[Sequence[int]], *, stop_reason: str = "stop") -> None:
        self._tokenizer = tokenizer
        self.replies = [list(r) for r in replies]
        self.stop_reason = stop_reason
        self.calls: list[tuple[list[int], int, SamplingParams]] = []

    async def sample(self, prompt: ModelInput, num_samples: int, params: SamplingParams) -> SampleResult:
        self.calls.append((prompt.to_ints(), num_samples, params))
        seqs = [self.replies[i % len(self.replies)] for i in range(num_samples)]
        return SampleResult([SampledSequence(s, [0.0] * len(s), self.stop_reason) for s in seqs])  # type: ignore[arg-type]

    async def compute_logprobs(self, prompt: ModelInput) -> list[float | None]:
        return [None] + [0.0] * (prompt.length - 1)

    def tokenizer(self) -> Any:
        return self._tokenizer

    async def close(self) -> None:
        pass


class Recording:
    """Wraps a sampling client and records `(prompt tokens, num_samples, params)` of each request."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[list[int], int, SamplingParams]] = []

    async def sample(self, prompt: ModelInput, num_samples: int, params: SamplingParams) -> SampleResult:
        self.calls.append((prompt.to_ints(), num_samples, params))
        return await self.inner.sample(prompt, num_samples, params)  # type: ignore[no-any-return]

    async def compute_logprobs(self, prompt: ModelInput) -> list[float | None]:
        return await self.inner.compute_logprobs(prompt)  # type: ignore[no-any-return]

    def tokenizer(self) -> Any:
        return self.inner.tokenizer()

    async def close(self) -> None:
        await self.inner.close()

