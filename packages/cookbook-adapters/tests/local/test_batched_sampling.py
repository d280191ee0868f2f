"""Concurrent `sample` calls run as one left-padded batch and sample what each would alone;
prompt logprobs and top-k prompt logprobs equal a direct forward's log-softmax."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
import torch
from cookbook_adapters.local import LocalSamplingClient, LocalServiceClient, tiny_chat_dir
from cookbook_runtime.train.types import ModelInput, SampleResult, SamplingParams
from transformers import AutoModelForCausalLM

TEXTS = ["What is 2 + 2?", "copy: abc", "Hi", "reverse the letters q w e r t y", "sort: d b a c"]


@pytest.fixture
async def sampler(service: LocalServiceClient, tiny: str) -> LocalSamplingClient:
    return await service.create_sampling_client(base_model=tiny)


def _prompts(sampler: LocalSamplingClient) -> list[ModelInput]:
    tok = sampler.tokenizer()
    prompts = [ModelInput.from_ints(tok.encode(t, add_special_tokens=False)) for t in TEXTS]
    assert len({p.length for p in prompts}) > 1, "the prompts must differ in length to need padding"
    return prompts


def _assert_same(batched: SampleResult, alone: SampleResult, what: str) -> None:
    assert [s.tokens for s in batched.sequences] == [s.tokens for s in alone.sequences], what
    assert [s.stop_reason for s in batched.sequences] == [s.stop_reason for s in alone.sequences]
    for b, a in zip(batched.sequences, alone.sequences, strict=True):
        assert b.logprobs is not None and a.logprobs is not None
        for i, (x, y) in enumerate(zip(b.logprobs, a.logprobs, strict=True)):
            assert math.isclose(x, y, abs_tol=1e-5), f"{what}, token {i}: batched {x} vs alone {y}"


async def test_gathered_prompts_run_as_one_batch_and_match_alone(
    sampler: LocalSamplingClient,
) -> None:
    prompts = _prompts(sampler)
    params = [SamplingParams(max_tokens=10, temperature=1.0, seed=i) for i in range(len(prompts))]
    batched = await asyncio.gather(
        *(sampler.sample(p, 3, sp) for p, sp in zip(prompts, params, strict=True))
    )
    assert sampler.recent_batches[-1] == (len(prompts), 3 * len(prompts)), (
        f"gathered calls ran as {list(sampler.recent_batches)}, not one batch"
    )
    for i, (p, sp) in enumerate(zip(prompts, params, strict=True)):
        alone = await sampler.sample(p, 3, sp)
        assert sampler.recent_batches[-1] == (1, 3)
        _assert_same(batched[i], alone, f"prompt {TEXTS[i]!r}")


async def test_batches_stay_within_their_row_bound(sampler: LocalSamplingClient) -> None:
    prompts = _prompts(sampler)
    sampler.max_batch_rows = 6
    params = SamplingParams(max_tokens=5, temperature=1.0, seed=3)
    batched = await asyncio.gather(*(sampler.sample(p, 3, params) for p in prompts))
    assert list(sampler.recent_batches) == [(2, 6), (2, 6), (1, 3)]
    for i, p in enumerate(prompts):
        _assert_same(batched[i], await sampler.sample(p, 3, params), f"prompt {TEXTS[i]!r}")


async def test_mixed_params_in_one_batch_match_alone(sampler: LocalSamplingClient) -> None:
    prompts = _prompts(sampler)
    tok = sampler.tokenizer()
    greedy = await sampler.sample(prompts[0], 1, SamplingParams(max_tokens=8, temperature=0.0))
    stop_at = greedy.sequences[0].tokens[2]
    params = [
        SamplingParams(max_tokens=8, temperature=0.0, stop=[stop_at]),
        SamplingParams(max_tokens=4, temperature=0.7, top_k=20, seed=5),
        SamplingParams(max_tokens=12, temperature=1.3, top_p=0.8, seed=6),
        SamplingParams(max_tokens=6, temperature=1.0, seed=7, stop=[tok.decode([stop_at])]),
        SamplingParams(max_tokens=9, temperature=0.0),
    ]
    counts = [1, 2, 4, 3, 2]
    batched = await asyncio.gather(
        *(sampler.sample(p, n, sp) for p, n, sp in zip(prompts, counts, params, strict=True))
    )
    assert sampler.recent_batches[-1] == (len(prompts), sum(counts))
    assert batched[0].sequences[0].stop_reason == "stop"
    for i, (p, n, sp) in enumerate(zip(prompts, counts, params, strict=True)):
        assert all(len(s.tokens) <= (sp.max_tokens or 0) for s in batched[i].sequences)
        _assert_same(batched[i], await sampler.sample(p, n, sp), f"request {i} ({sp})")


async def test_batched_logprobs_match_scoring(sampler: LocalSamplingClient) -> None:
    prompts = _prompts(sampler)
    params = SamplingParams(max_tokens=8, temperature=1.0, seed=11)
    batched = await asyncio.gather(*(sampler.sample(p, 2, params) for p in prompts))
    for p, res in zip(prompts, batched, strict=True):
        for seq in res.sequences:
            scored = await sampler.compute_logprobs(ModelInput.from_ints(p.to_ints() + seq.tokens))
            expected = scored[p.length :]
            assert seq.logprobs is not None
            for x, y in zip(seq.logprobs, expected, strict=True):
                assert y is not None and math.isclose(x, y, abs_tol=1e-5), (p.to_ints(), seq.tokens)


@pytest.fixture(scope="module")
def direct_model(model_cache: Path) -> torch.nn.Module:
    model: torch.nn.Module = AutoModelForCausalLM.from_pretrained(tiny_chat_dir(model_cache))
    return model.eval()


def _hand_logprobs(model: torch.nn.Module, ids: list[int]) -> torch.Tensor:
    """`[len(ids) - 1, vocab]`: log-softmax of a plain forward, row t-1 scoring token t."""
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0, :-1].float()
    return torch.log_softmax(logits, dim=-1)


async def test_prompt_logprobs_equal_a_direct_forward(
    sampler: LocalSamplingClient, direct_model: torch.nn.Module
) -> None:
    prompts = _prompts(sampler)
    k = 5
    params = SamplingParams(max_tokens=1, temperature=1.0, seed=0)
    results = await asyncio.gather(
        *(
            sampler.sample(p, 1, params, include_prompt_logprobs=True, topk_prompt_logprobs=k)
            for p in prompts
        )
    )
    assert sampler.recent_batches[-1][0] == len(prompts), "the scored prompts were not batched"
    for p, res in zip(prompts, results, strict=True):
        ids = p.to_ints()
        hand = _hand_logprobs(direct_model, ids)
        assert res.prompt_logprobs is not None and res.prompt_logprobs[0] is None
        expected = hand.gather(-1, torch.tensor(ids[1:]).unsqueeze(-1)).squeeze(-1).tolist()
        got = res.prompt_logprobs[1:]
        assert len(got) == len(expected) == len(ids) - 1
        for t, (x, y) in enumerate(zip(got, expected, strict=True), start=1):
            assert x is not None and math.isclose(x, y, abs_tol=1e-5), f"{ids} position {t}"
        rows = res.topk_prompt_logprobs
        assert rows is not None and len(rows) == len(ids) and rows[0] is None
        top = torch.topk(hand, k, dim=-1)
        for t, row in enumerate(rows[1:], start=1):
            assert row is not None and len(row) == k
            assert [tok for tok, _ in row] == top.indices[t - 1].tolist(), f"{ids} position {t}"
            for (_, x), y in zip(row, top.values[t - 1].tolist(), strict=True):
                assert math.isclose(x, y, abs_tol=1e-5), f"{ids} position {t}: {x} vs {y}"


async def test_prompt_logprobs_only_when_asked(sampler: LocalSamplingClient) -> None:
    prompt = _prompts(sampler)[0]
    params = SamplingParams(max_tokens=2, seed=0)
    plain, lps_only = await asyncio.gather(
        sampler.sample(prompt, 1, params),
        sampler.sample(prompt, 1, params, include_prompt_logprobs=True),
    )
    assert plain.prompt_logprobs is None and plain.topk_prompt_logprobs is None
    assert lps_only.prompt_logprobs is not None and lps_only.topk_prompt_logprobs is None
    assert [s.tokens for s in plain.sequences] == [s.tokens for s in lps_only.sequences]


async def test_draws_follow_the_model_distribution(
    sampler: LocalSamplingClient, direct_model: torch.nn.Module
) -> None:
    """First tokens of many samples have the frequencies of the (top-k renormalised) softmax.

    The untrained tiny model is nearly flat, so a low temperature makes the test sharp.
    """
    ids = _prompts(sampler)[0].to_ints()
    with torch.no_grad():
        logits = direct_model(input_ids=torch.tensor([ids])).logits[0, -1].double()
    n, temperature = 8000, 0.15
    for top_k in (0, 5):
        params = SamplingParams(max_tokens=1, temperature=temperature, top_k=top_k, seed=21)
        res = await sampler.sample(ModelInput.from_ints(ids), n, params)
        drawn = torch.tensor([s.tokens[0] for s in res.sequences])
        counts = torch.bincount(drawn, minlength=logits.shape[0]).double()
        kept = logits / temperature
        if top_k:
            kept = kept.masked_fill(kept < kept.topk(top_k).values[-1], -math.inf)
        probs = torch.softmax(kept, -1)
        assert counts[probs == 0].sum() == 0, f"top_k={top_k}: drew a token of zero probability"
        for tok in torch.argsort(probs, descending=True)[:5].tolist():
            p = probs[tok].item()
            tol = 4.5 * math.sqrt(p * (1 - p) / n)
            got = counts[tok].item() / n
            assert abs(got - p) < tol, (
                f"top_k={top_k} token {tok}: drawn {got:.4f}, softmax {p:.4f}"
            )
