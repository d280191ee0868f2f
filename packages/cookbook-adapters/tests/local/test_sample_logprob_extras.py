"""Top-k sample logprobs, target prompt logprobs and prompt alternatives on the tiny model,
checked against a direct forward of the same weights with plain transformers."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import torch
from cookbook_adapters.local import LocalSamplingClient, LocalServiceClient, tiny_chat_dir
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.train.types import ModelInput, SamplingParams, TensorData
from transformers import AutoModelForCausalLM

TEXT = "What is 2 + 2?"


@pytest.fixture(scope="module")
def direct_model(model_cache: Path) -> torch.nn.Module:
    model: torch.nn.Module = AutoModelForCausalLM.from_pretrained(tiny_chat_dir(model_cache))
    return model.eval()


@pytest.fixture
async def sampler(service: LocalServiceClient, tiny: str) -> LocalSamplingClient:
    return await service.create_sampling_client(base_model=tiny)


def _ids(sampler: LocalSamplingClient, text: str = TEXT) -> list[int]:
    return sampler.tokenizer().encode(text, add_special_tokens=False)


def _logits(model: torch.nn.Module, ids: list[int]) -> torch.Tensor:
    """`[len(ids), vocab]` logits of a plain forward; row t is the distribution after token t."""
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0].float()


def _rows(t: TensorData) -> list[list[float]] | list[list[int]]:
    width = t.shape[1]
    return [list(t.data[i * width : (i + 1) * width]) for i in range(t.shape[0])]  # type: ignore[misc]


async def test_target_logprobs_equal_a_direct_log_softmax(
    sampler: LocalSamplingClient, direct_model: torch.nn.Module
) -> None:
    ids = _ids(sampler)
    vocab = direct_model.config.vocab_size
    gen = torch.Generator().manual_seed(3)
    cells = torch.randint(0, vocab, (len(ids) - 1, 5), generator=gen)
    cells[::2, 1] = -1  # cells that ask for nothing
    cells[:, 0] = torch.tensor(ids[1:])
    target = TensorData(tuple(cells.reshape(-1).tolist()), "int64", tuple(cells.shape))
    res = await sampler.sample(
        ModelInput.from_ints(ids), 1, SamplingParams(max_tokens=1, seed=0), target_prompt_logprobs=target
    )
    got = res.target_prompt_logprobs
    assert got is not None and got.dtype == "float32" and got.shape == tuple(cells.shape)
    hand = torch.log_softmax(_logits(direct_model, ids)[:-1], dim=-1)
    expected = hand.gather(-1, cells.clamp(min=0)).masked_fill(cells < 0, 0.0)
    actual = torch.tensor(got.data).reshape(cells.shape)
    assert torch.allclose(actual, expected, atol=1e-5), (actual - expected).abs().max()
    assert bool((actual[::2, 1] == 0.0).all()), f"-1 cells came back {actual[::2, 1].tolist()}"


async def test_topk_sample_logprobs_are_sorted_and_match_the_sampled_tokens(
    sampler: LocalSamplingClient, direct_model: torch.nn.Module
) -> None:
    ids = _ids(sampler)
    vocab = direct_model.config.vocab_size
    k = 8
    res = await sampler.sample(
        ModelInput.from_ints(ids),
        3,
        SamplingParams(max_tokens=6, temperature=1.0, seed=4),
        topk_sample_logprobs=k,
    )
    full = await sampler.sample(
        ModelInput.from_ints(ids),
        3,
        SamplingParams(max_tokens=6, temperature=1.0, seed=4),
        topk_sample_logprobs=vocab,
    )
    assert [s.tokens for s in full.sequences] == [s.tokens for s in res.sequences], (
        "asking for a wider top-k changed what was sampled"
    )
    for n, (seq, wide) in enumerate(zip(res.sequences, full.sequences, strict=True)):
        assert seq.topk_logprobs is not None and seq.logprobs is not None
        assert len(seq.topk_logprobs) == len(seq.tokens), f"sample {n}"
        hand = torch.log_softmax(_logits(direct_model, ids + seq.tokens), dim=-1)
        for i, row in enumerate(seq.topk_logprobs):
            where = f"sample {n} position {i}"
            assert row is not None and len(row) == k, where
            lps = [lp for _, lp in row]
            assert lps == sorted(lps, reverse=True), f"{where}: {lps} not sorted"
            top = torch.topk(hand[len(ids) - 1 + i], k)
            assert [t for t, _ in row] == top.indices.tolist(), where
            assert all(math.isclose(a, b, abs_tol=1e-4) for a, b in zip(lps, top.values.tolist(), strict=True)), where
            # with every token listed, the sampled one is there at its reported logprob
            assert wide.topk_logprobs is not None
            listed = dict(wide.topk_logprobs[i] or [])
            assert math.isclose(listed[seq.tokens[i]], seq.logprobs[i], abs_tol=1e-5), where
            if seq.tokens[i] in dict(row):
                assert math.isclose(dict(row)[seq.tokens[i]], seq.logprobs[i], abs_tol=1e-5), where


async def test_prompt_alt_tokens_are_seeded_and_scored_as_targets(
    sampler: LocalSamplingClient, direct_model: torch.nn.Module
) -> None:
    ids = _ids(sampler)
    prompt = ModelInput.from_ints(ids)
    params = SamplingParams(max_tokens=4, temperature=1.0, seed=9)
    a = await sampler.sample(prompt, 2, params, prompt_alt_tokens_k=6)
    b = await sampler.sample(prompt, 2, params, prompt_alt_tokens_k=6)
    other = await sampler.sample(
        prompt, 1, params.model_copy(update={"seed": 10}), prompt_alt_tokens_k=6
    )
    plain = await sampler.sample(prompt, 2, params)
    assert a.prompt_alt_tokens is not None and b.prompt_alt_tokens is not None
    assert other.prompt_alt_tokens is not None
    alt = a.prompt_alt_tokens
    assert alt.tokens.shape == alt.logprobs.shape == (len(ids) - 1, 6)
    assert alt.tokens.data == b.prompt_alt_tokens.tokens.data, "same seed, different draws"
    assert alt.tokens.data != other.prompt_alt_tokens.tokens.data, "another seed, the same draws"
    assert [s.tokens for s in a.sequences] == [s.tokens for s in plain.sequences], (
        "asking for prompt alternatives changed the sampled completions"
    )
    scored = await sampler.sample(prompt, 1, params, target_prompt_logprobs=alt.tokens)
    assert scored.target_prompt_logprobs is not None
    assert list(scored.target_prompt_logprobs.data) == pytest.approx(list(alt.logprobs.data), abs=1e-5)
    hand = torch.log_softmax(_logits(direct_model, ids)[:-1], dim=-1)
    drawn = torch.tensor(alt.tokens.data).reshape(alt.tokens.shape)
    expected = hand.gather(-1, drawn)
    assert torch.allclose(torch.tensor(alt.logprobs.data).reshape(drawn.shape), expected, atol=1e-5)


@pytest.fixture
async def sharp(model_cache: Path, sampler: LocalSamplingClient) -> AsyncIterator[tuple[LocalSamplingClient, torch.nn.Module]]:
    """A sampler over the tiny model with its output layer scaled up, so next-token
    distributions are peaked (the untrained model's are close to uniform)."""
    model: torch.nn.Module = AutoModelForCausalLM.from_pretrained(tiny_chat_dir(model_cache))
    with torch.no_grad():
        model.get_output_embeddings().weight.mul_(40.0)
    client = LocalSamplingClient(model.eval(), sampler.tokenizer())
    yield client, model
    await client.close()


@pytest.mark.parametrize("temperature", [1.0, 0.5])
async def test_prompt_alt_token_frequencies_track_the_probabilities(
    sharp: tuple[LocalSamplingClient, torch.nn.Module], temperature: float
) -> None:
    client, model = sharp
    ids = _ids(client)
    draws = 4000
    res = await client.sample(
        ModelInput.from_ints(ids),
        1,
        SamplingParams(max_tokens=1, temperature=temperature, seed=1),
        prompt_alt_tokens_k=draws,
    )
    assert res.prompt_alt_tokens is not None
    drawn = torch.tensor(res.prompt_alt_tokens.tokens.data).reshape(len(ids) - 1, draws)
    probs = torch.softmax(_logits(model, ids)[:-1] / temperature, dim=-1)
    freq = torch.zeros_like(probs).scatter_add_(-1, drawn, torch.ones_like(drawn, dtype=probs.dtype)) / draws
    bound = 5 * (probs * (1 - probs) / draws).sqrt() + 1e-3
    worst = ((freq - probs).abs() - bound).max().item()
    print(
        f"temperature {temperature}: top probability per position {probs.max(-1).values.tolist()}, "
        f"largest |freq - p| {float((freq - probs).abs().max()):.4f}"
    )
    assert float(probs.max(-1).values.min()) > 0.2, "the scaled model is not peaked enough to test"
    assert worst <= 0, f"frequencies stray from the probabilities by up to {worst:.4f} past 5 sigma"


async def test_greedy_prompt_alt_tokens_are_the_argmax(
    sampler: LocalSamplingClient, direct_model: torch.nn.Module
) -> None:
    ids = _ids(sampler)
    res = await sampler.sample(
        ModelInput.from_ints(ids), 1, SamplingParams(max_tokens=1, temperature=0.0), prompt_alt_tokens_k=3
    )
    assert res.prompt_alt_tokens is not None
    argmax = _logits(direct_model, ids)[:-1].argmax(-1).tolist()
    assert _rows(res.prompt_alt_tokens.tokens) == [[t] * 3 for t in argmax]


@pytest.mark.parametrize(
    ("shape", "fill", "message"),
    [((3, 2), 5, "shape"), (None, -2, "vocabulary"), (None, 10**9, "vocabulary")],
)
async def test_bad_target_ids_are_refused(
    sampler: LocalSamplingClient, shape: tuple[int, int] | None, fill: int, message: str
) -> None:
    ids = _ids(sampler)
    shape = shape or (len(ids) - 1, 1)
    target = TensorData((fill,) * (shape[0] * shape[1]), "int64", shape)
    with pytest.raises(ConfigError, match=message):
        await sampler.sample(ModelInput.from_ints(ids), 1, SamplingParams(max_tokens=1), target_prompt_logprobs=target)


async def test_too_many_alternative_draws_are_refused(sampler: LocalSamplingClient) -> None:
    from cookbook_adapters.local._sampling import MAX_PROMPT_CELLS

    with pytest.raises(ConfigError, match="lower k"):
        await sampler.sample(
            ModelInput.from_ints(_ids(sampler)), 1, SamplingParams(max_tokens=1), prompt_alt_tokens_k=MAX_PROMPT_CELLS
        )
