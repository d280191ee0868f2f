"""Training throughput of the cookbook local adapter against a hand-written torch+peft loop.

Same model, same LoRA (all linear layers and the unembedding), same batch, same
steps, same AdamW; both sum a weighted cross-entropy. Prints tokens/s of each and
the ratio (target: adapter / hand-written >= 0.95), then two lines for TRL's
SFTTrainer when `trl` is installed (the root `bench` dependency group: `uv run --group
bench python bench/local_throughput.py`): first at the same work (same dtype, no
gradient checkpointing, same loss mask, batch and LoRA rank), then at SFTConfig's
defaults, each line saying which it is.

    uv run python bench/local_throughput.py                      # tiny-chat, CPU
    uv run python bench/local_throughput.py --hidden 512 --layers 4   # a larger Qwen3-style model
    uv run python bench/local_throughput.py --model /path/to/hf-model --device cuda

Steps of the two loops interleave (alternating which goes first) and the median
step time of each counts, so a machine shared with other work biases neither.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
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


async def _adapter_step(client: Any, batch: list[Datum], params: AdamParams) -> float:
    """One step through the adapter, as a loop issues it: queue both, then wait."""
    start = time.perf_counter()
    fb = await client.forward_backward(batch, "cross_entropy")
    opt = await client.optim_step(params)
    await fb.result()
    await opt.result()
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


def _manual_tensors(batches: list[list[Datum]], device: torch.device) -> list[tuple[torch.Tensor, ...]]:
    """Built before timing: the hand-written loop gets its batches for free."""
    return [
        (
            torch.tensor([d.model_input.to_ints() for d in b], device=device),
            torch.tensor([list(d.loss_fn_inputs["target_tokens"].data) for d in b], device=device),
            torch.tensor([list(d.loss_fn_inputs["weights"].data) for d in b], device=device),
        )
        for b in batches
    ]


def _manual_step(setup: Any, tensors: tuple[torch.Tensor, ...], device: torch.device) -> float:
    model, opt = setup
    ids, tgt, w = tensors
    start = time.perf_counter()
    logits = model(input_ids=ids, use_cache=False).logits
    nll = F.cross_entropy(logits.float().flatten(0, 1), tgt.flatten(), reduction="none")
    torch.autograd.backward((nll * w.flatten()).sum())
    opt.step()
    opt.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _trl_rate(
    model_dir: str,
    args: argparse.Namespace,
    batches: list[list[Datum]],
    device: torch.device,
    dtype: torch.dtype,
    *,
    same_work: bool,
) -> float:
    """Tokens/s of TRL's SFTTrainer on the same pre-tokenized rows and LoRA rank (median step).

    `same_work`: the adapter's dtype, no gradient checkpointing, the same loss mask (as
    TRL's `completion_mask`), the same batch. Otherwise SFTConfig's defaults (gradient
    checkpointing on, bf16 autocast, loss on every token), as a user running TRL gets them.
    """
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    rows = []
    for b in batches:
        for d in b:
            ids = [*d.model_input.to_ints(), int(d.loss_fn_inputs["target_tokens"].data[-1])]
            row: dict[str, Any] = {"input_ids": ids}
            if same_work:  # weights[i] is the loss on token i + 1
                row["completion_mask"] = [0, *(int(w > 0) for w in d.loss_fn_inputs["weights"].data)]
            rows.append(row)
    marks: list[float] = []

    class Clock(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, *_: Any, **__: Any) -> None:
            if device.type == "cuda":
                torch.cuda.synchronize()
            marks.append(time.perf_counter())

    model: Any = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype if same_work else "auto")
    # TRL refuses LoRA on lm_head, so its runs train attention and MLP only (slightly less work).
    targets = lora_targets(model, LoraSpec(args.rank, 32.0, train_unembed=False))
    common: dict[str, Any] = {
        "max_steps": len(batches),
        "per_device_train_batch_size": args.batch,
        "learning_rate": 1e-4,
        "lr_scheduler_type": "constant",
        "logging_steps": 10_000,
        "save_strategy": "no",
        "report_to": [],
        "use_cpu": device.type == "cpu",
        "max_length": args.seq_len + 1,
        "packing": False,
        "dataloader_num_workers": 0,
        "seed": 0,
        "disable_tqdm": True,
    }
    if same_work:
        common.update(
            adam_beta2=0.95,
            gradient_checkpointing=False,
            bf16=dtype == torch.bfloat16,
            fp16=dtype == torch.float16,
            completion_only_loss=True,
        )
    with tempfile.TemporaryDirectory() as out:
        config: Any = cast(Any, SFTConfig)(output_dir=out, **common)
        trainer = SFTTrainer(
            model=model,
            args=config,
            train_dataset=Dataset.from_list(rows),
            peft_config=LoraConfig(r=args.rank, lora_alpha=32, lora_dropout=0.0, target_modules=targets),
            callbacks=[Clock()],
        )
        trainer.train()
    step_times = [b - a for a, b in itertools.pairwise(marks)]  # skips the first step
    return args.batch * args.seq_len / statistics.median(step_times)


def _trl_lines(
    model_dir: str, args: argparse.Namespace, batches: list[list[Datum]], device: torch.device,
    dtype: torch.dtype, adapter_rate: float,
) -> list[str]:
    try:
        import trl  # noqa: F401
    except ModuleNotFoundError as exc:
        return [f"TRL: {exc.name} is not installed (uv sync --group bench to compare against SFTTrainer); skipped"]
    same = _trl_rate(model_dir, args, batches, device, dtype, same_work=True)
    default = _trl_rate(model_dir, args, batches, device, dtype, same_work=False)
    return [
        f"TRL SFTTrainer, same work  {same:10,.0f} tokens/s  adapter/TRL = {adapter_rate / same:.2f}  "
        f"({str(dtype).removeprefix('torch.')}, no gradient checkpointing, same loss mask and batch, LoRA r={args.rank} without lm_head)",
        f"TRL SFTTrainer, defaults   {default:10,.0f} tokens/s  adapter/TRL = {adapter_rate / default:.2f}  "
        "(SFTConfig defaults: gradient checkpointing, bf16 autocast, loss on every token)",
    ]


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
        tensors = _manual_tensors(batches, device)
        await _adapter_step(client, batches[0], params)  # warm-up
        _manual_step(manual, tensors[0], device)
        adapter_times: list[float] = []
        manual_times: list[float] = []
        for r in range(args.rounds):  # steps interleave, so load from other work hits both alike
            for i in range(1, len(batches)):
                if (r + i) % 2:
                    manual_times.append(_manual_step(manual, tensors[i], device))
                    adapter_times.append(await _adapter_step(client, batches[i], params))
                else:
                    adapter_times.append(await _adapter_step(client, batches[i], params))
                    manual_times.append(_manual_step(manual, tensors[i], device))
        per_step = args.batch * args.seq_len
        adapter_rate = per_step / statistics.median(adapter_times)
        manual_rate = per_step / statistics.median(manual_times)
        print(
            f"model={args.model if not args.hidden else f'qwen3-h{args.hidden}-l{args.layers}'} device={device} "
            f"dtype={str(dtype).removeprefix('torch.')} batch={args.batch}x{args.seq_len} rank={args.rank} "
            f"steps={args.steps}"
        )
        print(f"adapter      {adapter_rate:10,.0f} tokens/s (median step)")
        print(f"hand-written {manual_rate:10,.0f} tokens/s (median step)")
        print(f"ratio adapter/hand-written = {adapter_rate / manual_rate:.3f} (target >= 0.95)")
        print("\n".join(_trl_lines(model_dir, args, batches, device, dtype, adapter_rate)))
        await service.close()


if __name__ == "__main__":
    asyncio.run(main())
