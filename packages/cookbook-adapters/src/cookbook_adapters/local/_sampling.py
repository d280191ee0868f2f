"""`LocalSamplingClient`: samples from one fixed set of weights on this machine.

Its model is either loaded from saved sampler weights or a snapshot of a training
client's model that shares the frozen base tensors (see `snapshot_model`). `close()`
drops the model after queued requests finish, so a loop that refreshes its sampler
every iteration does not grow in memory.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from cookbook_runtime.train.tokenizer import Tokenizer
from cookbook_runtime.train.types import ModelInput, SampleResult, SamplingParams

from cookbook_adapters.local._generate import GenerationLimits, generate
from cookbook_adapters.local._worker import Worker

__all__ = ["LocalSamplingClient", "snapshot_model"]


def snapshot_model(model: torch.nn.Module) -> torch.nn.Module:
    """A frozen copy of `model` whose trainable tensors are copied and frozen tensors shared.

    For LoRA only the adapter factors are copied (the base weights are the training
    model's own tensors, never written); at rank 0 every weight is trainable, so the
    snapshot is a full copy. Later optimizer steps on `model` do not change it.
    """
    shared: dict[int, Any] = {id(p): p for p in model.parameters() if not p.requires_grad}
    with torch.no_grad():
        snap: torch.nn.Module = copy.deepcopy(model, shared)
    for p in snap.parameters():
        p.grad = None
        p.requires_grad_(False)
    return snap.eval()


class LocalSamplingClient:
    """Samples completions and scores prompts with a frozen model, on its own worker thread."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        model_path: str | None = None,
        on_close: Callable[[LocalSamplingClient], None] | None = None,
    ) -> None:
        self._model = model.eval()
        self._tokenizer = tokenizer
        self.model_path = model_path
        self.on_close = on_close
        self.closed = False
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

    def _release(self) -> None:
        self._model = None

    async def close(self) -> None:
        """Refuse new requests, drop the model once queued ones finish, and leave the service's list."""
        if self.closed:
            return
        self.closed = True
        self._worker.submit(self._release)
        self._worker.close()
        if self.on_close is not None:
            self.on_close(self)
