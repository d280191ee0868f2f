"""Through the unmodified `tinker` SDK against the server on the local engine: top-k sample
logprobs, target prompt logprobs (dense and sparse CSR) and prompt alternatives equal values
computed by hand from a direct forward of the tiny model."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tinker
from cookbook_adapters.server import RunningServer, running_server
from tinker import types

torch = pytest.importorskip("torch")

TEXT = "What is 12 + 7? The answer is 19."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    from cookbook_adapters.local import TINY_CHAT, LocalServiceClient

    states: Path = tmp_path_factory.mktemp("extras-states")
    with running_server(
        LocalServiceClient(device="cpu", root=states), models=[TINY_CHAT]
    ) as running:
        yield running


@pytest.fixture(scope="module")
def direct_model() -> torch.nn.Module:
    """The same tiny model, loaded with plain transformers from the server's cache."""
    from cookbook_adapters.local import tiny_chat_dir
    from transformers import AutoModelForCausalLM

    model: torch.nn.Module = AutoModelForCausalLM.from_pretrained(tiny_chat_dir())
    return model.eval()


@pytest.fixture(scope="module")
def sampler(server: RunningServer) -> Iterator[Any]:
    service = tinker.ServiceClient(base_url=server.base_url)
    yield service.create_sampling_client(base_model="cookbook/tiny-chat").result()
    service.close("success").result()


def _hand_logp(model: torch.nn.Module, ids: list[int]) -> torch.Tensor:
    """`[len(ids), vocab]`: log-softmax of a plain forward; row t scores the token after t."""
    with torch.no_grad():
        return torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0].float(), -1)


def _ids(sampler: Any) -> list[int]:
    return list(sampler.get_tokenizer().encode(TEXT, add_special_tokens=False))


def test_topk_sample_logprobs_through_the_sdk(sampler: Any, direct_model: torch.nn.Module) -> None:
    ids = _ids(sampler)
    k = 5
    response = sampler.sample(
        types.ModelInput.from_ints(ids),
        2,
        types.SamplingParams(max_tokens=5, temperature=0.0),
        topk_sample_logprobs=k,
    ).result()
    for n, seq in enumerate(response.sequences):
        rows = seq.topk_logprobs
        assert rows is not None and len(rows) == len(seq.tokens), f"sample {n}: {rows}"
        hand = _hand_logp(direct_model, ids + list(seq.tokens))
        for i, row in enumerate(rows):
            where = f"sample {n} position {i}"
            assert row is not None and len(row) == k, where
            top = torch.topk(hand[len(ids) - 1 + i], k)
            assert [t for t, _ in row] == top.indices.tolist(), where
            lps = [lp for _, lp in row]
            assert lps == sorted(lps, reverse=True), f"{where}: {lps}"
            for x, y in zip(lps, top.values.tolist(), strict=True):
                assert math.isclose(x, y, abs_tol=1e-4), f"{where}: {x} vs {y}"
            assert row[0][0] == seq.tokens[i], f"{where}: greedy token is not the top one"
            assert math.isclose(row[0][1], seq.logprobs[i], abs_tol=1e-6), where
    plain = sampler.sample(
        types.ModelInput.from_ints(ids), 1, types.SamplingParams(max_tokens=2, temperature=0.0)
    ).result()
    assert plain.sequences[0].topk_logprobs is None, "top-k sample rows came back unasked"


