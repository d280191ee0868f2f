"""Training throughput of the cookbook local adapter against a hand-written torch+peft loop.

Same model, same LoRA (all linear layers and the unembedding), same batch, same
steps, same AdamW; both sum a weighted cross-entropy. Prints tokens/s of each and
the ratio (target: adapter / hand-written >= 0.95). Then TRL's SFTTrainer, when `trl`
is installed (the root `bench` dependency group: `uv run --group bench python
bench/local_throughput.py`), on the same pre-tokenized rows: TRL refuses LoRA on
lm_head, so beside TRL the adapter trains without it too, one adapter step after each
TRL step (in TRL's step callback). TRL runs first at the same work (same model, dtype,
batch, loss mask and LoRA; no gradient checkpointing; target adapter / TRL >= 0.95),
then at SFTConfig's defaults; each line says which it is.

    uv run python bench/local_throughput.py                      # tiny-chat, CPU
    uv run python bench/local_throughput.py --hidden 512 --layers 4   # a larger Qwen3-style model
    uv run python bench/local_throughput.py --model /path/to/hf-model --device cuda

Steps of the adapter and hand-written loops interleave (rotating which goes first)
and the median step time of each counts, so a machine shared with other work biases neither.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
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


def _trl_rates(
    model_dir: str,
    args: argparse.Namespace,
    batches: list[list[Datum]],
    device: torch.device,
    dtype: torch.dtype,
    adapter_step: Callable[[int], float],
    *,
    same_work: bool,
) -> tuple[float, float]:
    """Tokens/s of TRL's SFTTrainer and of the adapter, their steps interleaved (medians).

    TRL trains on the same pre-tokenized rows (`rounds` passes) with the same LoRA
    rank; after each of its steps, its step callback runs one adapter step
    (`adapter_step`), timed apart, so load from other work on the machine hits both
    alike. A TRL step's time is everything between two of its step ends (batch
    collation included) less the adapter step run in between.

    `same_work`: the adapter's dtype, no gradient checkpointing, the same loss mask (as
    TRL's `completion_mask`), the same batch. Otherwise SFTConfig's defaults (gradient
    checkpointing on, bf16 autocast, loss on every token), as a user running TRL gets them.
    """
    import datasets
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    rows = []
    for b in batches * args.rounds:
        for d in b:
            ids = [*d.model_input.to_ints(), int(d.loss_fn_inputs["target_tokens"].data[-1])]
            row: dict[str, Any] = {"input_ids": ids}
            if same_work:  # weights[i] is the loss on token i + 1
                row["completion_mask"] = [0, *(int(w > 0) for w in d.loss_fn_inputs["weights"].data)]
            rows.append(row)
    datasets.disable_progress_bars()
    trl_times: list[float] = []
    adapter_times: list[float] = []

    class Clock(TrainerCallback):  # type: ignore[misc]
        resumed: float | None = None

        def on_step_end(self, *_: Any, **__: Any) -> None:
            if device.type == "cuda":
                torch.cuda.synchronize()
            if self.resumed is not None:  # the first step (warm-up) is not counted
                trl_times.append(time.perf_counter() - self.resumed)
            adapter_times.append(adapter_step(1 + len(adapter_times) % (len(batches) - 1)))
            self.resumed = time.perf_counter()

    model: Any = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype if same_work else "auto")
    # TRL refuses LoRA on lm_head, so its runs train attention and MLP only.
    targets = lora_targets(model, LoraSpec(args.rank, 32.0, train_unembed=False))
    common: dict[str, Any] = {
        "max_steps": len(rows) // args.batch,
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
    per_step = args.batch * args.seq_len
    return per_step / statistics.median(trl_times), per_step / statistics.median(adapter_times[1:])


async def _trl_lines(
    model_dir: str, args: argparse.Namespace, batches: list[list[Datum]], device: torch.device,
    dtype: torch.dtype, client: Any,
) -> list[str]:
    try:
        import trl  # noqa: F401
    except ModuleNotFoundError as exc:
        return [f"TRL: {exc.name} is not installed (uv sync --group bench to compare against SFTTrainer); skipped"]
    loop = asyncio.get_running_loop()
    params = AdamParams(learning_rate=1e-4)

    def adapter_step(i: int) -> float:  # called on TRL's thread; the step runs on this loop
        return asyncio.run_coroutine_threadsafe(_adapter_step(client, batches[i], params), loop).result()

    lines = []
    for same_work in (True, False):
        trl_rate, adapter_rate = await asyncio.to_thread(
            _trl_rates, model_dir, args, batches, device, dtype, adapter_step, same_work=same_work
        )
        if same_work:
            label = (
                f"TRL SFTTrainer, same work: {trl_rate:8,.0f} tokens/s   adapter {adapter_rate:8,.0f} tokens/s   "
                f"adapter/TRL = {adapter_rate / trl_rate:.2f} (target >= 0.95)   "
                f"[{str(dtype).removeprefix('torch.')}, no gradient checkpointing, same rows, loss mask and batch, "
                f"LoRA r={args.rank} on attention and MLP in both]"
            )
        else:
            label = (
                f"TRL SFTTrainer, defaults:  {trl_rate:8,.0f} tokens/s   adapter {adapter_rate:8,.0f} tokens/s   "
                f"adapter/TRL = {adapter_rate / trl_rate:.2f}   [SFTConfig defaults: gradient checkpointing on, "
                "bf16 autocast, loss on every token; same rows, batch and LoRA]"
            )
        lines.append(label)
    return lines


async def main() -> None:
    args = _args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        model_dir = _model_dir(args, scratch)
        service = LocalServiceClient(device=args.device, dtype=args.dtype, root=scratch / "states")
        client = await service.create_lora_training_client(model_dir, rank=args.rank, seed=0)
        # TRL refuses LoRA on lm_head: beside TRL, the adapter trains without it too.
        client_no_head = await service.create_lora_training_client(
            model_dir, rank=args.rank, seed=0, train_unembed=False
        )
        device, dtype = service.device, service.dtype
        vocab = int(AutoModelForCausalLM.from_pretrained(model_dir).config.vocab_size)
        batches = _data(args, vocab)
        manual = _manual_setup(model_dir, args, device, dtype)
        params = AdamParams(learning_rate=1e-4)
        tensors = _manual_tensors(batches, device)
        runners: dict[str, Callable[[int], Awaitable[float]]] = {
            "adapter": lambda i: _adapter_step(client, batches[i], params),
            "manual": lambda i: _async(_manual_step(manual, tensors[i], device)),
        }
        times: dict[str, list[float]] = {name: [] for name in runners}
        for run in runners.values():  # warm-up
            await run(0)
        names = list(runners)
        for r in range(args.rounds):  # steps interleave, so load from other work hits all alike
            for i in range(1, len(batches)):
                shift = (r + i) % len(names)
                for name in names[shift:] + names[:shift]:
                    times[name].append(await runners[name](i))
        per_step = args.batch * args.seq_len
        rate = {name: per_step / statistics.median(t) for name, t in times.items()}
        print(
            f"model={args.model if not args.hidden else f'qwen3-h{args.hidden}-l{args.layers}'} device={device} "
            f"dtype={str(dtype).removeprefix('torch.')} batch={args.batch}x{args.seq_len} rank={args.rank} "
            f"steps={args.steps}x{args.rounds}"
        )
        print(f"adapter      {rate['adapter']:10,.0f} tokens/s (median step; LoRA on attention, MLP and lm_head)")
        print(f"hand-written {rate['manual']:10,.0f} tokens/s (median step; the same LoRA)")
        print(f"ratio adapter/hand-written = {rate['adapter'] / rate['manual']:.3f} (target >= 0.95)")
        print("\n".join(await _trl_lines(model_dir, args, batches, device, dtype, client_no_head)))
        await service.close()


async def _async(value: float) -> float:
    return value


if __name__ == "__main__":
    asyncio.run(main())
