"""The local distillation demonstration: `cookbook run distillation` on the tiny model.

The pipeline trains the teacher (the tiny model fine-tuned on tiny-chat), gives the
student a short warm-up, then distils on-policy. The held-out teacher KL (the
student's samples on tiny-chat's held-out prompts, scored by the teacher) must
fall by at least half, the printed before -> after must match the metrics log,
and the whole run must take under five minutes.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from cli_helpers import run_cli
from cookbook_runtime.framework import read_jsonl

pytestmark = pytest.mark.slow


def test_distillation_halves_the_held_out_teacher_kl(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_cli("run", "distillation", "log_path=runs/distill", module=True, timeout=600)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = tmp_path / "runs" / "distill"
    kls = [r["test/teacher_kl"] for r in read_jsonl(run_dir / "metrics.jsonl") if "test/teacher_kl" in r]
    assert len(kls) >= 2
    printed = re.search(r"teacher KL \(distill_on_policy\) +([\d.]+) -> ([\d.]+)", result.stdout)
    assert printed, result.stdout[-2000:]
    assert float(printed.group(1)) == pytest.approx(kls[0], abs=1e-3)
    assert float(printed.group(2)) == pytest.approx(kls[-1], abs=1e-3)
    assert kls[-1] <= 0.5 * kls[0], f"held-out teacher KL {kls[0]:.3f} -> {kls[-1]:.3f}"
    assert (run_dir / "teacher" / "checkpoints.jsonl").is_file()
    print(f"distillation demonstration wall time: {elapsed:.0f} s (target: under 5 minutes on 2 cores)")
