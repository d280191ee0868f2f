"""The local RLHF demonstration: `cookbook run rlhf` (SFT, reward model, RL) on the tiny model.

The run must finish, the reward model must rank held-out tiny-prefs pairs better
than chance by its end, and the printed before -> after of the held-out
reward-model score of the policy's (greedy) replies must be the first and last RL
evaluations. Whether that score rises is printed, not asserted: a rising score
with fewer replies matching the preferred answer is reward hacking, and the test
prints both so a reader can see which happened.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from cli_helpers import run_cli
from cookbook_runtime.framework import read_jsonl

pytestmark = pytest.mark.slow


def test_rlhf_runs_and_prints_the_reward_models_score_before_and_after(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_cli("run", "rlhf", "log_path=runs/rlhf", module=True, timeout=1200)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = tmp_path / "runs" / "rlhf"
    rm_rows = [r for r in read_jsonl(run_dir / "reward_model" / "metrics.jsonl") if "test/pair_accuracy" in r]
    assert rm_rows[-1]["test/pair_accuracy"] >= 0.6, rm_rows[-1]
    evals = [r for r in read_jsonl(run_dir / "metrics.jsonl") if "test/env/all/reward/total" in r]
    printed = re.search(r"reward-model score \(rl_train\) +(-?[\d.]+) -> (-?[\d.]+)", result.stdout)
    assert printed, result.stdout[-2000:]
    assert float(printed.group(1)) == pytest.approx(evals[0]["test/env/all/reward/total"], abs=1e-3)
    assert float(printed.group(2)) == pytest.approx(evals[-1]["test/env/all/reward/total"], abs=1e-3)
    first, last = evals[0], evals[-1]
    print(
        f"rlhf: held-out RM pair accuracy {rm_rows[0]['test/pair_accuracy']:.3f} -> "
        f"{rm_rows[-1]['test/pair_accuracy']:.3f}; held-out RM score of policy replies "
        f"{first['test/env/all/reward/total']:.3f} -> {last['test/env/all/reward/total']:.3f}; replies matching "
        f"the preferred answer {first.get('test/env/all/matches_chosen', float('nan')):.3f} -> "
        f"{last.get('test/env/all/matches_chosen', float('nan')):.3f}; wall time {elapsed:.0f} s"
    )
