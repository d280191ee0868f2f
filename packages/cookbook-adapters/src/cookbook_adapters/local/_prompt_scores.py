"""What a sample request asks about its prompt, from that prompt's prefill logits.

Sampling already runs the prompt through the model once; its logits at position
`t - 1` are the distribution over token `t`, so scoring the prompt costs a
log-softmax, not another forward. From that one log-softmax come the prompt
logprobs, the top-k rows (off-policy distillation's soft targets), the logprobs
of requested target ids, and alternative tokens drawn at every position.

Every logprob is the model's own (temperature 1, before top-k/top-p), the scale
sampled tokens' logprobs are reported on; alternatives are drawn at the request's
temperature (greedy at 0; its top-k and top-p do not apply, as in Tinker) from a
generator of their own, so asking for them never changes what the request samples.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from cookbook_runtime.train.types import PromptAltTokens, TensorData

__all__ = ["PromptAsk", "PromptScores", "TopkRows", "inverse_cdf", "prompt_scores"]

TopkRows = list[list[tuple[int, float]] | None]
"""Per position, the `k` most likely `(token, logprob)` pairs (None where nothing was scored)."""


@dataclass(frozen=True)
class PromptAsk:
    """What one request wants about its prompt; `targets` is `[len(prompt) - 1, K]` ids (-1: none)."""

    logprobs: bool = False
    topk: int = 0
    targets: TensorData | None = None
    alt_k: int = 0
    temperature: float = 1.0
    seed: int | None = None

    @property
    def any(self) -> bool:
        return self.logprobs or self.topk > 0 or self.targets is not None or self.alt_k > 0


@dataclass(frozen=True)
class PromptScores:
    """The answers to a `PromptAsk`; each None when not asked."""

    logprobs: list[float | None] | None = None
    topk: TopkRows | None = None
    targets: TensorData | None = None
    alternatives: PromptAltTokens | None = None


def inverse_cdf(probs: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """Draws from each row of `probs` (`[rows, vocab]`), one per uniform in [0, 1) (`[rows, n]`).

    The first token whose cumulative mass exceeds `u * total`: a token of zero
    probability never is. One uniform per draw, where `torch.multinomial` spends a
    random number per vocabulary entry (most of a decode step on a small model).
    """
    cdf = probs.double().cumsum(dim=-1)
    target = uniforms.double() * cdf[:, -1:]
    picked = torch.searchsorted(cdf, target.contiguous(), right=True)
    return picked.clamp_(max=probs.shape[-1] - 1)


def topk_rows(logp: torch.Tensor, k: int) -> list[list[tuple[int, float]]]:
    """The `k` most likely `(token, logprob)` pairs of each row of `logp`, most likely first."""
    top = torch.topk(logp, min(k, logp.shape[-1]), dim=-1)
    return [
        list(zip(ids, lps, strict=True))
        for ids, lps in zip(top.indices.tolist(), top.values.tolist(), strict=True)
    ]


def _alt_generator(seed: int | None, device: torch.device) -> torch.Generator:
    """A generator for alternative draws: derived from the request's seed, apart from its sampling stream."""
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        digest = hashlib.sha256(f"prompt-alt-tokens:{seed}".encode()).digest()
        generator.manual_seed(int.from_bytes(digest[:8], "big") >> 1)
    return generator


def _alternatives(logits: torch.Tensor, logp: torch.Tensor, ask: PromptAsk) -> PromptAltTokens:
    rows, k = logp.shape[0], ask.alt_k
    if ask.temperature == 0:
        ids = logits.argmax(dim=-1, keepdim=True).expand(rows, k)
    else:
        probs = torch.softmax(logits.float() / ask.temperature, dim=-1)
        uniforms = torch.rand(
            rows, k, generator=_alt_generator(ask.seed, logits.device), device=logits.device
        )
        ids = inverse_cdf(probs, uniforms)
    lps = logp.gather(-1, ids)
    shape = (rows, k)
    return PromptAltTokens(
        TensorData(tuple(ids.reshape(-1).tolist()), "int64", shape),
        TensorData(tuple(lps.reshape(-1).tolist()), "float32", shape),
    )


def _targets(logp: torch.Tensor, targets: TensorData) -> TensorData:
    ids = torch.tensor(targets.data, dtype=torch.long, device=logp.device).reshape(targets.shape)
    lps = logp.gather(-1, ids.clamp(min=0)).masked_fill(ids < 0, 0.0)
    return TensorData(tuple(lps.reshape(-1).tolist()), "float32", targets.shape)


def prompt_scores(logits: torch.Tensor, prompt: list[int], ask: PromptAsk) -> PromptScores:
    """Answer `ask` from `[len(prompt), vocab]` prefill logits."""
    if len(prompt) < 2:
        empty = TensorData((), "float32", (0, ask.alt_k))
        return PromptScores(
            [None] * len(prompt) if ask.logprobs else None,
            [None] * len(prompt) if ask.topk > 0 else None,
            None if ask.targets is None else TensorData((), "float32", ask.targets.shape),
            PromptAltTokens(TensorData((), "int64", (0, ask.alt_k)), empty) if ask.alt_k else None,
        )
    next_logits = logits[:-1].float()
    logp = torch.log_softmax(next_logits, dim=-1)
    values: list[float | None] | None = None
    if ask.logprobs:
        ids = torch.tensor(prompt[1:], dtype=torch.long, device=logp.device)
        values = [None]
        values.extend(logp.gather(-1, ids.unsqueeze(-1)).squeeze(-1).tolist())
    rows: TopkRows | None = None
    if ask.topk > 0:
        rows = [None]
        rows.extend(topk_rows(logp, ask.topk))
    return PromptScores(
        values,
        rows,
        None if ask.targets is None else _targets(logp, ask.targets),
        _alternatives(next_logits, logp, ask) if ask.alt_k > 0 else None,
    )
