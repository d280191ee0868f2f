"""Shared fixtures: the toy recipe, a CLI runner, and a subprocess runner."""

from __future__ import annotations

import logging
import os
import pty
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import toy_recipe
from cookbook_cli.app import app
from typer.testing import CliRunner

toy_recipe.register()

TOY_CLI = Path(__file__).parent / "toy_cli.py"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test runs in its own folder with no user manifests, and leaves logging as it was."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COOKBOOK_MANIFESTS", str(tmp_path / "no-manifests.toml"))
    monkeypatch.setenv("COLUMNS", "200")
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


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


def run_in_pty(args: list[str], cwd: Path, *, answer: bytes | None = None) -> tuple[int, str]:
    """Run the toy `cookbook ARGS` attached to a pseudo-terminal; return (exit code, everything drawn)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, str(TOY_CLI), *args], stdin=follower, stdout=follower, stderr=follower, cwd=cwd, env=env
    )
    os.close(follower)
    if answer is not None:
        os.write(leader, answer)  # the terminal buffers it until the prompt reads
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")
