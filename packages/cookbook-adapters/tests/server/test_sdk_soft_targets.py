"""Through the unmodified `tinker` SDK against the server on the local engine: top-k prompt
logprobs and soft-target cross entropy (off-policy distillation's two calls) equal values
computed by hand from a direct forward of the tiny model."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import tinker
from cookbook_adapters.server import RunningServer, running_server
from tinker import types

torch = pytest.importorskip("torch")

TEXT = "What is 12 + 7? The answer is 19."
K = 4


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The server on the local engine, whose models live in the default (shared) cache."""
    from cookbook_adapters.local import TINY_CHAT, LocalServiceClient

    states: Path = tmp_path_factory.mktemp("soft-states")
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


def _hand_logp(model: torch.nn.Module, ids: list[int]) -> torch.Tensor:
    """`[len(ids), vocab]`: log-softmax of a plain forward; row t scores the token after t."""
    with torch.no_grad():
        return torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0].float(), -1)


def test_topk_prompt_logprobs_through_the_sdk(
    server: RunningServer, direct_model: torch.nn.Module
) -> None:
    service = tinker.ServiceClient(base_url=server.base_url)
    sampler = service.create_sampling_client(base_model="cookbook/tiny-chat").result()
    ids = sampler.get_tokenizer().encode(TEXT, add_special_tokens=False)
    response = sampler.sample(
        types.ModelInput.from_ints(ids),
        1,
        types.SamplingParams(max_tokens=1, seed=0),
        include_prompt_logprobs=True,
        topk_prompt_logprobs=K,
    ).result()
    hand = _hand_logp(direct_model, ids)[:-1]
    expected = hand.gather(-1, torch.tensor(ids[1:]).unsqueeze(-1)).squeeze(-1).tolist()
    got = response.prompt_logprobs
    assert got is not None and len(got) == len(ids) and got[0] is None
    for t, (x, y) in enumerate(zip(got[1:], expected, strict=True), start=1):
        assert x is not None and math.isclose(x, y, abs_tol=1e-5), f"position {t}: {x} vs {y}"
    rows = response.topk_prompt_logprobs
    assert rows is not None and len(rows) == len(ids) and rows[0] is None
    top = torch.topk(hand, K, dim=-1)
    for t, row in enumerate(rows[1:], start=1):
        assert row is not None
        assert [tok for tok, _ in row] == top.indices[t - 1].tolist(), f"position {t}"
        for (_, x), y in zip(row, top.values[t - 1].tolist(), strict=True):
            assert math.isclose(x, y, abs_tol=1e-5), f"position {t}: {x} vs {y}"
    service.close("success").result()


def test_soft_target_cross_entropy_through_the_sdk(
    server: RunningServer, direct_model: torch.nn.Module
) -> None:
    service = tinker.ServiceClient(base_url=server.base_url)
    training = service.create_lora_training_client(base_model="cookbook/tiny-chat", rank=4).result()
    tokens = training.get_tokenizer().encode(TEXT, add_special_tokens=False)
    inputs = tokens[:-1]
    hand = _hand_logp(direct_model, inputs)
    # The teacher's top-K at each position, renormalised: the datum off-policy distillation builds.
    top = torch.topk(hand, K, dim=-1)
    weights = torch.softmax(top.values, dim=-1)
    weights[:3] = 0.0  # prompt positions carry no weight
    datum = types.Datum(
        model_input=types.ModelInput.from_ints(inputs),
        loss_fn_inputs={
            "target_tokens": types.TensorData.from_torch(top.indices),
            "weights": types.TensorData.from_torch(weights),
        },
    )
    out = training.forward([datum], "cross_entropy").result()
    lps = out.loss_fn_outputs[0]["logprobs"].to_torch()
    assert tuple(lps.shape) == (len(inputs), K)
    assert torch.allclose(lps, top.values, atol=1e-5), (lps - top.values).abs().max()
    hand_loss = -(top.values * weights).sum().item()
    assert out.metrics["loss:sum"] == pytest.approx(hand_loss, rel=1e-5)

    hard = types.Datum(
        model_input=types.ModelInput.from_ints(inputs),
        loss_fn_inputs={"target_tokens": tokens[1:], "weights": [1.0] * len(inputs)},
    )
    width_one = types.Datum(
        model_input=types.ModelInput.from_ints(inputs),
        loss_fn_inputs={
            "target_tokens": types.TensorData.from_torch(torch.tensor(tokens[1:]).unsqueeze(-1)),
            "weights": types.TensorData.from_torch(torch.ones(len(inputs), 1)),
        },
    )
    a = training.forward([hard], "cross_entropy").result().metrics["loss:sum"]
    b = training.forward([width_one], "cross_entropy").result().metrics["loss:sum"]
    assert b == pytest.approx(a, rel=1e-6), "(N, 1) targets differ from (N,) ones"
    service.close("success").result()
