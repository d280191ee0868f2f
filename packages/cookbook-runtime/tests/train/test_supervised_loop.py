from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from cookbook_runtime.framework import Progress, ProgressListener, read_jsonl
from cookbook_runtime.ir import TrainingConfig
from cookbook_runtime.testing import FakeDatasetStore, FakeServiceClient
from cookbook_runtime.train.checkpoints import read_checkpoints
from cookbook_runtime.train.data import open_supervised_splits
from cookbook_runtime.train.evaluators import NllEvaluator
from cookbook_runtime.train.loops.supervised import StepHook, SupervisedResult, train_supervised
from cookbook_runtime.train.metrics import JsonlMetricLogger
from cookbook_runtime.train.schedules import learning_rate_at

from .conftest import byte_datum, training_config


async def _train(
    store: FakeDatasetStore,
    run_dir: Path,
    training: TrainingConfig,
    *,
    service: FakeServiceClient | None = None,
    lookahead: int = 1,
    on_step: StepHook | None = None,
    progress: ProgressListener | None = None,
) -> tuple[SupervisedResult, FakeServiceClient]:
    service = service or FakeServiceClient()
    assert training.dataset is not None
    train, test = open_supervised_splits(
        store, training.dataset, byte_datum, batch_size=training.batch_size, seed=training.seed
    )
    evaluator = NllEvaluator(test) if test is not None else None
    result = await train_supervised(
        service,
        training,
        train,
        run_dir,
        metric_logger=JsonlMetricLogger(run_dir),
        evaluator=evaluator,
        lookahead=lookahead,
        on_step=on_step,
        progress=progress,
    )
    return result, service


@pytest.mark.parametrize("lookahead", [0, 1, 2])
async def test_batch_n_plus_lookahead_is_submitted_before_n_is_awaited(
    store: FakeDatasetStore, tmp_path: Path, lookahead: int
) -> None:
    service = FakeServiceClient(server_time=0.002)
    seen: list[tuple[int, int, int]] = []

    def on_step(step: int, metrics: Mapping[str, Any]) -> None:
        client = service.training_clients[-1]
        submitted = sum(1 for name, _ in client.log if name == "forward_backward")
        done = sum(1 for name, _ in client.completed if name == "forward_backward")
        seen.append((step, submitted, done))

    training = training_config(eval_every=0, save_every=0, num_epochs=1)
    await _train(store, tmp_path, training, service=service, lookahead=lookahead, on_step=on_step)
    # 20 rows / batch 4 = 5 steps; while step N finishes, steps up to N+lookahead are queued.
    for step, submitted, _ in seen:
        assert submitted == min(step + 1 + lookahead, 5), (step, seen)
    if lookahead:
        _, submitted, done = seen[0]
        assert submitted > done, seen


async def test_adam_params_follow_schedule_and_config(store: FakeDatasetStore, tmp_path: Path) -> None:
    training = training_config(
        lr_schedule="cosine", warmup_steps=2, adam_beta1=0.8, adam_beta2=0.9, adam_eps=1e-6,
        weight_decay=0.01, grad_clip_norm=1.5, eval_every=0,
    )
    result, service = await _train(store, tmp_path, training)
    params = service.training_clients[0].optim_params
    assert result.steps == len(params) == 10
    for step, p in enumerate(params):
        assert p.learning_rate == pytest.approx(learning_rate_at(1e-3, "cosine", step, 10, warmup_steps=2))
        assert (p.beta1, p.beta2, p.eps, p.weight_decay, p.grad_clip_norm) == (0.8, 0.9, 1e-6, 0.01, 1.5)


async def test_max_steps_caps_training_and_the_schedule(store: FakeDatasetStore, tmp_path: Path) -> None:
    result, service = await _train(store, tmp_path, training_config(max_steps=4, eval_every=0))
    lrs = [p.learning_rate for p in service.training_clients[0].optim_params]
    assert result.steps == 4
    assert lrs == pytest.approx([1e-3 * (1 - s / 4) for s in range(4)])


