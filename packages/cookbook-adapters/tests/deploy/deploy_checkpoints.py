"""Two sampler checkpoints of the tiny model (versions "1" and "2") for the deploy tests.

Version 1 is a fresh LoRA (the base model's behaviour); version 2 took a few
optimizer steps on one rendered chat, so the two answer differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cookbook_adapters.local import TINY_CHAT, LocalServiceClient
from cookbook_runtime.train.renderers import get_renderer
from cookbook_runtime.train.types import AdamParams, Datum, TensorData


@dataclass(frozen=True)
class Checkpoints:
    cache: Path
    v1: str
    v2: str


async def save_two(cache: Path, root: Path) -> tuple[str, str]:
    service = LocalServiceClient(device="cpu", cache_dir=cache, root=root)
    try:
        client = await service.create_lora_training_client(TINY_CHAT, rank=4, seed=0)
        v1 = await (await client.save_weights_for_sampler("v1")).result()
        renderer = get_renderer("qwen3_instruct", client.tokenizer())
        tokens, weights = renderer.build_supervised_example(
            [{"role": "user", "content": "reverse a b c"}, {"role": "assistant", "content": "c b a"}]
        )
        ids = tokens.to_ints()
        datum = Datum(
            tokens.from_ints(ids[:-1]),
            {
                "target_tokens": TensorData.from_list(ids[1:], "int64"),
                "weights": TensorData.from_list(list(weights[1:]), "float32"),
            },
        )
        for _ in range(5):
            await (await client.forward_backward([datum], "cross_entropy")).result()
            await (await client.optim_step(AdamParams(learning_rate=5e-2))).result()
        v2 = await (await client.save_weights_for_sampler("v2")).result()
        await client.close()
        return v1, v2
    finally:
        await service.close()


