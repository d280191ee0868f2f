"""Helpers for running `cookbook` in subprocesses and pseudo-terminals (imported by tests).

Kept out of conftest.py: test modules import these by name, and several packages'
test folders each have a `conftest` module.
"""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

TOY_CLI = Path(__file__).parent / "toy_cli.py"


def run_cli(*args: str, module: bool = False, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`cookbook ARGS` in a subprocess: `python -m cookbook_cli`, or the toy wrapper."""
    cmd = [sys.executable, "-m", "cookbook_cli", *args] if module else [sys.executable, str(TOY_CLI), *args]
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env, stdin=subprocess.DEVNULL)


def kill_run_after(args: list[str], past_step: Callable[[], int], step: int, *, sig: int = signal.SIGKILL) -> None:
    """Start `cookbook -q ARGS`, wait until `past_step()` reaches `step`, then send `sig` and reap it.

    Fails (naming the run's last stderr) if the run ends on its own before it can be killed.
    """
    cmd = [sys.executable, "-m", "cookbook_cli", "-q", *args]
    with subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env={**os.environ}
    ) as proc:
        deadline = time.monotonic() + 600
        while past_step() < step and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is not None:
            tail = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            raise AssertionError(f"run ended before it could be killed: {tail}")
        os.kill(proc.pid, sig)
        proc.wait(timeout=60)


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
