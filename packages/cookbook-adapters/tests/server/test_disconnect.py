"""Clients that leave mid-request (an SDK process killed while sampling, a cut-off body) log no error."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from cookbook_adapters.server import RunningServer, running_server

pytest.importorskip("torch")

pytestmark = pytest.mark.slow  # a subprocess SDK client and a real sampling run

_CLIENT = """
import sys
import tinker
from tinker import types
service = tinker.ServiceClient(base_url=sys.argv[1])
sampler = service.create_sampling_client(base_model="cookbook/tiny-chat").result()
print("sampling", flush=True)
params = types.SamplingParams(max_tokens=150, temperature=1.0, seed=1)
sampler.sample(types.ModelInput.from_ints([5, 6, 7]), 2, params).result()
"""


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def server_and_log() -> Iterator[tuple[RunningServer, _Records]]:
    from cookbook_adapters.local import TINY_CHAT, LocalServiceClient

    records = _Records()
    with running_server(LocalServiceClient(device="cpu"), models=[TINY_CHAT]) as server:
        # uvicorn's loggers do not propagate to the root, so listen on them directly.
        watched = [logging.getLogger(n) for n in ("uvicorn", "cookbook_adapters")]
        levels = [logger.level for logger in watched]
        for logger in watched:
            logger.addHandler(records)
            logger.setLevel(logging.INFO)
        try:
            yield server, records
        finally:
            for logger, level in zip(watched, levels, strict=True):
                logger.removeHandler(records)
                logger.setLevel(level)


def _wait(condition: object, what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_client_gone_mid_sample_is_not_an_error(server_and_log: tuple[RunningServer, _Records]) -> None:
    server, records = server_and_log
    with subprocess.Popen(
        [sys.executable, "-c", _CLIENT, server.base_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ},
    ) as client:
        try:
            assert client.stdout is not None and client.stdout.readline().strip() == "sampling"
            _wait(lambda: server.state.in_flight() > 0, "the sample to start")
            os.kill(client.pid, signal.SIGKILL)  # while the SDK polls for the sample
        finally:
            if client.poll() is None:
                client.kill()
            client.wait(timeout=30)
    _wait(lambda: server.state.in_flight() == 0, "the orphaned sample to finish")

    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as cut:  # a body that never arrives whole
        cut.sendall(
            b"POST /api/v1/asample HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{\"sampling_session_id\""
        )
        time.sleep(0.3)
    _wait(
        lambda: any("client left during POST /api/v1/asample" in r.getMessage() for r in records.records),
        "the server to notice the cut-off request",
    )

    assert httpx.get(server.base_url + "/api/v1/healthz", timeout=10).json() == {"status": "ok"}
    errors = [f"{r.name}: {r.getMessage()}" for r in records.records if r.levelno >= logging.WARNING]
    assert not errors, f"a client leaving was logged as a problem: {errors}"
