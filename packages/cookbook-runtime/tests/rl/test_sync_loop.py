"""The sync loop on the fakes: metrics, checkpoints, rollout logs, evaluation, exact resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cookbook_runtime.testing import FakeServiceClient
from cookbook_runtime.train.checkpoints import read_checkpoints
from cookbook_runtime.train.rl import RLConfig, train_sync

from .conftest import make_run, rows


async def test_sync_loop_logs_every_step_and_a_final_eval(tmp_path: Path) -> None:
    result = await train_sync(make_run(tmp_path))
    logged = rows(tmp_path)
    assert [r["step"] for r in logged] == [0, 1, 2, 3, 4, 5, 6]
    step = logged[1]
    for key in (
        "env/all/reward/total",
        "env/all/by_group/frac_mixed",
        "env/all/by_group/frac_all_good",
        "env/all/by_group/frac_all_bad",
        "env/all/correct",
        "env/all/format",
        "env/all/ac_tokens_per_turn",
        "optim/kl_sample_train_v1",
        "optim/entropy",
        "progress/done_frac",
    ):
        assert key in step, key
    evals = [r["step"] for r in logged if "test/env/all/reward/total" in r]
    assert evals == [0, 2, 4, 6]
    assert result.steps == 6 and result.first_eval and result.last_eval
    assert [c.step for c in read_checkpoints(tmp_path)] == [2, 4, 6]
    first_log = (tmp_path / "rollouts" / "000000.jsonl").read_text().splitlines()
    assert len(first_log) == 2 * 4 and "observation" in json.loads(first_log[0])["turns"][0]


async def test_each_step_trains_once_per_substep(tmp_path: Path) -> None:
    service = FakeServiceClient()
    await train_sync(make_run(tmp_path, service=service, config=RLConfig(max_tokens=8, num_substeps=2), batches=2))
    client = service.training_clients[0]
    calls = [name for name, _ in client.log if name in ("forward_backward", "optim_step")]
    assert calls == ["forward_backward", "optim_step"] * 4


async def test_kl_penalty_uses_the_starting_weights(tmp_path: Path) -> None:
    config = RLConfig(max_tokens=8, kl_penalty_coef=0.1)
    await train_sync(make_run(tmp_path, config=config, batches=3))
    logged = rows(tmp_path)
    assert all("kl_policy_base" in r for r in logged[:3])


@pytest.mark.parametrize("crash_at", [3, 4])
async def test_resume_after_a_crash_equals_an_uninterrupted_run(tmp_path: Path, crash_at: int) -> None:
    whole = tmp_path / "whole"
    await train_sync(make_run(whole))
    broken = tmp_path / "broken"
    with pytest.raises(KeyboardInterrupt):
        await train_sync(make_run(broken, crash_at=crash_at))
    assert [r["step"] for r in rows(broken)] == list(range(crash_at))
    resumed = await train_sync(make_run(broken))
    assert resumed.start_step == (2 if crash_at == 3 else 4)
    assert rows(broken) == rows(whole)
    assert resumed.first_eval == pytest.approx(await _first_eval(whole))


async def _first_eval(run_dir: Path) -> dict[str, float]:
    row = next(r for r in rows(run_dir) if "test/env/all/reward/total" in r)
    return {k: v for k, v in row.items() if k.startswith("test/")}

