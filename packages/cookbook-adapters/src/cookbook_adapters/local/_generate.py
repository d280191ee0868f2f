"""Batched autoregressive sampling with a KV cache, for the local sampling client.

Many requests (prompt, `num_samples`, params) run as one batch: the prompts are
left-padded into one prefill (an attention mask hides the padding and position
ids restart at each row's first real token, so a row computes what it would
alone), the KV cache is then repeated per sample, and each step decodes one token
for every row. Stop tokens are kept as the last token of a completion.

A request with a seed draws its tokens from its own generator (one uniform per
row and step, turned into a token by the inverse CDF) over all of its rows every
step, exactly as it would alone, so batching never changes what a
seeded request samples; a request leaves the batch only when all its rows are done.
Logprobs reported are the model's own (temperature 1, before top-k/top-p), which
is what RL losses compare training logprobs against; so are a step's top-k rows
(`topk_sample_logprobs`), taken from the same log-softmax as the sampled token's.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from cookbook_runtime.train.types import SampledSequence, SampleResult, SamplingParams, TensorData

from cookbook_adapters.local._prompt_scores import (
    PromptAsk,
    PromptScores,
    TopkRows,
    inverse_cdf,
    prompt_scores,
    topk_rows,
)

__all__ = ["GenerationLimits", "SampleRequest", "generate", "generate_batch"]


@dataclass(frozen=True)
class GenerationLimits:
    """Token ids that end a completion, and the context bound."""

    stop_ids: frozenset[int]
    max_context: int


@dataclass(frozen=True)
class SampleRequest:
    """One `sample` call: a prompt, how many completions, and what to return about the prompt."""

    prompt: list[int]
    num_samples: int
    params: SamplingParams
    prompt_logprobs: bool = False
    topk_prompt_logprobs: int = 0
    topk_sample_logprobs: int = 0
    target_prompt_logprobs: TensorData | None = None
    prompt_alt_tokens_k: int = 0

    @property
    def ask(self) -> PromptAsk:
        """What this request wants computed from its prompt's prefill."""
        return PromptAsk(
            self.prompt_logprobs,
            self.topk_prompt_logprobs,
            self.target_prompt_logprobs,
            self.prompt_alt_tokens_k,
            self.params.temperature,
            self.params.seed,
        )


@dataclass
class _Active:
    """A request's rows while it decodes; `offset` is its first row in the current batch."""

    index: int
    request: SampleRequest
    budget: int
    stop_ids: set[int]
    stop_strings: list[str]
    generator: torch.Generator
    seeded: bool
    offset: int = 0
    tokens: list[list[int]] = field(default_factory=list)
    logprobs: list[list[float]] = field(default_factory=list)
    topk: list[TopkRows] = field(default_factory=list)
    stopped: list[bool] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return all(
            s or len(t) >= self.budget for s, t in zip(self.stopped, self.tokens, strict=True)
        )


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


def _group_key(params: SamplingParams) -> tuple[float, int, float]:
    return (params.temperature, params.top_k, params.top_p)


def _activate(
    index: int, request: SampleRequest, limits: GenerationLimits, device: torch.device
) -> _Active:
    params = request.params
    budget = max(1, min(params.max_tokens or 256, limits.max_context - len(request.prompt)))
    generator = torch.Generator(device=device)
    if params.seed is not None:
        generator.manual_seed(params.seed)
    else:
        generator.seed()
    n = request.num_samples
    return _Active(
        index,
        request,
        budget,
        set(limits.stop_ids) | {s for s in (params.stop or []) if isinstance(s, int)},
        [s for s in (params.stop or []) if isinstance(s, str)],
        generator,
        params.seed is not None,
        tokens=[[] for _ in range(n)],
        logprobs=[[] for _ in range(n)],
        topk=[[] for _ in range(n)],
        stopped=[False] * n,
    )


def _draw(logits: torch.Tensor, active: list[_Active]) -> torch.Tensor:
    """The next token of every row: rows with equal filters share one softmax, each request its generator."""
    nxt = torch.empty(logits.shape[0], dtype=torch.long, device=logits.device)
    start = 0
    while start < len(active):
        end = start
        key = _group_key(active[start].request.params)
        while end < len(active) and _group_key(active[end].request.params) == key:
            end += 1
        group = active[start:end]
        lo = group[0].offset
        hi = group[-1].offset + group[-1].request.num_samples
        params = group[0].request.params
        if params.temperature == 0:
            nxt[lo:hi] = logits[lo:hi].argmax(dim=-1)
        else:
            probs = torch.softmax(
                _filter_logits(logits[lo:hi] / params.temperature, params), dim=-1
            )
            uniforms = torch.cat(
                [
                    torch.rand(
                        a.request.num_samples, 1, generator=a.generator, device=logits.device
                    )
                    for a in group
                ]
            )
            nxt[lo:hi] = inverse_cdf(probs, uniforms).squeeze(-1)
        start = end
    return nxt


def _record(
    a: _Active,
    toks: list[int],
    lps: list[float],
    top: list[list[tuple[int, float]]] | None,
    decode: Callable[[list[int]], str],
) -> None:
    k = a.request.topk_sample_logprobs
    for j in range(a.request.num_samples):
        if a.stopped[j] or len(a.tokens[j]) >= a.budget:
            continue
        tok = toks[a.offset + j]
        a.tokens[j].append(tok)
        a.logprobs[j].append(lps[a.offset + j])
        if k > 0 and top is not None:
            a.topk[j].append(top[a.offset + j][:k])
        if tok in a.stop_ids or (
            a.stop_strings and _ends_with_stop(decode(a.tokens[j]), a.stop_strings)
        ):
            a.stopped[j] = True


