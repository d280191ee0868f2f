"""Eight SDK processes train their own LoRAs on one server at once, each as if alone."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cookbook_adapters.server import RunningServer, running_server

pytest.importorskip("torch")

pytestmark = pytest.mark.slow

_CLIENT = Path(__file__).with_name("_sft_client.py")
_N = 8


@pytest.fixture
def local_server() -> Iterator[RunningServer]:
    from cookbook_adapters.local import TINY_CHAT, LocalServiceClient

    with running_server(LocalServiceClient(device="cpu"), models=[TINY_CHAT]) as server:
        yield server


def test_eight_concurrent_clients_get_their_own_losses(local_server: RunningServer) -> None:
    t0 = time.monotonic()
    procs = [
        subprocess.Popen(
            [sys.executable, str(_CLIENT), local_server.base_url, str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ},
        )
        for i in range(_N)
    ]
    together: dict[int, list[float]] = {}
    try:
        for i, proc in enumerate(procs):
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, f"client {i} failed: {err[-2000:]}"
            together[i] = json.loads(out.strip().splitlines()[-1])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    concurrent_s = time.monotonic() - t0

    train = runpy.run_path(str(_CLIENT))["train"]
    alone = {i: train(local_server.base_url, i) for i in range(_N)}
    print(f"{_N} concurrent clients: {concurrent_s:.1f} s; then one at a time: {time.monotonic() - t0 - concurrent_s:.1f} s")

    assert len({tuple(v) for v in alone.values()}) == _N, "the clients' runs are not distinct"
    for i in range(_N):
        assert together[i] == pytest.approx(alone[i], rel=1e-5), (
            f"client {i}: concurrent {together[i]} vs alone {alone[i]}"
        )
