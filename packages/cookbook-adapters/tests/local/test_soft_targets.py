"""Soft-target cross entropy on the tiny model: (N, K) target_tokens with (N, K) weights give
`loss = -sum w[n,k] * logp(target[n,k] at n)`, hand-computed from a direct forward; (N, 1)
is the ordinary loss, value and gradient."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from cookbook_adapters.local import LocalServiceClient, LocalTrainingClient, tiny_chat_dir
from cookbook_runtime.errors import DataError
from cookbook_runtime.train.types import AdamParams, Datum, ModelInput, TensorData
from local_data import datum
from transformers import AutoModelForCausalLM

TEXT = "What is 12 + 7? The answer is 19."
K = 3


@pytest.fixture(scope="module")
def direct_model(model_cache: Path) -> torch.nn.Module:
    model: torch.nn.Module = AutoModelForCausalLM.from_pretrained(tiny_chat_dir(model_cache))
    return model.eval()


def _hand_logp(model: torch.nn.Module, inputs: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return torch.log_softmax(model(input_ids=torch.tensor([inputs])).logits[0].float(), -1)


def _soft_datum(inputs: list[int], targets: list[list[int]], weights: list[list[float]]) -> Datum:
    n, k = len(targets), len(targets[0])
    flat_t = tuple(t for row in targets for t in row)
    flat_w = tuple(w for row in weights for w in row)
    return Datum(
        ModelInput.from_ints(inputs),
        {
            "target_tokens": TensorData(flat_t, "int64", (n, k)),
            "weights": TensorData(flat_w, "float32", (n, k)),
        },
    )


def _soft_targets(tokens: list[int], vocab: int) -> tuple[list[list[int]], list[list[float]]]:
    """K candidates per position (the true next token and two others) with uneven weights."""
    targets = [[t, (t + 5) % vocab, (t * 7 + 3) % vocab] for t in tokens[1:]]
    weights = [[0.6, 0.3, 0.1] if i % 3 else [0.0, 0.0, 0.0] for i in range(len(targets))]
    return targets, weights


async def _client(service: LocalServiceClient, tiny: str) -> LocalTrainingClient:
    return await service.create_lora_training_client(tiny, rank=4, seed=0)


async def test_soft_cross_entropy_equals_hand_values(
    service: LocalServiceClient, tiny: str, direct_model: torch.nn.Module
) -> None:
    client = await _client(service, tiny)
    tokens = client.tokenizer().encode(TEXT, add_special_tokens=False)
    targets, weights = _soft_targets(tokens, direct_model.config.vocab_size)
    d = _soft_datum(tokens[:-1], targets, weights)
    out = await (await client.forward([d], "cross_entropy")).result()

    logp = _hand_logp(direct_model, tokens[:-1])
    hand_lp = logp.gather(-1, torch.tensor(targets))
    hand_loss = -(hand_lp * torch.tensor(weights)).sum().item()
    got = out.loss_fn_outputs[0]["logprobs"]
    assert got.shape == (len(targets), K), f"logprobs shape {got.shape}"
    for i, (x, y) in enumerate(zip(got.data, hand_lp.reshape(-1).tolist(), strict=True)):
        assert math.isclose(x, y, abs_tol=1e-5), f"cell {divmod(i, K)}: {x} vs hand {y}"
    assert out.metrics["loss:sum"] == pytest.approx(hand_loss, rel=1e-5)


async def test_soft_targets_batch_with_padding(
    service: LocalServiceClient, tiny: str, direct_model: torch.nn.Module
) -> None:
    client = await _client(service, tiny)
    tok = client.tokenizer()
    short = tok.encode("hi there", add_special_tokens=False)
    long = tok.encode(TEXT, add_special_tokens=False)
    vocab = direct_model.config.vocab_size
    data = [_soft_datum(t[:-1], *_soft_targets(t, vocab)) for t in (short, long)]
    out = await (await client.forward_backward(data, "cross_entropy")).result()
    hand = 0.0
    for t in (short, long):
        targets, weights = _soft_targets(t, vocab)
        lp = _hand_logp(direct_model, t[:-1]).gather(-1, torch.tensor(targets))
        hand -= (lp * torch.tensor(weights)).sum().item()
    assert out.metrics["loss:sum"] == pytest.approx(hand, rel=1e-5)
    assert [o["logprobs"].shape for o in out.loss_fn_outputs] == [
        (len(short) - 1, K),
        (len(long) - 1, K),
    ]


async def test_width_one_is_the_ordinary_loss(service: LocalServiceClient, tiny: str) -> None:
    hard_client = await _client(service, tiny)
    soft_client = await _client(service, tiny)
    tokens = hard_client.tokenizer().encode(TEXT, add_special_tokens=False)
    weights = [1.0 if i % 2 else 0.25 for i in range(len(tokens) - 1)]
    hard = datum(tokens, weights)
    soft = _soft_datum(tokens[:-1], [[t] for t in tokens[1:]], [[w] for w in weights])

    a = await (await hard_client.forward_backward([hard], "cross_entropy")).result()
    b = await (await soft_client.forward_backward([soft], "cross_entropy")).result()
    assert b.metrics["loss:sum"] == pytest.approx(a.metrics["loss:sum"], rel=1e-6)
    assert b.loss_fn_outputs[0]["logprobs"].data == pytest.approx(
        a.loss_fn_outputs[0]["logprobs"].data, abs=1e-6
    )
    step = AdamParams(learning_rate=1e-2)
    await (await hard_client.optim_step(step)).result()
    await (await soft_client.optim_step(step)).result()
    after_a = (await (await hard_client.forward([hard])).result()).loss_fn_outputs[0]
    after_b = (await (await soft_client.forward([hard])).result()).loss_fn_outputs[0]
    assert after_a["logprobs"].data != a.loss_fn_outputs[0]["logprobs"].data, (
        "the step changed nothing"
    )
    assert after_b["logprobs"].data == pytest.approx(after_a["logprobs"].data, abs=1e-5), (
        "an (N, 1) step moved the weights differently from an (N,) one"
    )


async def test_soft_targets_are_refused_by_rl_losses(
    service: LocalServiceClient, tiny: str
) -> None:
    client = await _client(service, tiny)
    tokens = client.tokenizer().encode(TEXT, add_special_tokens=False)
    targets = [[t, t] for t in tokens[1:]]
    n = len(targets)
    d = _soft_datum(tokens[:-1], targets, [[0.5, 0.5]] * n)
    d = Datum(
        d.model_input,
        {
            **d.loss_fn_inputs,
            "logprobs": TensorData.from_list([0.0] * n, "float32"),
            "advantages": TensorData.from_list([1.0] * n, "float32"),
        },
    )
    with pytest.raises(DataError, match="soft targets are for cross_entropy"):
        await (await client.forward_backward([d], "importance_sampling")).result()


async def test_mismatched_soft_shapes_fail_at_the_call(
    service: LocalServiceClient, tiny: str
) -> None:
    client = await _client(service, tiny)
    tokens = client.tokenizer().encode(TEXT, add_special_tokens=False)
    n = len(tokens) - 1
    soft = _soft_datum(tokens[:-1], [[t, t] for t in tokens[1:]], [[0.5, 0.5]] * n)
    flat_weights = Datum(
        soft.model_input,
        {**soft.loss_fn_inputs, "weights": TensorData.from_list([1.0] * n, "float32")},
    )
    with pytest.raises(DataError, match="weights"):
        await (await client.forward_backward([flat_weights], "cross_entropy")).result()
    with pytest.raises(DataError, match="same target shape"):
        await client.forward_backward([soft, datum(tokens)], "cross_entropy")
    wrong_rows = _soft_datum(tokens[:-2], [[t, t] for t in tokens[1:]], [[0.5, 0.5]] * n)
    with pytest.raises(DataError, match="shape"):
        await client.forward_backward([wrong_rows], "cross_entropy")
