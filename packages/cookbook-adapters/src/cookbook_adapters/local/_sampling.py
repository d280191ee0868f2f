"""`LocalSamplingClient`: samples from one fixed set of weights on this machine."""

from __future__ import annotations

from typing import Any

import torch
from cookbook_runtime.train.tokenizer import Tokenizer
from cookbook_runtime.train.types import ModelInput, SampleResult, SamplingParams

from cookbook_adapters.local._generate import GenerationLimits, generate
from cookbook_adapters.local._worker import Worker

__all__ = ["LocalSamplingClient"]


class LocalSamplingClient:
    """Samples completions and scores prompts with a frozen model, on its own worker thread."""

    def __init__(self, model: Any, tokenizer: Any, *, model_path: str | None = None) -> None:
        self._model = model.eval()
        self._tokenizer = tokenizer
        self.model_path = model_path
        self._worker = Worker("cookbook-sampler")
        eos = tokenizer.eos_token_id
        config = getattr(model, "config", None)
        max_context = int(getattr(config, "max_position_embeddings", 2048) or 2048)
        self._limits = GenerationLimits(frozenset({eos} if eos is not None else ()), max_context)

    async def sample(
        self, prompt: ModelInput, num_samples: int, params: SamplingParams
    ) -> SampleResult:
        ids = prompt.to_ints()

        def run() -> SampleResult:
            seqs = generate(self._model, ids, num_samples, params, self._limits, self._decode)
            return SampleResult(seqs)

        return await self._worker.run(run)

    async def compute_logprobs(self, prompt: ModelInput) -> list[float | None]:
        ids = prompt.to_ints()

        @torch.inference_mode()
        def run() -> list[float | None]:
            if len(ids) < 2:
                return [None] * len(ids)
            device = next(self._model.parameters()).device
            x = torch.tensor([ids], dtype=torch.long, device=device)
            logits = self._model(input_ids=x[:, :-1], use_cache=False).logits.float()
            lp = torch.log_softmax(logits, dim=-1).gather(-1, x[:, 1:].unsqueeze(-1)).squeeze(-1)
            values: list[float | None] = [None]
            values.extend(lp[0].tolist())
            return values

        return await self._worker.run(run)

    def _decode(self, ids: list[int]) -> str:
        text: str = self._tokenizer.decode(ids, skip_special_tokens=False)
        return text

    def tokenizer(self) -> Tokenizer:
        tok: Tokenizer = self._tokenizer
        return tok

    async def close(self) -> None:
        self._worker.close()
