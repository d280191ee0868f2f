"""The local rl_basic spec (SFT warm start, then RL) through the `tinker` manifest and the local server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

from cookbook_adapters.local import LocalServiceClient
from cookbook_adapters.server import running_server
from cookbook_runtime.errors import UnknownNameError
from cookbook_runtime.runtime import Runtime

pytestmark = pytest.mark.slow


def _rows(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]


def _config(log_path: Path) -> dict[str, Any]:
    try:
        config = Runtime("local").config("rl_basic").model_dump()
    except UnknownNameError:
        pytest.skip("the rl_basic recipe is not installed")
    config.update(
        sft_epochs=1, sft_max_steps=60, max_steps=3, eval_every=2, save_every=2, groups_per_batch=4, group_size=4,
        env_options={"num_batches": 3, "test_problems": 8}, log_path=str(log_path),
    )
    return config


@pytest.fixture
def local_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with running_server(LocalServiceClient(device="cpu", root=tmp_path / "server-states")) as server:
        monkeypatch.setenv("TINKER_BASE_URL", server.base_url)
        yield server.base_url


def test_rl_basic_over_the_tinker_manifest(local_server: str, tmp_path: Path) -> None:
    tinker_dir = tmp_path / "tinker"
    result = Runtime("tinker").run("rl_basic", _config(tinker_dir))
    rl = result.outputs["rl_train"]
    assert rl["steps"] == 3 and "first_test_reward" in rl and "final_test_reward" in rl
    rows = _rows(tinker_dir)
    assert [r["step"] for r in rows] == [0, 1, 2, 3]
    assert all("env/all/reward/total" in r and "optim/kl_sample_train_v1" in r for r in rows[:3])
    # sampler and trainer score the same weights: their logprobs agree
    assert all(abs(r["optim/kl_sample_train_v1"]) < 1e-2 for r in rows[:3])
    checkpoints = [json.loads(line) for line in (tinker_dir / "checkpoints.jsonl").read_text().splitlines()]
    assert checkpoints[0]["state_path"].startswith("tinker://")
    assert result.outputs["sample"]["completion"]
