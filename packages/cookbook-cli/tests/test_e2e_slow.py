"""The main job end to end: `cookbook run sl_basic` on the local engine with the tiny model.

Real torch training, real files, real sampling, in subprocesses the way a user runs it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_helpers import run_cli
from cookbook_runtime.framework import read_jsonl

pytestmark = pytest.mark.slow


def test_sl_basic_trains_resumes_and_samples(tmp_path: Path) -> None:
    first = run_cli("run", "sl_basic", "log_path=runs/sl", module=True, timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]
    run_dir = tmp_path / "runs" / "sl"
    for name in ("experiment.json", "config.json", "events.jsonl", "metrics.jsonl", "checkpoints.jsonl", "run.json"):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"
    rows = list(read_jsonl(run_dir / "metrics.jsonl"))
    nll = [row["test/nll"] for row in rows if "test/nll" in row]
    assert len(nll) >= 2
    assert nll[-1] <= 0.7 * nll[0], f"held-out NLL fell only from {nll[0]:.3f} to {nll[-1]:.3f}"
    assert any((run_dir / "checkpoints").rglob("*.safetensors")), "no checkpoint files in the run directory"
    checkpoints = list(read_jsonl(run_dir / "checkpoints.jsonl"))
    assert checkpoints and checkpoints[-1]["final"] and checkpoints[-1]["sampler_path"]
    assert "run directory: runs/sl" in first.stdout
    assert "prompt:" in first.stdout and "answer:" in first.stdout
    match = re.search(r"held-out exact match: (\d\.\d\d) \((\d+)/(\d+)\)", first.stdout)
    assert match, first.stdout
    assert int(match[3]) >= 50 and float(match[1]) >= 0.60, match[0]

    again = run_cli("run", "sl_basic", "log_path=runs/sl", module=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming run in runs/sl" in again.stderr
    skipped = {e["stage"] for e in read_jsonl(run_dir / "events.jsonl") if e["event"] == "stage_skipped"}
    assert {"supervised_train", "evaluate_exact_match", "sample"} <= skipped
    assert len(list(read_jsonl(run_dir / "metrics.jsonl"))) == len(rows)  # nothing retrained

    chat = run_cli("sample", "runs/sl", "reverse d o g", "--max-tokens", "16", module=True, timeout=600)
    assert chat.returncode == 0, chat.stderr[-3000:]
    assert chat.stdout.startswith("user: reverse d o g\nassistant: ")

    scored = run_cli("eval", "runs/sl", "--task", "tiny_chat", module=True, timeout=600)
    assert scored.returncode == 0, scored.stderr[-3000:]
    found = re.search(r"^pass@1: (\d\.\d\d) \((\d+)/64\)$", scored.stdout, re.MULTILINE)
    assert found and float(found[1]) >= 0.60, scored.stdout
    assert (run_dir / "eval" / "tiny_chat.json").is_file() and (run_dir / "eval" / "tiny_chat.jsonl").is_file()
    versus = run_cli(
        "eval", "base:cookbook/tiny-chat", "--renderer", "qwen3_instruct", "--task", "tiny_chat", "--limit", "16",
        "--compare", "runs/sl", "--no-write", module=True, timeout=600,
    )
    assert versus.returncode == 0, versus.stderr[-3000:]
    row = next(line for line in versus.stdout.splitlines() if line.lstrip("│ ").startswith("pass@1"))
    base, trained, delta = (float(v) for v in re.findall(r"[+-]?\d\.\d\d", row))
    assert trained > base and delta == pytest.approx(trained - base, abs=0.011), versus.stdout

    listing = run_cli("runs", module=True)
    assert listing.returncode == 0
    assert "sl_basic" in listing.stdout and "finished" in listing.stdout
