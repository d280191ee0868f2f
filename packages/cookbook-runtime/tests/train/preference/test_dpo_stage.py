"""`dpo_train` through the real pipeline runner on fake ports: options, outputs, resume with the same reference."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cookbook_runtime.errors import ConfigError, StageFailed
from cookbook_runtime.framework import (
    Context,
    DatasetArtifact,
    read_jsonl,
    register_stage,
    run,
    validate,
)
from cookbook_runtime.framework import _stage as stage_module
from cookbook_runtime.ir import DatasetRef, Experiment, ModelRef, StageSpec, TrainingConfig
from cookbook_runtime.ports import Ports
from cookbook_runtime.testing import FakeDatasetStore, FakeServiceClient
from cookbook_runtime.train.metrics import JsonlMetricLogger
from cookbook_runtime.train.preference import REFERENCE_FILE, train_dpo
from cookbook_runtime.train.stages import DPOTrainOptions, DPOTrainStage
from cookbook_runtime.train.stages._comparisons import open_preference_splits
from pydantic import BaseModel, ConfigDict, Field


def _rows(n: int, prefix: str) -> list[dict[str, Any]]:
    return [{"prompt": f"{prefix}{i}?", "chosen": f"yes {i}", "rejected": f"no {i}!"} for i in range(n)]


def _store() -> FakeDatasetStore:
    return FakeDatasetStore({"prefs": {"train": _rows(24, "q"), "test": _rows(6, "t")}})


def _spec(options: dict[str, Any] | None = None, **training: Any) -> Experiment:
    config = TrainingConfig(
        model=ModelRef(name="fake/model", renderer="qwen3_instruct"),
        dataset=DatasetRef(name="prefs", test_split="test"),
        **{"batch_size": 4, "learning_rate": 1e-2, "save_every": 2, "eval_every": 3, **training},
    )
    return Experiment(id="dpo", training=config, pipeline=[StageSpec(name="dpo_train", options=options or {})])


def test_options_are_strict_and_checked_when_the_spec_is() -> None:
    options = DPOTrainStage.Options
    assert options.model_config.get("extra") == "forbid" and options.model_config.get("frozen") is True
    assert all(f.description for f in options.model_fields.values())
    for bad, match in (
        ({"comparison_format": "hh"}, "comparison_format 'hh'"),
        ({"dpo_beta": 0}, "dpo_beta"),
        ({"training": {"learning_rat": 1.0}}, "learning_rat"),
        ({"dpo_bta": 0.1}, "dpo_bta"),
    ):
        with pytest.raises(ConfigError, match=match):
            validate(_spec(bad))


async def test_a_malformed_first_row_fails_before_the_run_starts(tmp_path: Path) -> None:
    store = _store()
    store.add("prefs", "train", [{"prompt": "q", "chosen": "x"}] * 8)
    with pytest.raises(ConfigError, match="'rejected'"):
        await run(_spec(), Ports(service=FakeServiceClient(), datasets=store), tmp_path / "run")
    assert not (tmp_path / "run").exists()


async def test_trains_logs_dpo_metrics_and_held_out_accuracy(tmp_path: Path) -> None:
    ctx = await run(_spec(), Ports(service=FakeServiceClient(), datasets=_store()), tmp_path)
    out = ctx.outputs["dpo_train"]
    assert out["steps"] == 6 and out["renderer"] == "qwen3_instruct"
    assert {"first_test_pair_accuracy", "final_test_pair_accuracy", "reference_path"} <= set(out)
    rows = list(read_jsonl(tmp_path / "metrics.jsonl"))
    train_rows = [r for r in rows if "dpo_loss" in r]
    assert [r["step"] for r in train_rows] == list(range(6))
    for key in ("dpo_loss", "accuracy", "margin", "chosen_reward", "rejected_reward", "num_pairs"):
        assert all(key in r for r in train_rows), key
    assert [r["step"] for r in rows if "test/pair_accuracy" in r] == [0, 3, 6]
    assert train_rows[0]["margin"] == pytest.approx(0.0, abs=1e-9)  # step 0: the policy is the reference
    records = [json.loads(x) for x in (tmp_path / "checkpoints.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6] and records[-1]["final"]


async def test_ties_are_counted_and_left_out(tmp_path: Path) -> None:
    store = _store()
    rows = [
        {"context": [{"role": "user", "content": f"c{i}"}], "response1": "a", "response2": "b",
         "overall_preference": [0, -1][i % 2]}
        for i in range(8)
    ]
    store.add("hs", "train", rows)
    spec = _spec({"comparison_format": "helpsteer3", "dataset": {"name": "hs"}}, lr_schedule="constant")
    await run(spec, Ports(service=FakeServiceClient(), datasets=store), tmp_path)
    steps = [r for r in read_jsonl(tmp_path / "metrics.jsonl") if "dpo_loss" in r]
    assert len(steps) == 2
    assert all(r["num_pairs"] == 2 and r["data/ties_skipped"] == 2 for r in steps)


class _CrashingLogger(JsonlMetricLogger):
    """Writes metrics.jsonl like the stage does, and 'dies' when asked to log step `crash_at`."""

    def __init__(self, run_dir: Path, crash_at: int | None) -> None:
        super().__init__(run_dir)
        self.crash_at = crash_at

    def log_metrics(self, metrics: Mapping[str, Any], step: int) -> None:
        if step == self.crash_at:
            raise KeyboardInterrupt("killed")
        super().log_metrics(metrics, step)


async def _train(run_dir: Path, states: Path, crash_at: int | None = None) -> None:
    spec = _spec(save_every=1)
    assert spec.training is not None
    options = DPOTrainOptions()
    service = FakeServiceClient(root=str(states))  # a new process: a fresh service over the saved states
    train, test = open_preference_splits(
        _store(), spec.training.dataset, spec.training, options.comparison_format, options.eval_batch_size,
        service.get_tokenizer("fake/model"), "qwen3_instruct",
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    logger = _CrashingLogger(run_dir, crash_at)
    try:
        await train_dpo(service, spec.training, train, run_dir, beta=0.1, metric_logger=logger, test_dataset=test)
    finally:
        logger.close()


def _reference_rows(path: Path) -> dict[int, tuple[float, float]]:
    return {
        r["step"]: (r["ref/chosen_logprob"], r["ref/rejected_logprob"])
        for r in read_jsonl(path / "metrics.jsonl")
        if "dpo_loss" in r
    }


async def test_a_killed_run_resumes_with_the_original_reference(tmp_path: Path) -> None:
    await _train(tmp_path / "straight", tmp_path / "states-a")
    killed = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        await _train(killed, tmp_path / "states-b", crash_at=3)
    pinned = (killed / REFERENCE_FILE).read_text()
    assert [json.loads(x)["step"] for x in (killed / "checkpoints.jsonl").read_text().splitlines()] == [1, 2, 3]
    await _train(killed, tmp_path / "states-b")
    assert (killed / REFERENCE_FILE).read_text() == pinned
    straight, resumed = _reference_rows(tmp_path / "straight"), _reference_rows(killed)
    assert sorted(resumed) == list(range(6))
    assert resumed == straight  # the resumed steps saw the initial weights' logprobs, not the resumed weights'
    losses = [r["dpo_loss"] for r in read_jsonl(killed / "metrics.jsonl") if "dpo_loss" in r]
    assert losses == [r["dpo_loss"] for r in read_jsonl(tmp_path / "straight" / "metrics.jsonl") if "dpo_loss" in r]


async def test_resume_without_the_pinned_reference_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        await _train(tmp_path / "run", tmp_path / "states", crash_at=2)
    (tmp_path / "run" / REFERENCE_FILE).unlink()
    with pytest.raises(ConfigError, match="reference weights are unknown"):
        await _train(tmp_path / "run", tmp_path / "states")


async def test_reference_cache_asks_the_sampler_once_per_datum() -> None:
    from cookbook_runtime.testing import FakeSamplingClient
    from cookbook_runtime.train.preference import ReferenceCache, reference_sequence_logprobs

    calls: list[int] = []

    class Counting(FakeSamplingClient):
        async def compute_logprobs(self, prompt: Any) -> list[float | None]:
            calls.append(prompt.length)
            return await super().compute_logprobs(prompt)

    spec = _spec()
    assert spec.training is not None and spec.training.dataset is not None
    service = FakeServiceClient()
    train, _ = open_preference_splits(
        _store(), spec.training.dataset, spec.training, "pairs", None, service.get_tokenizer("x"), "qwen3_instruct"
    )
    data = next(iter(train.batches(0))).data
    cache = ReferenceCache(Counting())
    first = await cache(data)
    assert len(calls) == len(data)
    assert await cache(data) == first == await reference_sequence_logprobs(FakeSamplingClient(), data)
    assert len(calls) == len(data)


async def test_dataset_from_stage_is_exclusive_and_must_point_backwards(tmp_path: Path) -> None:
    both = _spec({"dataset": {"name": "prefs"}, "dataset_from_stage": "export_feedback"})
    with pytest.raises(ConfigError, match="not both"):
        validate(both)
    forward = _spec({"dataset_from_stage": "export_feedback"})
    with pytest.raises(ConfigError, match="dataset_from_stage 'export_feedback' is not an earlier enabled stage"):
        await run(forward, Ports(service=FakeServiceClient(), datasets=_store()), tmp_path / "run")
    assert not (tmp_path / "run").exists()


class WritePairsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str = Field(default="pairs", description="Kind of the dataset to publish.")


class WritePairs:
    """Stands in for export_feedback: publishes the store's 'prefs' rows as a dataset of `kind`."""

    name: ClassVar[str] = "write_pairs"
    Options: ClassVar[type[BaseModel]] = WritePairsOptions

    async def run(self, ctx: Context, options: WritePairsOptions) -> dict[str, Any]:
        ctx.publish(DatasetArtifact(path="prefs", kind=options.kind, format="jsonl", test_size=6))
        return {}


