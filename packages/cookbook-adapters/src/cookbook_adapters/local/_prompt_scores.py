"""Prompt logprobs and top-k prompt logprobs from one prompt's prefill logits.

Sampling already runs the prompt through the model once; its logits at position
`t - 1` are the distribution over token `t`, so scoring the prompt costs a
log-softmax, not another forward. Off-policy distillation reads the top-k rows as
soft targets.
"""

from __future__ import annotations

import torch

__all__ = ["TopkRows", "prompt_scores"]

TopkRows = list[list[tuple[int, float]] | None]
"""Per prompt position, the `k` most likely `(token, logprob)` pairs (None at position 0)."""


def prompt_scores(
    logits: torch.Tensor, prompt: list[int], include_logprobs: bool, topk: int
) -> tuple[list[float | None] | None, TopkRows | None]:
    """`(prompt_logprobs, topk_prompt_logprobs)` from `[len(prompt), vocab]` logits; None where not asked."""
    logp = torch.log_softmax(logits[:-1].float(), dim=-1)
    values: list[float | None] | None = None
    if include_logprobs:
        targets = torch.tensor(prompt[1:], dtype=torch.long, device=logp.device)
        values = [None]
        values.extend(logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1).tolist())
    rows: TopkRows | None = None
    if topk > 0:
        k = min(topk, logp.shape[-1])
        top = torch.topk(logp, k, dim=-1)
        rows = [None]
        for ids, lps in zip(top.indices.tolist(), top.values.tolist(), strict=True):
            rows.append(list(zip(ids, lps, strict=True)))
    return values, rows
