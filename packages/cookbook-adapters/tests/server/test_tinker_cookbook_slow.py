"""Unmodified tinker-cookbook supervised training runs against the server over the local engine."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("tinker_cookbook")

from cookbook_adapters.local import TINY_CHAT, LocalServiceClient
from cookbook_adapters.server import RunningServer, running_server

pytestmark = pytest.mark.slow

_WORDS = ["apple", "river", "stone", "cloud", "tiger", "lemon", "piano", "candle"]


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[RunningServer]:
    backend = LocalServiceClient(device="cpu", root=tmp_path / "states")
    with running_server(backend, models=[TINY_CHAT]) as server:
        yield server


def _conversations(path: Path) -> Path:
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"Spell {word}."},
                {"role": "assistant", "content": " ".join(word.upper())},
            ]
        }
        for _ in range(8)
        for word in _WORDS
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_tinker_cookbook_supervised_training(local_server: RunningServer, tmp_path: Path) -> None:
    from tinker_cookbook.renderers import TrainOnWhat
    from tinker_cookbook.supervised import train
    from tinker_cookbook.supervised.data import FromConversationFileBuilder
    from tinker_cookbook.supervised.types import ChatDatasetBuilderCommonConfig

    common = ChatDatasetBuilderCommonConfig(
        model_name_for_tokenizer=TINY_CHAT,
        renderer_name="qwen3_instruct",
        max_length=64,
        batch_size=8,
        train_on_what=TrainOnWhat.ALL_ASSISTANT_MESSAGES,
    )
    data = FromConversationFileBuilder(
        common_config=common, file_path=str(_conversations(tmp_path / "chats.jsonl")), test_size=8
    )
    log_path = tmp_path / "run"
    config = train.Config(
        log_path=str(log_path),
        model_name=TINY_CHAT,
        recipe_name="server_check",
        renderer_name="qwen3_instruct",
        dataset_builder=data,
        learning_rate=3e-3,
        lr_schedule="constant",
        num_epochs=1,
        lora_rank=8,
        eval_every=0,
        save_every=2,
        max_steps=4,
        base_url=local_server.base_url,
    )
    asyncio.run(train.main(config))

    rows = [json.loads(line) for line in (log_path / "metrics.jsonl").read_text().splitlines()]
    nll = [r["train_mean_nll"] for r in rows if "train_mean_nll" in r]
    assert len(nll) == 4 and nll[-1] < nll[0], f"train NLL did not fall: {nll}"
    checkpoints = [
        json.loads(line) for line in (log_path / "checkpoints.jsonl").read_text().splitlines()
    ]
    assert checkpoints and all(
        c["state_path"].startswith("tinker://") for c in checkpoints if "state_path" in c
    )
