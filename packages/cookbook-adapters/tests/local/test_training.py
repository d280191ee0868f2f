"""Training on the tiny model: losses, custom losses, the optimizer and request order."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from cookbook_adapters.local import LocalServiceClient
from cookbook_runtime.errors import BackendError
from cookbook_runtime.train.types import AdamParams
from local_data import batch, datum
from safetensors.torch import load_file


def _sum(out: Any) -> float:
    return sum(sum(o["logprobs"].data) for o in out.loss_fn_outputs)


async def test_cross_entropy_loss_is_weighted_sum_of_output_logprobs(
    service: LocalServiceClient, tiny: str
) -> None:
    client = await service.create_lora_training_client(tiny, rank=4, seed=0)
    tokens = client.tokenizer().encode("one two three four five", add_special_tokens=False)
    weights = [0.0] * (len(tokens) - 1)
    weights[-2:] = [1.0, 0.5]
    out = await (await client.forward_backward([datum(tokens, weights)], "cross_entropy")).result()
    lps = out.loss_fn_outputs[0]["logprobs"].data
    assert out.metrics["loss:sum"] == pytest.approx(-(lps[-2] + 0.5 * lps[-1]), rel=1e-5)


async def test_padding_does_not_change_logprobs(service: LocalServiceClient, tiny: str) -> None:
    client = await service.create_lora_training_client(tiny, rank=4, seed=0)
    tok = client.tokenizer()
    short, long = batch(tok, ["hi there", "What is 12 + 7? The answer is 19."])
    alone = await (await client.forward([short])).result()
    padded = await (await client.forward([short, long])).result()
    a = alone.loss_fn_outputs[0]["logprobs"].data
    b = padded.loss_fn_outputs[0]["logprobs"].data
    assert a == pytest.approx(b, abs=1e-4)


async def test_training_lowers_loss_with_lora_and_full_finetuning(
    service: LocalServiceClient, tiny: str
) -> None:
    for rank in (8, 0):
        client = await service.create_lora_training_client(tiny, rank=rank, seed=0)
        data = batch(client.tokenizer())
        first = -_sum(await (await client.forward(data)).result())
        for _ in range(8):
            await client.forward_backward(data, "cross_entropy")
            await client.optim_step(AdamParams(learning_rate=5e-3 if rank else 3e-3))
        last = -_sum(await (await client.forward(data)).result())
        assert last < 0.7 * first, f"rank {rank}: nll {first:.2f} -> {last:.2f}"


async def test_requests_run_in_submission_order(service: LocalServiceClient, tiny: str) -> None:
    client = await service.create_lora_training_client(tiny, rank=4, seed=0)
    data = batch(client.tokenizer())
    before = await client.forward(data)
    await client.forward_backward(data, "cross_entropy")
    await client.optim_step(AdamParams(learning_rate=1e-2))
    after = await client.forward(data)
    # Awaited in reverse: each still reflects the weights at its place in the queue.
    assert _sum(await after.result()) > _sum(await before.result())


async def test_custom_loss_matches_cross_entropy_gradient(
    service: LocalServiceClient, tiny: str
) -> None:
    norms = []
    for custom in (False, True):
        client = await service.create_lora_training_client(tiny, rank=4, seed=0)
        data = batch(client.tokenizer())
        if custom:

            def loss_fn(_: Any, lps: list[torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
                total = -sum(lp.sum() for lp in lps)
                assert isinstance(total, torch.Tensor)
                return total, {"custom:mean": 1.0}

            out = await (await client.forward_backward_custom(data, loss_fn)).result()
            assert out.metrics["custom:mean"] == 1.0
        else:
            await client.forward_backward(data, "cross_entropy")
        step = await (await client.optim_step(AdamParams(learning_rate=0.0))).result()
        norms.append(step.metrics["grad_norm:mean"])
    assert norms[0] == pytest.approx(norms[1], rel=1e-4)


async def test_grad_clip_and_reported_norm(service: LocalServiceClient, tiny: str) -> None:
    client = await service.create_lora_training_client(tiny, rank=4, seed=0)
    data = batch(client.tokenizer())
    await client.forward_backward(data, "cross_entropy")
    step = await (
        await client.optim_step(AdamParams(learning_rate=1e-3, grad_clip_norm=1e-3))
    ).result()
    norm = step.metrics["grad_norm:mean"]
    assert math.isfinite(norm) and norm > 1e-3, "the pre-clip norm is reported"
    # Gradients are cleared after a step: a step without forward_backward sees none.
    empty = await (await client.optim_step(AdamParams(learning_rate=1e-3))).result()
    assert empty.metrics["grad_norm:mean"] == 0.0


async def test_rl_losses_run_and_report_loss(service: LocalServiceClient, tiny: str) -> None:
    client = await service.create_lora_training_client(tiny, rank=4, seed=0)
    tokens = client.tokenizer().encode("the quick brown fox", add_special_tokens=False)
    n = len(tokens) - 1
    lps = (
        (await (await client.forward([datum(tokens)])).result()).loss_fn_outputs[0]["logprobs"].data
    )
    rl = datum(tokens, logprobs=list(lps), advantages=[1.0] * n)
    for loss in ("importance_sampling", "ppo", "cispo", "dro"):
        out = await (await client.forward_backward([rl], loss)).result()  # type: ignore[arg-type]
        # On-policy (ratio 1) with A = 1: IS and PPO lose -n; CISPO and DRO lose -sum(lp).
        expected = -sum(lps) if loss in ("cispo", "dro") else -float(n)
        assert out.metrics["loss:sum"] == pytest.approx(expected, rel=1e-4), loss


async def test_weight_decay_is_decoupled(service: LocalServiceClient, tiny: str) -> None:
    """AdamW: the same gradients with and without decay differ by exactly lr * wd * p."""
    lr, wd = 1e-2, 0.5
    before: dict[str, torch.Tensor] = {}
    after: list[dict[str, torch.Tensor]] = []
    for decay in (0.0, wd):
        client = await service.create_lora_training_client(tiny, rank=4, seed=0)
        if not before:
            before = load_file(Path(await (await client.save_state("before")).result()) / "trainable.safetensors")
        await client.forward_backward(batch(client.tokenizer()), "cross_entropy")
        await client.optim_step(AdamParams(learning_rate=lr, weight_decay=decay))
        saved = Path(await (await client.save_state(f"after-{decay}")).result())
        after.append(load_file(saved / "trainable.safetensors"))
    for name, p in before.items():
        assert torch.allclose(after[0][name] - after[1][name], lr * wd * p, atol=1e-6), name


async def test_tensor_work_runs_on_the_worker_thread(
    service: LocalServiceClient, tiny: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from cookbook_adapters.local import _training

    threads: list[str] = []
    real = _training.to_batch

    def recording(prepared: Any, device: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real(prepared, device)

    monkeypatch.setattr(_training, "to_batch", recording)
    client = await service.create_lora_training_client(tiny, rank=4, seed=0)
    data = batch(client.tokenizer())
    await (await client.forward_backward(data, "cross_entropy")).result()
    await (await client.forward(data)).result()
    assert len(threads) == 2 and all(t.startswith("cookbook-train") for t in threads), threads
    await client.close()


async def test_checkpoint_names_are_fixed_when_queued(service: LocalServiceClient, tiny: str) -> None:
    client = await service.create_lora_training_client(tiny, rank=4, seed=0)
    data = batch(client.tokenizer())
    with pytest.raises(BackendError, match="no usable characters"):
        await client.save_state("...")  # refused at the call, not when the worker gets to it
    await client.forward_backward(data, "cross_entropy")
    await client.optim_step(AdamParams(learning_rate=1e-2))
    first = await client.save_state("a")
    second = await client.save_weights_for_sampler("a")
    paths = [await first.result(), await second.result()]
    assert paths[0].endswith("/states/" + client.model_id + "/a"), paths
    assert paths[1].endswith("/samplers/" + client.model_id + "/a"), paths
    await client.close()
