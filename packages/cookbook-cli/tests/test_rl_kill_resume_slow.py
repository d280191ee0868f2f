"""An RL run killed with SIGKILL, then rerun, ends where an uninterrupted run ends: sync and async.

Real processes on the real local engine: `math_rl` on the arithmetic env, killed
without warning after a checkpoint and a few more steps. The rerun resumes from the
last checkpoint (the async mode also replays the batches that were in flight, with
the sampler weights recorded beside the checkpoint) and must log the same metrics,
step for step, as a run that was never interrupted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import kill_run_after, run_cli
from cookbook_runtime.framework import read_jsonl

pytestmark = pytest.mark.slow

SETTINGS = [
    "max_steps=10", "save_every=4", "eval_every=4", "groups_per_batch=4", "group_size=4", "max_tokens=12",
    "seed=5", 'env_options={"num_batches": 10, "test_problems": 8}',
]


def _last_step(run_dir: Path) -> int:
    steps = [int(r["step"]) for r in read_jsonl(run_dir / "metrics.jsonl") if "env/all/reward/total" in r]
    return max(steps, default=-1)


def _rows(run_dir: Path) -> dict[int, dict[str, float]]:
    rows: dict[int, dict[str, float]] = {}
    for row in read_jsonl(run_dir / "metrics.jsonl"):
        kept = {k: float(v) for k, v in row.items() if isinstance(v, int | float) and not k.startswith("time/")}
        rows.setdefault(int(row["step"]), {}).update(kept)
    return rows


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_rl_sigkill_then_rerun_matches_uninterrupted(tmp_path: Path, mode: str) -> None:
    settings = [*SETTINGS, f"mode={mode}"]
    killed_dir = tmp_path / "killed"
    kill_run_after(["run", "math_rl", f"log_path={killed_dir}", *settings], lambda: _last_step(killed_dir), 5)
    killed_at = _last_step(killed_dir)
    assert 5 <= killed_at < 9, f"killed at step {killed_at}"

    resumed = run_cli("run", "math_rl", f"log_path={killed_dir}", *settings, module=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    clean_dir = tmp_path / "clean"
    clean = run_cli("run", "math_rl", f"log_path={clean_dir}", *settings, module=True, timeout=900)
    assert clean.returncode == 0, clean.stderr[-3000:]

    got, want = _rows(killed_dir), _rows(clean_dir)
    assert sorted(got) == sorted(want), "resumed run logged a different set of steps"
    for step in sorted(want):
        for key, value in want[step].items():
            assert got[step][key] == pytest.approx(value, rel=1e-4, abs=1e-4), f"step {step} {key}"
    assert "test/env/all/reward/total" in got[max(want)]
