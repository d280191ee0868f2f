"""tinker-cookbook's unmodified decision recipe against `cookbook serve`.

`sample_decision` sends one sample request whose sparse CSR `target_prompt_logprobs`
names every choice's token at the answer position, and softmaxes the logprobs that
come back. Its probabilities must equal a softmax over the engine's own logprobs of
those tokens there: from the SDK's `compute_logprobs` of the prompt with each label
filled in, and from a direct forward of the tiny model with plain transformers.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("fastapi")
pytest.importorskip("tinker_cookbook")
tinker = pytest.importorskip("tinker")

import torch  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    # the recipe (not ours) calls the SDK's deprecated `sample_async`
    pytest.mark.filterwarnings("ignore:DEPRECATED:FutureWarning"),
]

_MODEL = "cookbook/tiny-chat"
_RENDERER = "qwen3_instruct"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`cookbook serve` in a subprocess; its published tokenizer lands in this test's HF cache."""
    from huggingface_hub import constants

    hub = tmp_path / "hf-hub"
    monkeypatch.setenv("TINKER_API_KEY", "tml-dummy-key-for-tests-0123456789")
    monkeypatch.setenv("TINKER_TELEMETRY", "0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    env = {**os.environ, "HF_HUB_CACHE": str(hub), "COLUMNS": "200"}
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("a") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cookbook_cli", "serve", "--port", str(port), "--state-dir", str(tmp_path / "state")],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            env=env,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"cookbook serve exited early: {log.read_text()[-2000:]}"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "cookbook serve did not start within 120 s"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def test_sample_decision_probabilities_are_a_softmax_of_the_engine_logprobs(served: str) -> None:
    from cookbook_adapters.local import tiny_chat_dir
    from tinker_cookbook import renderers
    from tinker_cookbook.recipes.decisions.decision import (
        Decision,
        DecisionRenderer,
        sample_decision,
    )
    from tinker_cookbook.tokenizer_utils import get_tokenizer
    from transformers import AutoModelForCausalLM

    t0 = time.monotonic()
    service = tinker.ServiceClient(base_url=served)
    sampler = service.create_sampling_client(base_model=_MODEL).result()  # publishes the tokenizer
    renderer = renderers.get_renderer(_RENDERER, get_tokenizer(_MODEL))
    decision_renderer = DecisionRenderer(renderer)
    decisions = [
        Decision(
            "A user asked how to build a decision model. Which team should answer it?",
            [("billing", "Charges and invoices"), ("sdk", "The Python package"), ("cookbook", "The recipes")],
        ),
        Decision("Will it rain tomorrow?", [("yes", ""), ("no", "")]),
        Decision(
            "Pick the largest number.",
            [("one", "1"), ("five", "5"), ("nine", "9"), ("three", "3"), ("seven", "7")],
        ),
    ]
    renderings = [decision_renderer.render(d) for d in decisions]

    async def decide() -> list[dict[str, float]]:
        return list(await asyncio.gather(*(sample_decision(sampler, r) for r in renderings)))

    results = asyncio.run(decide())

    direct = AutoModelForCausalLM.from_pretrained(tiny_chat_dir()).eval()
    for decision, rendering, probs in zip(decisions, renderings, results, strict=True):
        labels = decision.labels
        assert list(probs) == labels, f"{decision.text}: labels {list(probs)}"
        assert math.isclose(sum(probs.values()), 1.0, abs_tol=1e-5), probs
        label_ids = [rendering.label_tokens[label] for label in labels]
        # the engine, through the SDK: each label's token scored in place at the answer position
        scored = [
            sampler.compute_logprobs(tinker.ModelInput.from_ints(rendering.with_label(label))).result()
            for label in labels
        ]
        engine = torch.softmax(torch.tensor([s[rendering.choice_pos] for s in scored]), dim=0)
        # and a direct forward of the same weights
        with torch.no_grad():
            logits = direct(input_ids=torch.tensor([rendering.tokens])).logits[0, rendering.choice_pos - 1]
        hand = torch.softmax(torch.log_softmax(logits.float(), -1)[label_ids], dim=0)
        for label, e, h in zip(labels, engine.tolist(), hand.tolist(), strict=True):
            assert math.isclose(probs[label], e, abs_tol=1e-5), f"{decision.text} {label}: {probs[label]} vs engine {e}"
            assert math.isclose(probs[label], h, abs_tol=1e-5), f"{decision.text} {label}: {probs[label]} vs direct {h}"
        print(f"{decision.text!r}: {probs}")
    service.close("success").result()
    print(f"decision acceptance: {time.monotonic() - t0:.1f} s")
