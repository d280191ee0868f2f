"""Helpers for running `cookbook` in subprocesses and pseudo-terminals (imported by tests).

Kept out of conftest.py: test modules import these by name, and several packages'
test folders each have a `conftest` module.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

TOY_CLI = Path(__file__).parent / "toy_cli.py"


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
