"""The progress bar: rendered in a real pseudo-terminal, and fed directly."""

from __future__ import annotations

import io
import re
from pathlib import Path

from cli_helpers import run_in_pty
from cookbook_cli._progress import ProgressBar, loss_of
from cookbook_runtime.framework import Progress
from rich.console import Console

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_progress_bar_in_a_terminal_shows_steps_loss_and_eta(tmp_path: Path) -> None:
    code, raw = run_in_pty(
        ["run", "toy", "--manifest", "test", "log_path=r", "training.steps=6", "step_delay=0.15"], tmp_path
    )
    text = _ANSI.sub("", raw)
    assert code == 0, text
    assert "toy_train" in text
    assert "6/6" in text, text
    assert re.search(r"[1-5]/6", text), "no intermediate step was drawn"
    assert "loss 0.5243" in text  # 2.0 * 0.8**6, the last step's loss
    assert "eta" in text
    assert "\x1b[" in raw  # it really drew on a terminal


def test_progress_bar_renders_reports_while_active() -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False, width=100)
    with ProgressBar(console) as bar:
        bar.update(Progress("train", 3, 10, {"train_mean_nll": 1.25}))
        bar.update(Progress("train", 10, 10, {"train_mean_nll": 0.5}))
    bar.update(Progress("train", 11, 10, {}))  # after exit: ignored
    lines = [line for line in buf.getvalue().splitlines() if line.strip()]
    assert lines[-1].split()[:1] == ["train"]
    assert "10/10" in lines[-1] and "loss 0.5" in lines[-1]


def test_disabled_progress_bar_prints_nothing() -> None:
    buf = io.StringIO()
    with ProgressBar(Console(file=buf), enabled=False) as bar:
        bar.update(Progress("train", 1, 2, {}))
    assert buf.getvalue() == ""


def test_loss_of_prefers_the_loss_keys() -> None:
    assert loss_of({"loss": 1.0, "train_mean_nll": 2.0}) == "loss 1"
    assert loss_of({"train_mean_nll": 0.123456}) == "loss 0.1235"
    assert loss_of({"reward": 1.0}) == ""
