"""The supervised loop runs evaluators on its schedule, without idling the backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cookbook_runtime.framework import read_jsonl
from cookbook_runtime.testing import FakeDatasetStore, FakeServiceClient, RecordingEvaluator
from cookbook_runtime.train.data import open_supervised_splits
from cookbook_runtime.train.eval import NllEvaluator
from cookbook_runtime.train.loops.supervised import train_supervised
from cookbook_runtime.train.metrics import JsonlMetricLogger

from .conftest import byte_datum, chat_rows, training_config


def _steps_with(rows: list[dict[str, Any]], key: str) -> list[int]:
    return [int(r["step"]) for r in rows if key in r]


async def test_supervised_loop_runs_frequent_infrequent_and_final_evals(tmp_path: Path) -> None:
    service = FakeServiceClient(server_time=0.002)
    store = FakeDatasetStore({"chat": {"train": chat_rows(20), "test": chat_rows(6, prefix="t")}})
    training = training_config(num_epochs=1, save_every=0, eval_every=2, infrequent_eval_every=4)
    assert training.dataset is not None
    train, test = open_supervised_splits(store, training.dataset, byte_datum, batch_size=4, seed=0)
    assert test is not None
    often = RecordingEvaluator("often", service, work=0.02)
    rare = RecordingEvaluator("rare", service)
    await train_supervised(
        service,
        training,
        train,
        tmp_path,
        metric_logger=JsonlMetricLogger(tmp_path),
        evaluator=NllEvaluator(test),
        evaluators=[often],
        infrequent_evaluators=[rare],
    )
    rows = list(read_jsonl(tmp_path / "metrics.jsonl"))
    # 20 rows / 4 = 5 steps (0..4), then the final row at step 5.
    assert _steps_with(rows, "test/nll") == [0, 2, 4, 5]
    assert _steps_with(rows, "eval/often/calls") == [0, 2, 4, 5]
    assert _steps_with(rows, "eval/rare/calls") == [0, 4, 5]
    client = service.training_clients[-1]
    log = [(n, a) for n, a in client.log if n in ("forward_backward", "optim_step", "save_weights_for_sampler")]
    at = log.index(("save_weights_for_sampler", "eval-000002"))
    assert [n for n, _ in log[:at]].count("optim_step") == 2, "step 2's eval sees the weights after two updates"
    assert log[at + 1][0] == "forward_backward"
    # While the (slow) sampling evaluation of step 2 ran, the backend kept training.
    submitted, before, after = often.progress[1]
    assert submitted > before and after > before, often.progress




class _PathSpy(FakeServiceClient):
    """Records the model path of every sampling client the loop opens."""

    def __init__(self) -> None:
        super().__init__()
        self.sampler_paths: list[str | None] = []

    async def create_sampling_client(self, *, base_model: str | None = None, model_path: str | None = None) -> Any:
        self.sampler_paths.append(model_path)
        return await super().create_sampling_client(base_model=base_model, model_path=model_path)


async def _run_with_sampling_eval(tmp_path: Path, **overrides: Any) -> tuple[_PathSpy, list[str]]:
    service = _PathSpy()
    store = FakeDatasetStore({"chat": {"train": chat_rows(20), "test": chat_rows(6, prefix="t")}})
    training = training_config(num_epochs=1, **overrides)
    assert training.dataset is not None
    train, _ = open_supervised_splits(store, training.dataset, byte_datum, batch_size=4, seed=0)
    result = await train_supervised(
        service, training, train, tmp_path, metric_logger=JsonlMetricLogger(tmp_path),
        evaluators=[RecordingEvaluator("often", service)],
    )
    assert result.final_sampler_path is not None
    saves = [str(a) for n, a in service.training_clients[-1].log if n == "save_weights_for_sampler"]
    return service, saves


async def test_the_final_eval_reuses_the_final_checkpoints_sampler_weights(tmp_path: Path) -> None:
    service, saves = await _run_with_sampling_eval(tmp_path, save_every=0, eval_every=2)
    # 5 steps: evals before steps 0, 2, 4, then the final checkpoint; the final eval saves nothing.
    assert saves == ["eval-000000", "eval-000002", "eval-000004", "final"], saves
    assert service.sampler_paths[-1] == "fake://fake/model/sampler/final", service.sampler_paths


async def test_an_eval_on_a_periodic_checkpoints_weights_reuses_its_sampler_save(tmp_path: Path) -> None:
    service, saves = await _run_with_sampling_eval(tmp_path, save_every=2, eval_every=2)
    # Checkpoints after steps 2 and 4 already saved the weights evaluated before steps 2 and 4.
    assert saves == ["eval-000000", "000002", "000004", "final"], saves
    assert service.sampler_paths == [
        f"fake://fake/model/sampler/{name}" for name in ("eval-000000", "000002", "000004", "final")
    ], service.sampler_paths
