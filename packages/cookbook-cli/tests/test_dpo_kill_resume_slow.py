"""A DPO run killed with SIGKILL, then rerun, keeps its reference and ends where an uninterrupted run ends.

Real processes on the real local engine: the local `dpo` recipe, shortened, killed
without warning after a DPO checkpoint and a few more steps. The rerun resumes from
the last checkpoint with the reference pinned in `dpo_reference.json` (the weights
the DPO stage started from, not the resumed ones), so every step logs the same
reference logprobs and the same loss as a run that was never interrupted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import kill_run_after, run_cli
from cookbook_runtime.framework import read_jsonl

pytestmark = pytest.mark.slow

SETTINGS = ["sft_max_steps=10", "max_steps=12", "save_every=4", "eval_every=4", "batch_size=16", "max_eval_batches=2"]
COMPARED = ("ref/chosen_logprob", "ref/rejected_logprob", "dpo_loss", "accuracy", "margin")


def _last_step(run_dir: Path) -> int:
    steps = [int(r["step"]) for r in read_jsonl(run_dir / "metrics.jsonl") if "dpo_loss" in r]
    return max(steps, default=-1)


def _rows(run_dir: Path) -> dict[int, dict[str, float]]:
    return {
        int(r["step"]): {k: float(r[k]) for k in COMPARED}
        for r in read_jsonl(run_dir / "metrics.jsonl")
        if "dpo_loss" in r
    }


def test_dpo_sigkill_then_rerun_keeps_the_reference(tmp_path: Path) -> None:
    killed_dir = tmp_path / "killed"
    kill_run_after(["run", "dpo", f"log_path={killed_dir}", *SETTINGS], lambda: _last_step(killed_dir), 5)
    killed_at = _last_step(killed_dir)
    assert 5 <= killed_at < 11, f"killed at step {killed_at}"
    pinned = (killed_dir / "dpo_reference.json").read_text()

    resumed = run_cli("run", "dpo", f"log_path={killed_dir}", *SETTINGS, module=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (killed_dir / "dpo_reference.json").read_text() == pinned
    clean_dir = tmp_path / "clean"
    clean = run_cli("run", "dpo", f"log_path={clean_dir}", *SETTINGS, module=True, timeout=900)
    assert clean.returncode == 0, clean.stderr[-3000:]

    got, want = _rows(killed_dir), _rows(clean_dir)
    assert sorted(got) == sorted(want) == list(range(12)), "resumed run logged a different set of steps"
    for step in sorted(want):
        for key, value in want[step].items():
            assert got[step][key] == pytest.approx(value, rel=1e-4, abs=1e-4), f"step {step} {key}"
