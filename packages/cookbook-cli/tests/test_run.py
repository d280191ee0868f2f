"""`cookbook run` and `run-spec` on the test manifest: outputs, resume, --if-exists, failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli_helpers import run_cli, run_in_pty
from cookbook_runtime.framework import read_jsonl


def test_run_writes_the_run_dir_and_reports_metrics_and_sample(cli: Any, tmp_path: Path) -> None:
    result = cli("run", "toy", "--manifest", "test", "log_path=runs/a", "api_key=sk-secret-1")
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "runs" / "a"
    for name in ("experiment.json", "config.json", "events.jsonl", "metrics.jsonl", "checkpoints.jsonl", "run.json"):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"
    assert "sk-secret-1" not in (run_dir / "config.json").read_text()
    assert "sk-secret-1" not in result.output
    assert "run directory: runs/a" in result.stdout
    assert "last metrics (step 4): train_mean_nll=0.8192" in result.stdout
    assert "prompt: What is 2+2?" in result.stdout and "answer: four, I think" in result.stdout


def test_rerun_resumes_by_default(cli: Any, tmp_path: Path) -> None:
    assert cli("run", "toy", "--manifest", "test", "log_path=r").exit_code == 0
    again = cli("run", "toy", "--manifest", "test", "log_path=r")
    assert again.exit_code == 0, again.output
    assert "resuming run in r" in again.stderr
    events = [e for e in read_jsonl(tmp_path / "r" / "events.jsonl") if e["event"] == "stage_skipped"]
    assert {e["stage"] for e in events} == {"toy_train", "toy_sample"}
    assert len(list(read_jsonl(tmp_path / "r" / "metrics.jsonl"))) == 4  # nothing retrained


def test_if_exists_fail(cli: Any) -> None:
    assert cli("run", "toy", "--manifest", "test", "log_path=r").exit_code == 0
    result = cli("run", "toy", "--manifest", "test", "log_path=r", "--if-exists", "fail")
    assert result.exit_code == 2
    assert "run directory 'r' already exists" in result.stderr and result.stderr.count("\n") == 1


def test_if_exists_overwrite_with_yes_starts_over(cli: Any, tmp_path: Path) -> None:
    assert cli("run", "toy", "--manifest", "test", "log_path=r").exit_code == 0
    (tmp_path / "r" / "stray.txt").write_text("old")
    result = cli("run", "toy", "--manifest", "test", "log_path=r", "--if-exists", "overwrite", "--yes")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "r" / "stray.txt").exists()
    assert len(list(read_jsonl(tmp_path / "r" / "metrics.jsonl"))) == 4


def test_overwrite_without_tty_or_yes_refuses(tmp_path: Path) -> None:
    first = run_cli("run", "toy", "--manifest", "test", "log_path=r")
    assert first.returncode == 0, first.stderr
    proc = run_cli("run", "toy", "--manifest", "test", "log_path=r", "--if-exists", "overwrite")
    assert proc.returncode == 2
    assert "pass --yes" in proc.stderr and proc.stderr.count("\n") == 1
    assert (tmp_path / "r" / "metrics.jsonl").exists()


def test_a_different_experiment_in_the_same_dir_is_refused(cli: Any) -> None:
    assert cli("run", "toy", "--manifest", "test", "log_path=r").exit_code == 0
    result = cli("run", "toy", "--manifest", "test", "log_path=r", "training.steps=2")
    assert result.exit_code == 2
    assert "holds a different experiment" in result.stderr


def test_a_failing_stage_is_one_line_and_recorded(cli: Any, tmp_path: Path) -> None:
    result = cli("run", "toy", "--manifest", "test", "log_path=r", "fail=true")
    assert result.exit_code == 2
    assert "stage 'toy_train' failed: toy training blew up" in result.stderr
    assert "Traceback" not in result.output
    assert json.loads((tmp_path / "r" / "run.json").read_text())["status"] == "failed"


def test_spec_then_run_spec_round_trip(cli: Any, tmp_path: Path) -> None:
    spec = cli("spec", "toy", "--manifest", "test", "log_path=from-spec", "training.steps=2")
    assert spec.exit_code == 0
    (tmp_path / "exp.json").write_text(spec.stdout)
    result = cli("run-spec", "exp.json")
    assert result.exit_code == 0, result.output
    assert len(list(read_jsonl(tmp_path / "from-spec" / "metrics.jsonl"))) == 2
    assert "run directory: from-spec" in result.stdout


def test_run_spec_errors(cli: Any, tmp_path: Path) -> None:
    missing = cli("run-spec", "nope.json")
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    (tmp_path / "bad.json").write_text('{"id": "x"}')
    invalid = cli("run-spec", "bad.json")
    assert invalid.exit_code == 2 and "pipeline: Field required" in invalid.stderr
    (tmp_path / "stage.json").write_text('{"id": "x", "pipeline": [{"name": "toy_trian"}]}')
    unknown = cli("run-spec", "stage.json", "--manifest", "test")
    assert unknown.exit_code == 2 and "(did you mean 'toy_train'?)" in unknown.stderr


def test_run_spec_dry_run_with_another_manifest(cli: Any, tmp_path: Path) -> None:
    spec = cli("spec", "toy", "log_path=x")
    (tmp_path / "exp.json").write_text(spec.stdout)
    result = cli("run-spec", "exp.json", "--manifest", "test", "--dry-run")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["backend"]["manifest"] == "test"
    assert not (tmp_path / "x").exists()


def test_overwrite_in_a_terminal_asks_first(tmp_path: Path) -> None:
    assert run_cli("run", "toy", "--manifest", "test", "log_path=r").returncode == 0
    (tmp_path / "r" / "stray.txt").write_text("old")
    args = ["run", "toy", "--manifest", "test", "log_path=r", "--if-exists", "overwrite"]
    code, text = run_in_pty(args, tmp_path, answer=b"n\n")
    assert code == 1 and "Delete r and start over?" in text
    assert (tmp_path / "r" / "stray.txt").exists()
    code, text = run_in_pty(args, tmp_path, answer=b"y\n")
    assert code == 0, text
    assert not (tmp_path / "r" / "stray.txt").exists()


def test_the_real_sl_basic_recipe_on_fakes_with_local_files(tmp_path: Path) -> None:
    """The shipped recipe through the CLI: fake backend, but its real bundled dataset files."""
    proc = run_cli("run", "sl_basic", "--manifest", "test", "--port", "datasets=files", "log_path=sl", module=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "run directory: sl" in proc.stdout and "answer:" in proc.stdout
    assert json.loads((tmp_path / "sl" / "run.json").read_text())["status"] == "finished"
    nll = [r["train_mean_nll"] for r in read_jsonl(tmp_path / "sl" / "metrics.jsonl") if "train_mean_nll" in r]
    assert nll and nll[-1] < nll[0]


def test_quiet_run_draws_no_progress_and_no_notes(tmp_path: Path) -> None:
    assert run_cli("run", "toy", "--manifest", "test", "log_path=r").returncode == 0
    code, text = run_in_pty(["-q", "run", "toy", "--manifest", "test", "log_path=r", "name=other", "--if-exists", "overwrite", "-y"], tmp_path)
    assert code == 0, text
    assert "toy_train" not in text and "resuming" not in text
    assert "run directory:" in text and "answer:" in text


def test_a_bug_in_a_stage_exits_1_with_the_traceback_and_the_stage(tmp_path: Path) -> None:
    proc = run_cli("run", "toy", "--manifest", "test", "log_path=r", "crash=true")
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "RuntimeError: toy bug" in proc.stderr
    assert "stage 'toy_train'" in proc.stderr
    assert json.loads((tmp_path / "r" / "run.json").read_text())["status"] == "failed"


def test_ctrl_c_exits_130_with_one_line_and_the_run_resumes(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from cli_helpers import TOY_CLI

    args = ["-q", "run", "toy", "--manifest", "test", "log_path=r", "step_delay=0.1", "training.steps=100"]
    proc = subprocess.Popen(
        [sys.executable, str(TOY_CLI), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path
    )
    while not (tmp_path / "r" / "metrics.jsonl").exists() and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and time.monotonic() - sent < 2.0
    assert err.decode() == "cookbook: error: interrupted; the run is saved: run the same command again to resume\n"
    assert json.loads((tmp_path / "r" / "run.json").read_text())["status"] == "interrupted"
    again = run_cli(*args[1:])
    assert again.returncode == 0, again.stderr
