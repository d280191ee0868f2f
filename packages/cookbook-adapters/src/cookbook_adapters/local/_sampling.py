"""`LocalSamplingClient`: samples from one fixed set of weights on this machine.

`sample` calls that arrive together (an RL loop gathers one per prompt) are run
as one batch: each call queues its request, and one worker job takes every
request queued by the time it starts (see `_generate.generate_batch`), so 64
concurrent prompts cost one prefill and one forward per decoded token, not 64.

Its model is either loaded from saved sampler weights or a snapshot of a training
client's model that shares the frozen base tensors (see `snapshot_model`). `close()`
drops the model after queued requests finish, so a loop that refreshes its sampler
every iteration does not grow in memory.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import torch
from cookbook_runtime.errors import BackendError, ConfigError, DataError
from cookbook_runtime.train.tokenizer import Tokenizer
from cookbook_runtime.train.types import ModelInput, SampleResult, SamplingParams, TensorData

from cookbook_adapters.local._generate import GenerationLimits, SampleRequest, generate_batch
from cookbook_adapters.local._worker import Worker

__all__ = ["MAX_PROMPT_CELLS", "LocalSamplingClient", "snapshot_model"]

MAX_PROMPT_CELLS = 1 << 24
"""The most target ids, or alternative draws, one request may ask for over its prompt."""


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
        max_batch_rows: int = 256,
        max_batch_tokens: int = 32768,
    ) -> None:
        self._model = model.eval()
        self.max_batch_rows = max_batch_rows
        """A batch stops taking requests at this many completions (one at least)..."""
        self.max_batch_tokens = max_batch_tokens
        """...or at this many padded prompt tokens, which bound its prefill's logits."""
        self._tokenizer = tokenizer
        self.model_path = model_path
        self.on_close = on_close
        self.closed = False
        self._worker = Worker("cookbook-sampler")
        eos = tokenizer.eos_token_id
        config = getattr(model, "config", None)
        max_context = int(getattr(config, "max_position_embeddings", 2048) or 2048)
        self._vocab_size = int(getattr(config, "vocab_size", 0) or 0)
        self._limits = GenerationLimits(frozenset({eos} if eos is not None else ()), max_context)
        self._lock = threading.Lock()
        self._pending: list[tuple[SampleRequest, Future[SampleResult]]] = []
        self._flush_scheduled = False
        self.recent_batches: deque[tuple[int, int]] = deque(maxlen=64)
        """`(requests, rows)` of the latest batched generations, newest last."""

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
        if self.closed:
            raise BackendError("this local client is closed; create a new one")
        ids = prompt.to_ints()
        if not ids:
            raise DataError("sample got an empty prompt; pass at least one token")
        if num_samples < 1:
            raise ConfigError(f"num_samples is {num_samples}; ask for at least 1")
        for name, value in (
            ("topk_prompt_logprobs", topk_prompt_logprobs),
            ("topk_sample_logprobs", topk_sample_logprobs),
            ("prompt_alt_tokens_k", prompt_alt_tokens_k),
        ):
            if value < 0:
                raise ConfigError(f"{name} is {value}; use 0 (off) or k > 0")
        if target_prompt_logprobs is not None:
            self._check_targets(target_prompt_logprobs, len(ids))
        cells = (len(ids) - 1) * prompt_alt_tokens_k
        if cells > MAX_PROMPT_CELLS:
            raise ConfigError(
                f"prompt_alt_tokens_k={prompt_alt_tokens_k} over {len(ids) - 1} prompt positions is "
                f"{cells} draws, over the {MAX_PROMPT_CELLS} one request may ask for; lower k"
            )
        request = SampleRequest(
            ids,
            num_samples,
            params,
            include_prompt_logprobs,
            topk_prompt_logprobs,
            topk_sample_logprobs,
            target_prompt_logprobs,
            prompt_alt_tokens_k,
        )
        future: Future[SampleResult] = Future()
        with self._lock:
            self._pending.append((request, future))
            schedule = not self._flush_scheduled
            self._flush_scheduled = True
        if schedule:  # after the other callers of this loop turn have queued theirs
            asyncio.get_running_loop().call_soon(self._flush)
        return await asyncio.shield(asyncio.wrap_future(future))

    def _check_targets(self, targets: TensorData, prompt_length: int) -> None:
        """Refuse a target-id tensor that is not int64 `[len(prompt) - 1, K]` ids in the vocabulary."""
        want = f"[{prompt_length - 1}, K]"
        if len(targets.data) > MAX_PROMPT_CELLS:
            raise ConfigError(
                f"target_prompt_logprobs has {len(targets.data)} cells, over the {MAX_PROMPT_CELLS} "
                "one request may ask for; send fewer ids per position"
            )
        if targets.dtype != "int64" or len(targets.shape) != 2 or targets.shape[0] != prompt_length - 1:
            raise ConfigError(
                f"target_prompt_logprobs is {targets.dtype} of shape {list(targets.shape)}; "
                f"send int64 token ids of shape {want} (row i scores prompt position i + 1)"
            )
        bad = [int(t) for t in targets.data if t < -1 or (self._vocab_size and t >= self._vocab_size)]
        if bad:
            raise ConfigError(
                f"target_prompt_logprobs holds id {bad[0]}, outside the vocabulary "
                f"(0..{self._vocab_size - 1}); use -1 for a cell that asks for nothing"
            )

    def _flush(self) -> None:
        with self._lock:
            self._flush_scheduled = False
        try:
            self._worker.submit(self._run_pending)
        except BackendError as exc:
            self._fail_pending(exc)

    def _run_pending(self) -> None:
        """On the worker: generate the queued requests as one batch, leaving any over the bounds
        for a job queued behind this one."""
        with self._lock:
            batch = self._take()
            self._pending = self._pending[len(batch) :]
            more = bool(self._pending)
        if more:
            try:
                self._worker.submit(self._run_pending)
            except BackendError as exc:
                self._fail_pending(exc)
        if not batch:
            return
        try:
            if self._model is None:
                raise BackendError("this local client is closed; create a new one")
            requests = [r for r, _ in batch]
            results = generate_batch(self._model, requests, self._limits, self._decode)
            self.recent_batches.append((len(requests), sum(r.num_samples for r in requests)))
        except BaseException as exc:
            for _, f in batch:
                if not f.done():
                    f.set_exception(exc)
            return
        for (_, f), res in zip(batch, results, strict=True):
            if not f.done():
                f.set_result(res)

    def _take(self) -> list[tuple[SampleRequest, Future[SampleResult]]]:
        """The longest prefix of the queue within `max_batch_rows` and `max_batch_tokens`."""
        rows = width = 0
        taken: list[tuple[SampleRequest, Future[SampleResult]]] = []
        for item in self._pending:
            request = item[0]
            rows += request.num_samples
            width = max(width, len(request.prompt))
            over = rows > self.max_batch_rows or (len(taken) + 1) * width > self.max_batch_tokens
            if taken and over:
                break
            taken.append(item)
        return taken

    def _fail_pending(self, exc: BaseException) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        for _, f in batch:
            if not f.done():
                f.set_exception(exc)

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
        self._fail_pending(BackendError("this local client was closed before the request ran"))
        self._worker.submit(self._release)
        self._worker.close()
        if self.on_close is not None:
            self.on_close(self)
