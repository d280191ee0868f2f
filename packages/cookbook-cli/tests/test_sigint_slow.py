"""Ctrl-C during training stops within 2 s, exits 130, and leaves a run that resumes.

A real process on the real local engine: SIGINT arrives after a few logged steps;
the process must be gone within two seconds, record the run as interrupted, and a
rerun of the same command must finish from the last checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import run_cli
from cookbook_runtime.framework import read_jsonl

pytestmark = pytest.mark.slow

SETTINGS = ["max_steps=40", "save_every=4", "eval_every=0", "batch_size=8", "seed=1"]


def _last_step(run_dir: Path) -> int:
    steps = [int(r["step"]) for r in read_jsonl(run_dir / "metrics.jsonl") if "train_mean_nll" in r]
    return max(steps, default=-1)


def test_sigint_stops_within_two_seconds_and_the_run_resumes(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cookbook_cli", "-q", "run", "sl_basic", f"log_path={run_dir}", *SETTINGS],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env={**os.environ},
    )
    deadline = time.monotonic() + 600
    while _last_step(run_dir) < 5 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
    sent = time.monotonic()
    os.kill(proc.pid, signal.SIGINT)
    try:
        code = proc.wait(timeout=30)
    finally:
        proc.kill()
    took = time.monotonic() - sent
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    print(f"SIGINT to exit: {took:.2f} s (exit {code})")
    assert code == 130, stderr[-2000:]
    assert took < 2.0, f"took {took:.2f} s to stop"
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert list(read_jsonl(run_dir / "checkpoints.jsonl")), "no checkpoint to resume from"

    resumed = run_cli("run", "sl_basic", f"log_path={run_dir}", *SETTINGS, module=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"
