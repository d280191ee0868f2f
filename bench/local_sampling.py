"""Sampling throughput of the local engine's batched `sample` against hand-written `model.generate` loops.

The same prompts (64 by default, of uneven length), `num_samples` completions each,
`max_tokens` new tokens, temperature 1 with no top-k/top-p, the same model, dtype and
device. Ours: every prompt's `sample` call gathered at once, as an RL loop issues them
(the local client runs them as one left-padded batch). Hand-written: HF `generate`
per prompt (`num_return_sequences`), and once over all prompts left-padded. New
tokens/s counts the tokens each side actually returned (up to and including a stop
token), and the ratios are ours / hand-written (target: ours / batched >= 1.0).

A last line repeats ours with a sleep injected before every forward of its model
(`--inject-ms`), and says how far the ratio should fall, so a reader can see that
this yardstick notices overhead.

    uv run python bench/local_sampling.py                         # tiny-chat, CPU
    uv run python bench/local_sampling.py --model /path/to/hf-model --device cuda

Runs of the three interleave (rotating which goes first) and the median of each
counts, so a machine shared with other work biases none of them.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from typing import Any

import torch
from cookbook_adapters.local import (
    TINY_CHAT,
    LocalSamplingClient,
    LocalServiceClient,
    tiny_chat_dir,
)
from cookbook_runtime.train.types import ModelInput, SamplingParams
from transformers import AutoModelForCausalLM


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=TINY_CHAT, help="base model: cookbook/tiny-chat or an HF model directory")
    p.add_argument("--prompts", type=int, default=64)
    p.add_argument("--samples", type=int, default=4, help="completions per prompt")
    p.add_argument("--max-tokens", type=int, default=16)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--inject-ms", type=float, default=2.0, help="sleep before each forward in the injected run")
    p.add_argument("--device", default=None)
    p.add_argument("--dtype", default=None)
    return p.parse_args()


def _prompts(tok: Any, n: int) -> list[list[int]]:
    """Chat-task-like prompts of uneven length, so batching needs padding."""
    rng = random.Random(0)
    out = []
    for _ in range(n):
        letters = " ".join(rng.choice("abcdefghij") for _ in range(rng.randint(2, 12)))
        task = rng.choice(["copy", "reverse", "sort"])
        out.append(tok.encode(f"<|im_start|>user\n{task}: {letters}<|im_end|>\n<|im_start|>assistant\n"))
    return out


def _stop_len(row: list[int], stops: set[int]) -> int:
    """Tokens up to and including the first stop token (what `sample` would return)."""
    for i, t in enumerate(row):
        if t in stops:
            return i + 1
    return len(row)


async def _ours(sampler: LocalSamplingClient, prompts: list[list[int]], args: argparse.Namespace) -> tuple[float, int]:
    start = time.perf_counter()
    results = await asyncio.gather(
        *(
            sampler.sample(
                ModelInput.from_ints(p), args.samples, SamplingParams(max_tokens=args.max_tokens, seed=i)
            )
            for i, p in enumerate(prompts)
        )
    )
    elapsed = time.perf_counter() - start
    return elapsed, sum(len(s.tokens) for r in results for s in r.sequences)


def _generate_kwargs(model: Any, args: argparse.Namespace) -> dict[str, Any]:
    return {
        "do_sample": True,
        "temperature": 1.0,
        "top_k": None,
        "top_p": None,
        "max_new_tokens": args.max_tokens,
        "num_return_sequences": args.samples,
        "pad_token_id": model.config.pad_token_id,
        "eos_token_id": model.config.eos_token_id,
    }


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@torch.inference_mode()
def _hand_one_at_a_time(
    model: Any, prompts: list[list[int]], args: argparse.Namespace, device: torch.device, stops: set[int]
) -> tuple[float, int]:
    kwargs = _generate_kwargs(model, args)
    start = time.perf_counter()
    tokens = 0
    for p in prompts:
        ids = torch.tensor([p], device=device)
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **kwargs)
        tokens += sum(_stop_len(row, stops) for row in out[:, len(p) :].tolist())
    _sync(device)
    return time.perf_counter() - start, tokens


def _left_padded(prompts: list[list[int]], pad: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(p) for p in prompts)
    ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=device)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
    return ids, mask


@torch.inference_mode()
def _hand_batched(
    model: Any, prompts: list[list[int]], args: argparse.Namespace, device: torch.device, stops: set[int]
) -> tuple[float, int]:
    kwargs = _generate_kwargs(model, args)
    start = time.perf_counter()
    ids, mask = _left_padded(prompts, int(model.config.pad_token_id or 0), device)
    out = model.generate(input_ids=ids, attention_mask=mask, **kwargs)
    tokens = sum(_stop_len(row, stops) for row in out[:, ids.shape[1] :].tolist())
    _sync(device)
    return time.perf_counter() - start, tokens


async def main() -> None:
    args = _args()
    service = LocalServiceClient(device=args.device, dtype=args.dtype)
    device, dtype = service.device, service.dtype
    model_dir = str(tiny_chat_dir()) if args.model == TINY_CHAT else args.model
    sampler = await service.create_sampling_client(base_model=args.model)
    tok = sampler.tokenizer()
    prompts = _prompts(tok, args.prompts)
    hand: Any = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(device).eval()
    stops = {int(t) for t in ([hand.config.eos_token_id] if isinstance(hand.config.eos_token_id, int) else hand.config.eos_token_id or [])}
    if tok.eos_token_id is not None:
        stops.add(int(tok.eos_token_id))

    async def ours() -> tuple[float, int]:
        return await _ours(sampler, prompts, args)

    async def single() -> tuple[float, int]:
        return _hand_one_at_a_time(hand, prompts, args, device, stops)

    async def batched() -> tuple[float, int]:
        return _hand_batched(hand, prompts, args, device, stops)

    runs = {"ours": ours, "single": single, "batched": batched}
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for fn in runs.values():  # warm-up
        await fn()
    names = list(runs)
    for r in range(args.rounds):
        for name in names[r % 3 :] + names[: r % 3]:
            elapsed, tokens = await runs[name]()
            rates[name].append(tokens / elapsed)
    med = {name: statistics.median(v) for name, v in rates.items()}

    # The same batched sampling with a sleep before every forward: the ratio must fall.
    slowed: Any = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(device).eval()
    forwards, slept = 0, 0.0

    def nap(*_: Any) -> None:
        nonlocal forwards, slept
        forwards += 1
        start = time.perf_counter()
        time.sleep(args.inject_ms / 1000)
        slept += time.perf_counter() - start

    slowed.register_forward_pre_hook(nap)
    injected = LocalSamplingClient(slowed, service.get_tokenizer(args.model))
    await _ours(injected, prompts, args)
    injected_rates, injected_forwards, expected_rates = [], [], []
    for _ in range(args.rounds):
        forwards, slept = 0, 0.0
        elapsed, tokens = await _ours(injected, prompts, args)
        injected_rates.append(tokens / elapsed)
        injected_forwards.append(forwards)
        expected_rates.append(tokens / (tokens / med["ours"] + slept))  # ours plus the time really slept
    inj = statistics.median(injected_rates)
    expected = statistics.median(expected_rates)

    print(
        f"model={args.model} device={device} dtype={str(dtype).removeprefix('torch.')} "
        f"prompts={args.prompts} samples={args.samples} max_tokens={args.max_tokens} rounds={args.rounds}"
    )
    print(f"ours (batched sample)       {med['ours']:10,.0f} new tokens/s (median run)")
    print(f"hand generate, one at a time {med['single']:9,.0f} new tokens/s")
    print(f"hand generate, left-padded   {med['batched']:9,.0f} new tokens/s")
    print(f"ratio ours/one-at-a-time = {med['ours'] / med['single']:.2f}")
    print(f"ratio ours/batched       = {med['ours'] / med['batched']:.2f} (target >= 1.0)")
    print(
        f"injected cost: {args.inject_ms:g} ms sleep before each of ours' {statistics.median(injected_forwards):.0f} "
        f"forwards -> {inj:,.0f} new tokens/s, ratio ours/batched = {inj / med['batched']:.2f} "
        f"(the sleeps alone would give about {expected / med['batched']:.2f})"
    )
    await injected.close()
    await service.close()


if __name__ == "__main__":
    asyncio.run(main())
