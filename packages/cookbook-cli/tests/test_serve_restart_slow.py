"""`cookbook serve --state-dir`: a server killed with SIGKILL and restarted keeps what it saved.

Real processes, the unmodified `tinker` SDK, the local engine on the tiny model. The
first server trains a LoRA two steps, saves its state and sampler weights, and is
killed while a third save is in flight. The restarted server lists the checkpoints,
loads them by their `tinker://` paths, and the resumed run's losses equal those of a
run never interrupted; nothing a killed save left behind is listed or kept.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("fastapi")
tinker = pytest.importorskip("tinker")
from tinker import types  # noqa: E402

pytestmark = pytest.mark.slow

_TOKENS = [5, 17, 99, 3, 42, 8, 61, 23, 77, 12, 5, 17, 99, 3]
_LR = 5e-3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server:
    """`cookbook serve` in a subprocess on a free port, its stderr kept in a file."""

    def __init__(self, state_dir: Path, log: Path, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.log = log
        self._log_file = log.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cookbook_cli", "serve", "--port", str(self.port), "--state-dir", str(state_dir)],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=self._log_file,
            env=env,
        )
        self.base_url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while True:
            assert self.proc.poll() is None, f"cookbook serve exited early: {log.read_text()[-2000:]}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "cookbook serve did not start within 120 s"
                time.sleep(0.2)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)
        self._log_file.close()


@pytest.fixture
def servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[_Server]]:
    monkeypatch.setenv("TINKER_API_KEY", "tml-dummy-key-for-tests-0123456789")
    monkeypatch.setenv("TINKER_TELEMETRY", "0")
    started: list[_Server] = []
    yield started
    for server in started:
        server.kill()


def _datum() -> Any:
    return types.Datum(
        model_input=types.ModelInput.from_ints(_TOKENS[:-1]),
        loss_fn_inputs={"target_tokens": _TOKENS[1:], "weights": [1.0] * (len(_TOKENS) - 1)},
    )


def _train(client: Any, steps: int) -> list[float]:
    losses = []
    for _ in range(steps):
        out = client.forward_backward([_datum()], "cross_entropy").result()
        client.optim_step(types.AdamParams(learning_rate=_LR)).result()
        losses.append(-sum(out.loss_fn_outputs[0]["logprobs"].tolist()))
    return losses


def _greedy(sampler: Any) -> list[int]:
    prompt = types.ModelInput.from_ints(_TOKENS[:6])
    params = types.SamplingParams(max_tokens=6, temperature=0.0)
    return list(sampler.sample(prompt, 1, params).result().sequences[0].tokens)


def test_sigkilled_server_restarts_with_its_checkpoints(tmp_path: Path, servers: list[_Server]) -> None:
    state_dir = tmp_path / "state"
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hf-hub"), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    log = tmp_path / "serve.log"
    t0 = time.monotonic()

    first = _Server(state_dir, log, env)
    servers.append(first)
    service = tinker.ServiceClient(base_url=first.base_url)
    training = service.create_lora_training_client(
        base_model="cookbook/tiny-chat", rank=4, seed=11, user_metadata={"renderer_name": "role_colon"}
    ).result()
    before_kill = _train(training, 2)
    state_path = training.save_state("step-2").result().path
    sampler_path = training.save_weights_for_sampler("step-2-sampler").result().path
    # Queued, never awaited: the server dies with this save in flight (or just after it).
    training.forward_backward([_datum()], "cross_entropy")
    training.save_state("in-flight")
    first.kill()

    stray = state_dir / "checkpoints" / "states" / "local-killed" / ".half.abc123"
    stray.mkdir(parents=True)
    (stray / "trainable.safetensors").write_bytes(b"\0" * 10)

    second = _Server(state_dir, log, env)
    servers.append(second)
    rest = tinker.RestClient(base_url=second.base_url)
    listed = {c.tinker_path: c for c in rest.list_user_checkpoints(limit=100).result().checkpoints}
    assert {state_path, sampler_path} <= set(listed), f"checkpoints lost in the restart: {sorted(listed)}"
    extra = set(listed) - {state_path, sampler_path}
    assert all(p.endswith("/weights/in-flight") for p in extra), f"unexpected checkpoints: {extra}"
    assert not stray.exists(), "a half-written checkpoint directory survived the restart"
    run = rest.get_training_run_by_tinker_path(state_path).result()
    assert run.user_metadata == {"renderer_name": "role_colon"}

    service = tinker.ServiceClient(base_url=second.base_url)
    for path in extra:  # a save that did commit before the kill is whole and loads
        service.create_training_client_from_state(path).result()
    resumed = service.create_training_client_from_state_with_optimizer(state_path).result()
    after_restart = _train(resumed, 2)
    restored_sampler = _greedy(service.create_sampling_client(model_path=sampler_path).result())

    clean = service.create_lora_training_client(base_model="cookbook/tiny-chat", rank=4, seed=11).result()
    clean_losses = _train(clean, 2)
    clean_sampler = _greedy(clean.save_weights_and_get_sampling_client().result())
    clean_losses += _train(clean, 2)
    service.close("success").result()
    print(f"restart test: {time.monotonic() - t0:.1f} s, losses {before_kill + after_restart}")

    assert before_kill + after_restart == pytest.approx(clean_losses, rel=1e-5), (
        f"resumed {before_kill + after_restart} vs uninterrupted {clean_losses}"
    )
    assert restored_sampler == clean_sampler, "sampler weights loaded after the restart differ"
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