def _left_pad(prompts: list[list[int]], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """`(ids, mask)`, `[rows, width]`: each prompt right-aligned, mask 1 on its real tokens."""
    width = max(len(p) for p in prompts)
    ids = torch.zeros((len(prompts), width), dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, p in enumerate(prompts):
        ids[row, width - len(p) :] = torch.tensor(p, dtype=torch.long)
        mask[row, width - len(p) :] = 1
    return ids.to(device), mask.to(device)


def _compact(active: list[_Active]) -> torch.Tensor:
    """Renumber `active`'s rows from 0, in order; returns the old rows they come from."""
    rows: list[int] = []
    for a in active:
        rows.extend(range(a.offset, a.offset + a.request.num_samples))
    offset = 0
    for a in active:
        a.offset, offset = offset, offset + a.request.num_samples
    return torch.tensor(rows, dtype=torch.long)


@functools.cache
def _takes_logits_to_keep(forward: Callable[..., object]) -> bool:
    return "logits_to_keep" in inspect.signature(forward).parameters


@torch.inference_mode()
def generate_batch(
    model: torch.nn.Module,
    requests: Sequence[SampleRequest],
    limits: GenerationLimits,
    decode: Callable[[list[int]], str],
) -> list[SampleResult]:
    """Sample every request in one batch; results in request order. `decode` checks stop strings."""
    device = next(model.parameters()).device
    # Requests with equal filters sit side by side, so each step filters them together.
    order = sorted(range(len(requests)), key=lambda i: _group_key(requests[i].params))
    everyone = [_activate(i, requests[i], limits, device) for i in order]
    ids, mask = _left_pad([a.request.prompt for a in everyone], device)
    width = ids.shape[1]
    padded = bool((mask == 0).any())
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    scored = [a for a in everyone if a.request.ask.any]
    extra = (
        {}
        if not _takes_logits_to_keep(type(model).forward)
        else {"logits_to_keep": 0 if scored else 1}
    )
    out = model(
        input_ids=ids,
        attention_mask=mask if padded else None,
        position_ids=positions if padded else None,
        use_cache=True,
        **extra,
    )
    scores: dict[int, PromptScores] = {}
    for row, a in enumerate(everyone):
        if a in scored:
            real = out.logits[row, width - len(a.request.prompt) :]
            scores[a.index] = prompt_scores(real, a.request.prompt, a.request.ask)
    # One row per prompt so far; repeat each prompt's row (and its cache) per sample.
    repeat = torch.tensor(
        [row for row, a in enumerate(everyone) for _ in range(a.request.num_samples)]
    ).to(device)
    past = out.past_key_values
    logits = out.logits[:, -1, :].float()[repeat]
    mask, last = mask[repeat], positions[:, -1][repeat]
    if len(repeat) != len(everyone):
        past.batch_select_indices(repeat)
    offset = 0
    for a in everyone:
        a.offset, offset = offset, offset + a.request.num_samples

    active = everyone
    while True:
        logp = torch.log_softmax(logits, dim=-1)
        nxt = _draw(logits, active)
        chosen = logp.gather(-1, nxt.unsqueeze(-1)).squeeze(-1)
        toks, lps = nxt.tolist(), chosen.tolist()
        k = max(a.request.topk_sample_logprobs for a in active)
        top = topk_rows(logp, k) if k > 0 else None
        for a in active:
            _record(a, toks, lps, top, decode)
        if all(a.done for a in active):
            break
        done_rows = sum(a.request.num_samples for a in active if a.done)
        if done_rows * 8 >= len(toks):  # drop finished requests' rows (and their cache)
            active = [a for a in active if not a.done]
            keep = _compact(active).to(device)
            past.batch_select_indices(keep)
            nxt, mask, last = nxt[keep], mask[keep], last[keep]
        last = last + 1
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        out = model(
            input_ids=nxt.unsqueeze(-1),
            attention_mask=mask if padded else None,
            position_ids=last.unsqueeze(-1) if padded else None,
            past_key_values=past,
            use_cache=True,
        )
        past = out.past_key_values
        logits = out.logits[:, -1, :].float()

    results: list[SampleResult | None] = [None] * len(requests)
    for a in everyone:
        wants_topk = a.request.topk_sample_logprobs > 0
        seqs = [
            SampledSequence(t, lp, "stop" if s else "length", list(top) if wants_topk else None)
            for t, lp, s, top in zip(a.tokens, a.logprobs, a.stopped, a.topk, strict=True)
        ]
        got = scores.get(a.index, PromptScores())
        results[a.index] = SampleResult(seqs, got.logprobs, got.topk, got.targets, got.alternatives)
    return [r for r in results if r is not None]


def generate(
    model: torch.nn.Module,
    prompt: list[int],
    num_samples: int,
    params: SamplingParams,
    limits: GenerationLimits,
    decode: Callable[[list[int]], str],
) -> list[SampledSequence]:
    """Sample `num_samples` completions of one prompt (a batch of one request)."""
    request = SampleRequest(prompt, num_samples, params)
    return generate_batch(model, [request], limits, decode)[0].sequences
