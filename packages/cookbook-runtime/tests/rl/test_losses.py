"""Each RL loss gets the inputs and config it reads; the KL penalty shapes advantages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from cookbook_runtime.testing import FakeServiceClient, FakeTrainingClient
from cookbook_runtime.train.rl import RLConfig, loss_fn_config, train_sync
from cookbook_runtime.train.types import Datum

from .conftest import make_run


class RecordingTrainingClient(FakeTrainingClient):
    calls: list[tuple[str, dict[str, float] | None, list[Datum]]]

    async def forward_backward(self, data: Sequence[Datum], loss_fn: Any, loss_fn_config: Mapping[str, float] | None = None) -> Any:
        self.calls.append((loss_fn, dict(loss_fn_config) if loss_fn_config else None, list(data)))
        return await super().forward_backward(data, loss_fn, loss_fn_config)


class RecordingService(FakeServiceClient):
    async def create_lora_training_client(self, base_model: str, **kwargs: Any) -> RecordingTrainingClient:
        client = RecordingTrainingClient(base_model, tokenizer=self._tokenizer, states=self.states)
        client.calls = []
        self.training_clients.append(client)
        return client


@pytest.mark.parametrize(
    ("loss", "expected"),
    [
        ("importance_sampling", None),
        ("ppo", {"clip_low_threshold": 0.7, "clip_high_threshold": 1.3}),
        ("cispo", {"clip_low_threshold": 0.7, "clip_high_threshold": 1.3}),
        ("dro", {"beta": 0.2}),
    ],
)
async def test_each_loss_reaches_forward_backward_with_its_inputs(tmp_path: Path, loss: Any, expected: Any) -> None:
    service = RecordingService()
    config = RLConfig(max_tokens=8, loss=loss, clip_low=0.7, clip_high=1.3, dro_beta=0.2)
    await train_sync(make_run(tmp_path, service=service, config=config, batches=1))
    [(name, cfg, data)] = service.training_clients[0].calls  # type: ignore[attr-defined]
    assert (name, cfg) == (loss, expected)
    for datum in data:
        assert set(datum.loss_fn_inputs) == {"target_tokens", "logprobs", "advantages"}
        n = datum.model_input.length
        assert all(len(t.data) == n for t in datum.loss_fn_inputs.values())


def test_loss_fn_config_defaults_are_tinkers() -> None:
    assert loss_fn_config("ppo") == {"clip_low_threshold": 0.8, "clip_high_threshold": 1.2}
    assert loss_fn_config("importance_sampling") is None


async def test_kl_penalty_changes_the_advantages_sent(tmp_path: Path) -> None:
    plain, shaped = RecordingService(), RecordingService()
    await train_sync(make_run(tmp_path / "a", service=plain, batches=1))
    await train_sync(make_run(tmp_path / "b", service=shaped, config=RLConfig(max_tokens=8, kl_penalty_coef=0.5), batches=1))
    adv = lambda s: [list(d.loss_fn_inputs["advantages"].data) for d in s.training_clients[0].calls[0][2]]  # noqa: E731
    assert adv(plain) != adv(shaped)
