"""The local DPO demonstration: `cookbook run dpo` (SFT warm start, then DPO) on the tiny model.

Held-out pair accuracy (the share of tiny-prefs' 128 held-out pairs whose right
answer the model gives a higher logprob than the wrong one; neither DPO nor the
warm start trains on those prompts) must rise by at least 0.15 from the first
evaluation (the DPO reference, right after the warm start) to the last, within 5
minutes, and the run must print both. A rerun of the finished directory must keep
the pinned reference and report the same numbers.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from cli_helpers import run_cli
from cookbook_runtime.framework import read_jsonl

pytestmark = pytest.mark.slow


def test_dpo_raises_held_out_pair_accuracy(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_cli("run", "dpo", "log_path=runs/dpo", module=True, timeout=900)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = tmp_path / "runs" / "dpo"
    accuracy = [r["test/pair_accuracy"] for r in read_jsonl(run_dir / "metrics.jsonl") if "test/pair_accuracy" in r]
    assert len(accuracy) >= 2
    printed = re.search(r"pair accuracy \(dpo_train\) +([\d.]+) -> ([\d.]+)", result.stdout)
    assert printed, result.stdout[-2000:]
    assert float(printed.group(1)) == pytest.approx(accuracy[0], abs=1e-3)
    assert float(printed.group(2)) == pytest.approx(accuracy[-1], abs=1e-3)
    assert accuracy[-1] - accuracy[0] >= 0.15, f"held-out pair accuracy {accuracy[0]:.3f} -> {accuracy[-1]:.3f}"
    print(f"dpo demonstration wall time: {elapsed:.0f} s (target: under 5 minutes on 2 cores)")
    assert (run_dir / "sft" / "checkpoints.jsonl").is_file() and (run_dir / "dpo_reference.json").is_file()