@pytest.fixture
def write_pairs() -> Iterator[None]:
    saved = dict(stage_module._registered)
    register_stage(WritePairs)
    yield
    stage_module._registered.clear()
    stage_module._registered.update(saved)


def _from_stage(kind: str) -> Experiment:
    spec = _spec({"dataset_from_stage": "write_pairs"})
    return spec.model_copy(update={"pipeline": [StageSpec(name="write_pairs", options={"kind": kind}), *spec.pipeline]})


async def test_dataset_from_stage_trains_on_the_published_pairs(write_pairs: None, tmp_path: Path) -> None:
    ctx = await run(_from_stage("pairs"), Ports(service=FakeServiceClient(), datasets=_store()), tmp_path)
    out = ctx.outputs["dpo_train"]
    assert out["steps"] == (24 - 6) // 4, out  # the dataset's test_size carved off for held-out scoring
    assert "final_test_pair_accuracy" in out, out


async def test_dataset_from_stage_needs_a_pairs_dataset(write_pairs: None, tmp_path: Path) -> None:
    with pytest.raises(StageFailed, match="needs a DatasetArtifact of kind 'pairs' from stage 'write_pairs', which "
                                          "did not publish one"):
        await run(_from_stage("sft"), Ports(service=FakeServiceClient(), datasets=_store()), tmp_path)
