"""Unmodified tinker-cookbook resumes a supervised run after the server restarted on its state dir.

The first server trains four steps, checkpointing at step 2. Two copies of the run,
cut back to that checkpoint, are resumed: one on the same server, one on a new
server over the same state directory (nothing else shared), after tinker-cookbook's
`checkpoint_utils` found the run's renderer and the listings held every checkpoint.
Both resumes must train alike.

(The oracle is a resume without a restart, not the uninterrupted run: tinker-cookbook
0.5.8 saves the step-N checkpoint after queueing step N's update, yet records batch N
as the next to run, so its own resume repeats that batch, against any backend.)
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("tinker_cookbook")

import tinker
from cookbook_adapters.local import TINY_CHAT, LocalServiceClient
from cookbook_adapters.server import RunningServer, running_server

pytestmark = pytest.mark.slow

_WORDS = ["apple", "river", "stone", "cloud", "tiger", "lemon", "piano", "candle"]
_RENDERER = "qwen3_instruct"


@contextmanager
def _server(state_dir: Path) -> Iterator[RunningServer]:
    backend = LocalServiceClient(device="cpu", root=state_dir / "files")
    with running_server(backend, models=[TINY_CHAT], state_dir=state_dir) as server:
        yield server
    asyncio.run(backend.close())


def _conversations(path: Path) -> Path:
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"Spell {word}."},
                {"role": "assistant", "content": " ".join(word.upper())},
            ]
        }
        for _ in range(4)
        for word in _WORDS
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _train(base_url: str, log_path: Path, chats: Path, max_steps: int) -> None:
    from tinker_cookbook.renderers import TrainOnWhat
    from tinker_cookbook.supervised import train
    from tinker_cookbook.supervised.data import FromConversationFileBuilder
    from tinker_cookbook.supervised.types import ChatDatasetBuilderCommonConfig

    common = ChatDatasetBuilderCommonConfig(
        model_name_for_tokenizer=TINY_CHAT,
        renderer_name=_RENDERER,
        max_length=64,
        batch_size=8,
        train_on_what=TrainOnWhat.ALL_ASSISTANT_MESSAGES,
    )
    config = train.Config(
        log_path=str(log_path),
        model_name=TINY_CHAT,
        recipe_name="restart_check",
        renderer_name=_RENDERER,
        dataset_builder=FromConversationFileBuilder(common_config=common, file_path=str(chats)),
        learning_rate=3e-3,
        lr_schedule="constant",
        num_epochs=1,
        lora_rank=8,
        eval_every=0,
        save_every=2,
        max_steps=max_steps,
        base_url=base_url,
    )
    asyncio.run(train.main(config))


def _nll(log_path: Path) -> list[tuple[int, float]]:
    rows: list[dict[str, Any]] = [
        json.loads(line) for line in (log_path / "metrics.jsonl").read_text().splitlines()
    ]
    return [(int(r["step"]), float(r["train_mean_nll"])) for r in rows if "train_mean_nll" in r]


def test_tinker_cookbook_resumes_after_a_server_restart(tmp_path: Path) -> None:
    from tinker_cookbook import checkpoint_utils

    state_dir, chats = tmp_path / "state", _conversations(tmp_path / "chats.jsonl")
    clean, no_restart, interrupted = tmp_path / "clean", tmp_path / "same", tmp_path / "restarted"
    with _server(state_dir) as first:
        _train(first.base_url, clean, chats, max_steps=4)
        saved = [
            r.state_path for r in checkpoint_utils.load_checkpoints_file(str(clean)) if r.state_path
        ]
        assert len(saved) == 2 and all(p.startswith("tinker://") for p in saved), saved
        # The run as if killed right after its step-2 checkpoint: logs cut back to that point.
        checkpoints = (clean / "checkpoints.jsonl").read_text().splitlines()
        metrics = (clean / "metrics.jsonl").read_text().splitlines()
        for copy in (no_restart, interrupted):
            shutil.copytree(clean, copy)
            (copy / "checkpoints.jsonl").write_text(checkpoints[0] + "\n")
            (copy / "metrics.jsonl").write_text("\n".join(metrics[:2]) + "\n")
        _train(first.base_url, no_restart, chats, max_steps=4)

    with _server(state_dir) as second:
        service = tinker.ServiceClient(base_url=second.base_url)
        last = checkpoint_utils.get_last_checkpoint(str(interrupted))
        assert last is not None
        assert checkpoint_utils.get_renderer_name_from_checkpoint(service, last.state_path) == _RENDERER
        rest = tinker.RestClient(base_url=second.base_url)
        listed = {c.tinker_path for c in rest.list_user_checkpoints(limit=100).result().checkpoints}
        assert set(saved) <= listed, f"checkpoints missing after the restart: {set(saved) - listed}"

        _train(second.base_url, interrupted, chats, max_steps=4)

    resumed, oracle = _nll(interrupted), _nll(no_restart)
    # Steps 0 and 1 logged once: the second run resumed at step 2 rather than starting over.
    assert [s for s, _ in resumed] == [s for s, _ in oracle] == [0, 1, 2, 3], resumed
    for (step, got), (_, want) in zip(resumed, oracle, strict=True):
        assert got == pytest.approx(want, rel=1e-5), f"step {step}: after a restart {got} vs without {want}"
