"""Sampling on the tiny model: seeds, stops, limits and logprobs that agree with scoring."""

from __future__ import annotations

import pytest
from cookbook_adapters.local import LocalSamplingClient, LocalServiceClient
from cookbook_runtime.train.types import ModelInput, SamplingParams


@pytest.fixture
async def sampler(service: LocalServiceClient, tiny: str) -> LocalSamplingClient:
    return await service.create_sampling_client(base_model=tiny)


def _prompt(sampler: LocalSamplingClient, text: str = "What is 2 + 2?") -> ModelInput:
    return ModelInput.from_ints(sampler.tokenizer().encode(text, add_special_tokens=False))


async def test_seeds_reproduce_and_differ(sampler: LocalSamplingClient) -> None:
    prompt = _prompt(sampler)

    async def draw(seed: int) -> list[list[int]]:
        res = await sampler.sample(prompt, 3, SamplingParams(max_tokens=12, seed=seed))
        return [s.tokens for s in res.sequences]

    first = await draw(1)
    assert first == await draw(1)
    assert first != await draw(2)
    assert len({tuple(t) for t in first}) > 1, (
        "the samples of one call should differ from each other"
    )


async def test_max_tokens_bounds_length(sampler: LocalSamplingClient) -> None:
    res = await sampler.sample(_prompt(sampler), 2, SamplingParams(max_tokens=5, seed=0))
    for seq in res.sequences:
        assert len(seq.tokens) <= 5
        if len(seq.tokens) == 5 and seq.stop_reason == "length":
            break
    else:
        pytest.skip("every sample hit a stop token early")


async def test_stop_token_id_ends_generation(sampler: LocalSamplingClient) -> None:
    prompt = _prompt(sampler)
    greedy = await sampler.sample(prompt, 1, SamplingParams(max_tokens=6, temperature=0.0))
    third = greedy.sequences[0].tokens[2]
    stopped = await sampler.sample(
        prompt, 1, SamplingParams(max_tokens=6, temperature=0.0, stop=[third])
    )
    seq = stopped.sequences[0]
    assert seq.tokens[-1] == third and seq.stop_reason == "stop"
    assert seq.tokens == greedy.sequences[0].tokens[: len(seq.tokens)]


async def test_stop_string_ends_generation(sampler: LocalSamplingClient) -> None:
    prompt = _prompt(sampler)
    greedy = await sampler.sample(prompt, 1, SamplingParams(max_tokens=8, temperature=0.0))
    tok = sampler.tokenizer()
    text = tok.decode(greedy.sequences[0].tokens[:3])
    stop = text[-2:] if len(text) >= 2 else text
    stopped = await sampler.sample(
        prompt, 1, SamplingParams(max_tokens=8, temperature=0.0, stop=[stop])
    )
    seq = stopped.sequences[0]
    assert seq.stop_reason == "stop", f"stop string {stop!r} in {text!r} did not stop generation"
    assert stop in tok.decode(seq.tokens) and len(seq.tokens) <= 3


async def test_sampled_logprobs_match_scoring(sampler: LocalSamplingClient) -> None:
    prompt = _prompt(sampler)
    res = await sampler.sample(
        prompt, 2, SamplingParams(max_tokens=6, seed=3, temperature=0.7, top_k=50, top_p=0.9)
    )
    for seq in res.sequences:
        full = ModelInput.from_ints(prompt.to_ints() + seq.tokens)
        scored = await sampler.compute_logprobs(full)
        assert seq.logprobs == pytest.approx(scored[prompt.length :], abs=1e-4)


async def test_top_k_one_is_greedy(sampler: LocalSamplingClient) -> None:
    prompt = _prompt(sampler)
    greedy = await sampler.sample(prompt, 1, SamplingParams(max_tokens=6, temperature=0.0))
    top1 = await sampler.sample(
        prompt, 2, SamplingParams(max_tokens=6, temperature=1.5, top_k=1, seed=9)
    )
    assert all(s.tokens == greedy.sequences[0].tokens for s in top1.sequences)
