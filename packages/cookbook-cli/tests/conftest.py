"""Shared fixtures: the toy recipe, a CLI runner, and a subprocess runner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import toy_recipe
from cookbook_cli.app import app
from typer.testing import CliRunner

toy_recipe.register()

TOY_CLI = Path(__file__).parent / "toy_cli.py"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in its own folder with no user manifests."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COOKBOOK_MANIFESTS", str(tmp_path / "no-manifests.toml"))
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def cli() -> Callable[..., object]:
    """Invoke `cookbook ARGS` in-process; stdout and stderr are kept apart."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> object:
        return runner.invoke(app, list(args), input=input)

    return invoke


def run_cli(*args: str, module: bool = False, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`cookbook ARGS` in a subprocess: `python -m cookbook_cli`, or the toy wrapper."""
    cmd = [sys.executable, "-m", "cookbook_cli", *args] if module else [sys.executable, str(TOY_CLI), *args]
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env, stdin=subprocess.DEVNULL)
