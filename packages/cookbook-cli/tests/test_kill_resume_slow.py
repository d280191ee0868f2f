"""A run killed with SIGKILL mid-training, then rerun, ends where an uninterrupted run ends.

Real processes, the real local engine and tiny model: the first run is killed without
warning after a checkpoint and a few more steps; the rerun must resume from the last
checkpoint (same data order, same optimizer state) and reach the same final metrics
as a run that was never interrupted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import kill_run_after, run_cli
from cookbook_runtime.framework import read_jsonl

pytestmark = pytest.mark.slow

SETTINGS = ["max_steps=24", "save_every=6", "eval_every=6", "batch_size=16", "seed=3"]


def _last_step(run_dir: Path) -> int:
    steps = [int(r["step"]) for r in read_jsonl(run_dir / "metrics.jsonl") if "train_mean_nll" in r]
    return max(steps, default=-1)


def _final_rows(run_dir: Path) -> dict[int, dict[str, float]]:
    rows: dict[int, dict[str, float]] = {}
    for row in read_jsonl(run_dir / "metrics.jsonl"):
        kept = {k: v for k, v in row.items() if isinstance(v, float) and not k.startswith("time/")}
        rows.setdefault(int(row["step"]), {}).update(kept)
    return rows


def test_sigkill_then_rerun_matches_uninterrupted(tmp_path: Path) -> None:
    killed_dir = tmp_path / "killed"
    kill_run_after(["run", "sl_basic", f"log_path={killed_dir}", *SETTINGS], lambda: _last_step(killed_dir), 9)
    killed_at = _last_step(killed_dir)
    assert 9 <= killed_at < 23, f"killed at step {killed_at}"
    assert [c["step"] for c in read_jsonl(killed_dir / "checkpoints.jsonl")][:1] == [6]

    resumed = run_cli("run", "sl_basic", f"log_path={killed_dir}", *SETTINGS, module=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    clean_dir = tmp_path / "clean"
    clean = run_cli("run", "sl_basic", f"log_path={clean_dir}", *SETTINGS, module=True, timeout=900)
    assert clean.returncode == 0, clean.stderr[-3000:]

    got, want = _final_rows(killed_dir), _final_rows(clean_dir)
    assert sorted(got) == sorted(want), "resumed run logged a different set of steps"
    last = max(want)
    for step in (killed_at, last):
        for key, value in want[step].items():
            assert got[step][key] == pytest.approx(value, rel=1e-4, abs=1e-5), f"step {step} {key}"
    assert [c["name"] for c in read_jsonl(killed_dir / "checkpoints.jsonl")][-1] == "final"
