"""Batched autoregressive sampling with a KV cache, for the local sampling client.

All `num_samples` completions of one prompt run as one batch: the prompt is
encoded once and its KV cache repeated per row, then one token per step for every
row. Stop tokens are kept as the last token of a completion.
Logprobs reported are the model's own (temperature 1, before top-k/top-p), which
is what RL losses compare training logprobs against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from cookbook_runtime.train.types import SampledSequence, SamplingParams

__all__ = ["GenerationLimits", "generate"]


@dataclass(frozen=True)
class GenerationLimits:
    """Token ids that end a completion, and the context bound."""

    stop_ids: frozenset[int]
    max_context: int


def _filter_logits(logits: torch.Tensor, params: SamplingParams) -> torch.Tensor:
    if params.top_k > 0 and params.top_k < logits.shape[-1]:
        kth = torch.topk(logits, params.top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if params.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        probs = torch.softmax(sorted_logits, dim=-1)
        drop = probs.cumsum(dim=-1) - probs > params.top_p  # keep the token that crosses top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    return logits


def _ends_with_stop(text: str, stops: Sequence[str]) -> bool:
    return any(s and s in text for s in stops)


@torch.inference_mode()
def generate(
    model: torch.nn.Module,
    prompt: list[int],
    num_samples: int,
    params: SamplingParams,
    limits: GenerationLimits,
    decode: Callable[[list[int]], str],
) -> list[SampledSequence]:
    """Sample `num_samples` completions of `prompt`; `decode(ids) -> str` checks stop strings."""
    device = next(model.parameters()).device
    stop_strings = [s for s in (params.stop or []) if isinstance(s, str)]
    stop_ids = set(limits.stop_ids) | {s for s in (params.stop or []) if isinstance(s, int)}
    budget = params.max_tokens or 256
    budget = max(1, min(budget, limits.max_context - len(prompt)))
    generator = torch.Generator(device=device)
    if params.seed is not None:
        generator.manual_seed(params.seed)
    else:
        generator.seed()

    out = model(input_ids=torch.tensor([prompt], dtype=torch.long, device=device), use_cache=True)
    past = out.past_key_values
    logits = out.logits[:, -1, :].float().expand(num_samples, -1)
    if num_samples > 1:
        if hasattr(past, "batch_repeat_interleave"):  # encode the prompt once, share it
            past.batch_repeat_interleave(num_samples)
        else:
            ids = torch.tensor([prompt] * num_samples, dtype=torch.long, device=device)
            out = model(input_ids=ids, use_cache=True)
            past = out.past_key_values
            logits = out.logits[:, -1, :].float()
    tokens: list[list[int]] = [[] for _ in range(num_samples)]
    logprobs: list[list[float]] = [[] for _ in range(num_samples)]
    running = [True] * num_samples
    reasons = ["length"] * num_samples
    for _ in range(budget):
        logp = torch.log_softmax(logits, dim=-1)
        if params.temperature == 0:
            nxt = logits.argmax(dim=-1)
        else:
            probs = torch.softmax(_filter_logits(logits / params.temperature, params), dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
        chosen = logp.gather(-1, nxt.unsqueeze(-1)).squeeze(-1).tolist()
        for row, (tok, lp) in enumerate(zip(nxt.tolist(), chosen, strict=True)):
            if not running[row]:
                continue
            tokens[row].append(tok)
            logprobs[row].append(lp)
            if tok in stop_ids or (
                stop_strings and _ends_with_stop(decode(tokens[row]), stop_strings)
            ):
                running[row] = False
                reasons[row] = "stop"
        if not any(running):
            break
        out = model(input_ids=nxt.unsqueeze(-1), past_key_values=past, use_cache=True)
        past = out.past_key_values
        logits = out.logits[:, -1, :].float()
    return [
        SampledSequence(t, lp, "stop" if r == "stop" else "length")
        for t, lp, r in zip(tokens, logprobs, reasons, strict=True)
    ]