def test_dense_target_prompt_logprobs_through_the_sdk(
    sampler: Any, direct_model: torch.nn.Module
) -> None:
    ids = _ids(sampler)
    vocab = direct_model.config.vocab_size
    cells = torch.randint(0, vocab, (len(ids) - 1, 3), generator=torch.Generator().manual_seed(0))
    cells[:, 0] = torch.tensor(ids[1:])
    cells[1::3, 2] = -1
    response = sampler.sample(
        types.ModelInput.from_ints(ids),
        1,
        types.SamplingParams(max_tokens=1),
        include_prompt_logprobs=True,
        target_prompt_logprobs=types.TensorData.from_torch(cells),
    ).result()
    got = response.target_prompt_logprobs
    assert got is not None and got.dtype == "float32" and list(got.shape) == list(cells.shape)
    assert got.sparse_crow_indices is None, "a dense request came back sparse"
    hand = _hand_logp(direct_model, ids)[:-1]
    expected = hand.gather(-1, cells.clamp(min=0)).masked_fill(cells < 0, 0.0)
    actual = got.to_torch()
    assert torch.allclose(actual, expected, atol=1e-5), (actual - expected).abs().max()
    prompt_lps = response.prompt_logprobs
    assert prompt_lps is not None
    for i in range(len(ids) - 1):  # column 0 names the prompt's own tokens
        assert math.isclose(float(actual[i, 0]), prompt_lps[i + 1], abs_tol=1e-5), f"row {i}"


def test_sparse_target_prompt_logprobs_keep_their_layout(
    sampler: Any, direct_model: torch.nn.Module
) -> None:
    ids = _ids(sampler)
    cells = torch.full((len(ids) - 1, 4), -1, dtype=torch.int64)
    cells[3] = torch.tensor([7, 8, 9, 10])
    cells[len(ids) - 2, 1] = ids[-1]
    target = types.TensorData.from_torch_sparse(cells, pad_value=-1)
    assert target.sparse_crow_indices is not None, "the request did not go out sparse"
    response = sampler.sample(
        types.ModelInput.from_ints(ids),
        1,
        types.SamplingParams(max_tokens=1),
        target_prompt_logprobs=target,
    ).result()
    got = response.target_prompt_logprobs
    assert got is not None and got.dtype == "float32"
    assert got.sparse_crow_indices == target.sparse_crow_indices
    assert got.sparse_col_indices == target.sparse_col_indices
    assert len(got.data) == len(target.data) == 5
    hand = _hand_logp(direct_model, ids)[:-1]
    expected = hand.gather(-1, cells.clamp(min=0)).masked_fill(cells < 0, 0.0)
    assert torch.allclose(got.to_torch(), expected, atol=1e-5)


def test_target_prompt_logprobs_of_the_wrong_shape_are_refused(sampler: Any) -> None:
    ids = _ids(sampler)
    wrong = torch.zeros((len(ids), 2), dtype=torch.int64)  # one row too many
    with pytest.raises(tinker.BadRequestError, match=f"send len\\(prompt\\) - 1 = {len(ids) - 1} rows"):
        sampler.sample(
            types.ModelInput.from_ints(ids),
            1,
            types.SamplingParams(max_tokens=1),
            target_prompt_logprobs=types.TensorData.from_torch(wrong),
        ).result()


def test_prompt_alt_tokens_through_the_sdk(sampler: Any, direct_model: torch.nn.Module) -> None:
    ids = _ids(sampler)

    def draw(seed: int) -> types.PromptAltTokens:
        response = sampler.sample(
            types.ModelInput.from_ints(ids),
            1,
            types.SamplingParams(max_tokens=1, temperature=0.8, seed=seed),
            prompt_alt_tokens_k=4,
        ).result()
        assert response.prompt_alt_tokens is not None
        return response.prompt_alt_tokens

    first, again, other = draw(1), draw(1), draw(2)
    tokens = first.tokens.to_torch()
    assert first.tokens.dtype == "int64" and first.logprobs.dtype == "float32"
    assert tuple(tokens.shape) == tuple(first.logprobs.to_torch().shape) == (len(ids) - 1, 4)
    assert torch.equal(tokens, again.tokens.to_torch()), "same seed, different draws"
    assert not torch.equal(tokens, other.tokens.to_torch()), "another seed, the same draws"
    hand = _hand_logp(direct_model, ids)[:-1]
    expected = hand.gather(-1, tokens)
    assert torch.allclose(first.logprobs.to_torch(), expected, atol=1e-5)
