"""`serve` (what `cookbook serve` runs) answers on the given port and stops cleanly on SIGINT."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

_SCRIPT = """
import sys
from cookbook_adapters.server import serve
from cookbook_runtime.testing import FakeServiceClient
serve("127.0.0.1", int(sys.argv[1]), "fake/served", backend=FakeServiceClient())
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_blocks_answers_and_stops_on_interrupt(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "HF_HUB_CACHE": str(tmp_path / "hf-hub"),  # the served tokenizer is published there
        "COOKBOOK_DATA_DIR": str(tmp_path / "data"),  # and the state kept here
    }
    with subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, str(port)], stderr=subprocess.PIPE, text=True, env=env
    ) as proc:  # closes the stderr pipe on the way out
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, (
                    f"serve exited early: {proc.stderr.read() if proc.stderr else ''}"
                )
                try:
                    caps = httpx.get(
                        f"http://127.0.0.1:{port}/api/v1/get_server_capabilities", timeout=2
                    ).json()
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "serve did not start within 60 s"
                    time.sleep(0.2)
            assert [m["model_name"] for m in caps["supported_models"]] == ["fake/served"]
            assert (tmp_path / "hf-hub" / "models--fake--served" / "refs" / "main").is_file()
            assert (tmp_path / "data" / "server" / "server.db").is_file()
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
            assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
