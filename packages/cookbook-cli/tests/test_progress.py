"""The progress bar: rendered in a real pseudo-terminal, and fed directly."""

from __future__ import annotations

import importlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_in_pty
from cookbook_cli._progress import LIBRARY_BAR_SWITCHES, ProgressBar, loss_of
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


@pytest.mark.parametrize(("env", "module_name"), sorted(LIBRARY_BAR_SWITCHES.items()))
def test_library_progress_bars_are_off_while_ours_runs(
    env: str, module_name: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    library, module_path = module_name
    pytest.importorskip(library)
    bars = importlib.import_module(module_path)  # the module (`<library>.utils.tqdm` is also a class)
    monkeypatch.delenv(env, raising=False)
    # A library imported earlier in this process, under one of our bars, froze its env switch on.
    monkeypatch.setattr(bars, env, None, raising=False)  # None: as if the variable was never set
    bars.enable_progress_bars()
    with ProgressBar(Console(file=io.StringIO())):
        assert bars.are_progress_bars_disabled()
        assert os.environ[env] == "1"  # for libraries imported later
    assert not bars.are_progress_bars_disabled()
    assert env not in os.environ


@pytest.mark.parametrize(("env", "module_name"), sorted(LIBRARY_BAR_SWITCHES.items()))
def test_a_library_imported_during_the_run_starts_with_its_bars_off(
    env: str, module_name: tuple[str, str], tmp_path: Path
) -> None:
    library, module_path = module_name
    pytest.importorskip(library)
    code = (
        "import importlib, io, os\n"
        f"os.environ.pop({env!r}, None)\n"
        "from rich.console import Console\n"
        "from cookbook_cli._progress import ProgressBar\n"
        "with ProgressBar(Console(file=io.StringIO())):\n"
        f"    bars = importlib.import_module({module_path!r})\n"
        "    assert bars.are_progress_bars_disabled(), 'library bars drawn under ours'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
