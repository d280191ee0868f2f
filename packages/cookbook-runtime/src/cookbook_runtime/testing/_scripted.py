"""`ScriptedSamplingClient`: a sampler whose replies to each user prompt are given.

Grading and pass@k need answers known in advance, which a random fake cannot give.
Replies are tokenized exactly as the renderer would render that assistant turn, so
the evaluator's parse step sees what a real model's reply would look like. The
i-th sample of a prompt is the i-th scripted reply (cycled); `calls` records
`(prompt text, num_samples, params)` of every request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cookbook_runtime.errors import BackendError
from cookbook_runtime.testing._tokenizer import ByteTokenizer
from cookbook_runtime.types import ModelInput, SampledSequence, SampleResult, SamplingParams

__all__ = ["ScriptedSamplingClient"]


class ScriptedSamplingClient:
    """Answers each known user prompt with its scripted replies, in order."""

    def __init__(self, renderer: Any, replies: Mapping[str, str | Sequence[str]], tokenizer: ByteTokenizer | None = None) -> None:
        self._tokenizer = tokenizer or ByteTokenizer()
        self._replies: dict[tuple[int, ...], tuple[str, list[list[int]]]] = {}
        for user, scripted in replies.items():
            texts = [scripted] if isinstance(scripted, str) else list(scripted)
            messages = [{"role": "user", "content": user}]
            prompt = renderer.build_generation_prompt(messages).to_ints()
            encoded = []
            for text in texts:
                full, _ = renderer.build_supervised_example([*messages, {"role": "assistant", "content": text}])
                encoded.append(full.to_ints()[len(prompt) :])
            self._replies[tuple(prompt)] = (user, encoded)
        self.calls: list[tuple[str, int, SamplingParams]] = []
        self.closed = False

    async def sample(self, prompt: ModelInput, num_samples: int, params: SamplingParams) -> SampleResult:
        if self.closed:
            raise BackendError("sampling client is closed; create a new one")
        key = tuple(prompt.to_ints())
        if key not in self._replies:
            raise BackendError("scripted sampler has no reply for this prompt")
        user, encoded = self._replies[key]
        self.calls.append((user, num_samples, params))
        sequences = [encoded[i % len(encoded)] for i in range(num_samples)]
        return SampleResult([SampledSequence(s, [0.0] * len(s), "stop") for s in sequences])

    async def compute_logprobs(self, prompt: ModelInput) -> list[float | None]:
        return [None] + [0.0] * (prompt.length - 1)

    def tokenizer(self) -> ByteTokenizer:
        return self._tokenizer

    async def close(self) -> None:
        self.closed = True