async def test_checkpoint_cadence_and_final(store: FakeDatasetStore, tmp_path: Path) -> None:
    result, _ = await _train(store, tmp_path, training_config(save_every=3))
    records = read_checkpoints(tmp_path)
    assert [(r.name, r.step, r.epoch, r.batch, r.final) for r in records] == [
        ("000003", 3, 0, 3, False),
        ("000006", 6, 1, 1, False),
        ("000009", 9, 1, 4, False),
        ("final", 10, 2, 0, True),
    ]
    assert all(r.state_path and r.sampler_path for r in records)
    assert result.final_state_path == records[-1].state_path
    assert result.final_sampler_path == records[-1].sampler_path
    lines = [json.loads(x) for x in (tmp_path / "checkpoints.jsonl").read_text().splitlines()]
    assert set(lines[0]) == {"name", "step", "epoch", "batch", "state_path", "sampler_path", "final"}


async def test_metrics_rows_have_tinker_cookbook_fields(store: FakeDatasetStore, tmp_path: Path) -> None:
    reports: list[Progress] = []
    result, _ = await _train(store, tmp_path, training_config(eval_every=4), progress=reports.append)
    rows = list(read_jsonl(tmp_path / "metrics.jsonl"))
    assert [r["step"] for r in rows] == [*range(10), 10]
    for row in rows[:10]:
        assert {"step", "epoch", "progress", "learning_rate", "num_tokens", "num_loss_tokens",
                "num_sequences", "train_mean_nll", "time/step", "time/total"} <= set(row), row
    assert [r["step"] for r in rows if "test/nll" in r] == [0, 4, 8, 10]
    assert rows[-1]["test/nll"] == pytest.approx(result.final_metrics["test/nll"])
    assert rows[-1]["test/nll"] < rows[0]["test/nll"]
    assert rows[9]["train_mean_nll"] < rows[0]["train_mean_nll"]
    assert rows[9]["progress"] == 1.0 and rows[0]["epoch"] == 0 and rows[9]["epoch"] == 1
    assert [(p.stage, p.step, p.total) for p in reports] == [("supervised_train", s, 10) for s in range(1, 11)]


class _Interrupt(Exception):
    pass


def _comparable(run_dir: Path) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if not k.startswith("time/")} for row in read_jsonl(run_dir / "metrics.jsonl")]


async def test_resume_reaches_the_same_metrics_as_an_uninterrupted_run(
    store: FakeDatasetStore, tmp_path: Path
) -> None:
    training = training_config(save_every=3, eval_every=2, num_epochs=3)
    straight, straight_service = await _train(store, tmp_path / "a", training)

    def crash(step: int, metrics: Mapping[str, Any]) -> None:
        if step == 7:
            raise _Interrupt

    states = str(tmp_path / "states")
    with pytest.raises(_Interrupt):
        await _train(store, tmp_path / "b", training, on_step=crash, service=FakeServiceClient(root=states))
    assert read_checkpoints(tmp_path / "b")[-1].step == 6
    resumed, resumed_service = await _train(store, tmp_path / "b", training, service=FakeServiceClient(root=states))

    assert resumed.start_step == 6
    assert resumed.steps == straight.steps == 15
    assert _comparable(tmp_path / "b") == _comparable(tmp_path / "a")
    straight_lrs = [p.learning_rate for p in straight_service.training_clients[0].optim_params]
    resumed_lrs = [p.learning_rate for p in resumed_service.training_clients[0].optim_params]
    assert resumed_lrs == straight_lrs[6:]
    assert resumed.final_metrics == straight.final_metrics


async def test_rerun_of_a_finished_run_trains_nothing(store: FakeDatasetStore, tmp_path: Path) -> None:
    training = training_config(num_epochs=1)
    first, service = await _train(store, tmp_path, training)
    again, service = await _train(store, tmp_path, training, service=FakeServiceClient(states=service.states))
    assert service.training_clients[0].optim_params == []
    assert again.final_state_path == first.final_state_path
    assert again.start_step == again.steps == 5
    assert [r["step"] for r in read_jsonl(tmp_path / "metrics.jsonl")] == [0, 1, 2, 3, 4, 5]
