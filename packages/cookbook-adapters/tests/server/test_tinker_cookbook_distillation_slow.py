"""Unmodified tinker-cookbook distillation loops against the server over the local engine.

Off-policy distillation (teacher top-k prompt logprobs as (N, K) soft targets for
cross entropy) and SDFT with top-k both run a couple of steps on tiny local data.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("tinker_cookbook")

from cookbook_adapters.local import TINY_CHAT, LocalServiceClient
from cookbook_adapters.server import RunningServer, running_server

pytestmark = [
    pytest.mark.slow,
    # tinker-cookbook's loops (not ours) use the SDK's sync `create_sampling_client`
    # result directly as a client; this SDK version deprecates that and then forwards
    # to the retired `sample_async` from its own back-compat wrapper.
    pytest.mark.filterwarnings(
        "ignore:Using the future as the SamplingClient:FutureWarning:tinker_cookbook\\."
    ),
    pytest.mark.filterwarnings(
        "ignore:DEPRECATED:FutureWarning:tinker\\.lib\\.public_interfaces\\.backcompat"
    ),
]

_WORDS = ["apple", "river", "stone", "cloud", "tiger", "lemon", "piano", "candle"]
_RENDERER = "qwen3_instruct"


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[RunningServer]:
    backend = LocalServiceClient(device="cpu", root=tmp_path / "states")
    with running_server(backend, models=[TINY_CHAT]) as server:
        yield server


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _conversations(path: Path) -> Path:
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"Spell {word}."},
                {"role": "assistant", "content": " ".join(word.upper())},
            ]
        }
        for word in _WORDS
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


class _Collect(logging.Handler):
    """Keeps records of one logger; tinker-cookbook replaces the root handlers (and caplog's)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_tinker_cookbook_off_policy_distillation(
    local_server: RunningServer, tmp_path: Path
) -> None:
    from tinker_cookbook.distillation import train_off_policy
    from tinker_cookbook.distillation.datasets import TeacherConfig
    from tinker_cookbook.renderers import TrainOnWhat
    from tinker_cookbook.supervised.data import FromConversationFileBuilder
    from tinker_cookbook.supervised.types import ChatDatasetBuilderCommonConfig

    common = ChatDatasetBuilderCommonConfig(
        model_name_for_tokenizer=TINY_CHAT,
        renderer_name=_RENDERER,
        max_length=64,
        batch_size=4,
        train_on_what=TrainOnWhat.ALL_ASSISTANT_MESSAGES,
    )
    data = FromConversationFileBuilder(
        common_config=common, file_path=str(_conversations(tmp_path / "chats.jsonl"))
    )
    log_path = tmp_path / "off_policy"
    config = train_off_policy.Config(
        learning_rate=3e-3,
        dataset_configs=[
            train_off_policy.DatasetWithTeacher(
                dataset_builder=data, teacher_config=TeacherConfig(base_model=TINY_CHAT)
            )
        ],
        model_name=TINY_CHAT,
        recipe_name="server_off_policy_check",
        renderer_name=_RENDERER,
        lora_rank=8,
        n_teacher_targets=4,
        batch_size=4,
        save_every=1,
        eval_every=0,
        max_steps=2,
        log_path=str(log_path),
        base_url=local_server.base_url,
    )
    start = time.monotonic()
    loop_logger = logging.getLogger(train_off_policy.__name__)
    collect = _Collect()
    loop_logger.addHandler(collect)
    try:
        asyncio.run(train_off_policy.main(config))
    finally:
        loop_logger.removeHandler(collect)
    print(f"off-policy distillation: {time.monotonic() - start:.1f}s")

    metrics = _rows(log_path / "metrics.jsonl")
    assert [m["step"] for m in metrics] == [0, 1]
    assert all(m["batch_size"] == 4 for m in metrics)
    # Without top-k prompt logprobs the loop silently falls back to hard targets.
    assert not [m for m in collect.messages if "hard targets" in m], collect.messages
    losses = [float(m["train/loss:sum"]) for m in metrics]
    assert all(math.isfinite(v) and v > 0 for v in losses), metrics
    checkpoints = _rows(log_path / "checkpoints.jsonl")
    names = [c["name"] for c in checkpoints]
    assert "final" in names, checkpoints
    assert all(str(c["state_path"]).startswith("tinker://") for c in checkpoints)


def _toolalpaca_arrow(path: Path) -> Path:
    from datasets import Dataset

    prompts = [f"Spell the word {word} in capital letters." for word in _WORDS]
    golden = [" ".join(word.upper()) for word in _WORDS]
    Dataset.from_dict({"prompt": prompts, "golden_response": golden}).save_to_disk(str(path))
    return path


def test_tinker_cookbook_sdft_topk(local_server: RunningServer, tmp_path: Path) -> None:
    from tinker_cookbook.distillation import sdft
    from tinker_cookbook.recipes.sdft.datasets import ToolAlpacaSDFTBuilder

    builder = ToolAlpacaSDFTBuilder(
        groups_per_batch=2,
        group_size=2,
        model_name_for_tokenizer=TINY_CHAT,
        renderer_name=_RENDERER,
        data_path=str(_toolalpaca_arrow(tmp_path / "toolalpaca")),
    )
    train_ds, _test_ds = asyncio.run(builder())
    log_path = tmp_path / "sdft"
    cfg = sdft.Config(
        model_name=TINY_CHAT,
        recipe_name="server_sdft_check",
        renderer_name=_RENDERER,
        lora_rank=8,
        base_url=local_server.base_url,
        learning_rate=1e-3,
        max_tokens=12,
        topk=4,
        eval_every=0,
        save_every=20,
        max_steps=2,
        log_path=str(log_path),
    )
    start = time.monotonic()
    asyncio.run(sdft.main(cfg, train_ds))
    print(f"sdft top-k: {time.monotonic() - start:.1f}s")

    metrics = _rows(log_path / "metrics.jsonl")
    assert [m["progress/batch"] for m in metrics] == [0, 1]
    for m in metrics:
        # 2 problems x 2 samples each; the teacher's top-4 came back for completion tokens.
        assert m["sdft/num_datums"] == 4 and m["sdft/topk"] == 4, m
        assert m["sdft/total_completion_tokens"] > 0, m
        assert math.isfinite(m["sdft/mean_teacher_entropy"]), m
        assert 0 < m["sdft/mean_teacher_entropy"] <= math.log(4) + 1e-6, m
    checkpoints = _rows(log_path / "checkpoints.jsonl")
    assert any(c["name"] == "final" for c in checkpoints), checkpoints
