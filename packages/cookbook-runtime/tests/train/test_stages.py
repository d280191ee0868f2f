"""The training stages run through the real pipeline runner on fake ports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cookbook_runtime.errors import BackendError, ConfigError, StageFailed
from cookbook_runtime.framework import RunDir, read_jsonl, run, validate
from cookbook_runtime.ir import DatasetRef, Experiment, ModelRef, StageSpec
from cookbook_runtime.ports import Ports
from cookbook_runtime.testing import FakeDatasetStore, FakeServiceClient, FakeTrainingClient
from cookbook_runtime.train.stages import EvaluateNllStage, SampleStage, SupervisedTrainStage

from .conftest import training_config


def _experiment(*stages: StageSpec, **training: object) -> Experiment:
    config = training_config(model=ModelRef(name="fake/model", renderer="qwen3_instruct"), **training)
    return Experiment(id="sl", training=config, dataset=config.dataset, pipeline=list(stages))


def _ports(store: FakeDatasetStore) -> Ports:
    return Ports(service=FakeServiceClient(), datasets=store)


def test_options_are_frozen_documented_and_strict() -> None:
    for stage in (SupervisedTrainStage, EvaluateNllStage, SampleStage):
        options = stage.Options
        assert options.model_config.get("extra") == "forbid"
        assert options.model_config.get("frozen") is True
        assert all(f.description for f in options.model_fields.values()), stage.name
    bad = _experiment(StageSpec(name="supervised_train", options={"lookahed": 2}))
    with pytest.raises(ConfigError, match="lookahed"):
        validate(bad)


async def test_train_then_sample_outputs(store: FakeDatasetStore, tmp_path: Path) -> None:
    spec = _experiment(
        StageSpec(name="supervised_train"),
        StageSpec(name="sample", options={"max_tokens": 8}),
        StageSpec(name="evaluate_nll"),
    )
    ctx = await run(spec, _ports(store), tmp_path)
    train = ctx.outputs["supervised_train"]
    assert set(train) >= {"final_state_path", "final_sampler_path", "steps", "base_model", "renderer"}
    assert (train["steps"], train["base_model"], train["renderer"]) == (10, "fake/model", "qwen3_instruct")
    sample = ctx.outputs["sample"]
    assert set(sample) == {"prompt", "completion", "sampler_path"}
    assert sample["prompt"] == "t0?"  # the first held-out conversation's user turn
    assert sample["sampler_path"] == train["final_sampler_path"]
    assert isinstance(sample["completion"], str)
    nll = ctx.outputs["evaluate_nll"]["nll"]
    assert nll == pytest.approx(train["final_test_nll"])
    first_eval = next(r for r in read_jsonl(tmp_path / "metrics.jsonl") if "test/nll" in r)["test/nll"]
    assert nll < first_eval


async def test_sample_with_an_explicit_prompt(store: FakeDatasetStore, tmp_path: Path) -> None:
    spec = _experiment(StageSpec(name="supervised_train"), StageSpec(name="sample", options={"prompt": "hello"}))
    ctx = await run(spec, _ports(store), tmp_path)
    assert ctx.outputs["sample"]["prompt"] == "hello"
    assert RunDir(tmp_path).read_json("sample.json")["messages"] == [{"role": "user", "content": "hello"}]


async def test_sample_without_weights_says_what_to_do(store: FakeDatasetStore, tmp_path: Path) -> None:
    with pytest.raises(StageFailed, match="run 'supervised_train' first or set sampler_path"):
        await run(_experiment(StageSpec(name="sample")), _ports(store), tmp_path)


async def test_a_malformed_first_row_fails_before_the_run_directory_exists(tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]} for i in range(8)]
    rows[1] = {"messages": []}
    store = FakeDatasetStore({"chat": {"train": rows}})
    spec = _experiment(StageSpec(name="supervised_train"), dataset=DatasetRef(name="chat"), seed=0)
    with pytest.raises(ConfigError, match="stage 'supervised_train': dataset 'chat' split 'train' row 1"):
        await run(spec, _ports(store), tmp_path / "r")
    assert not (tmp_path / "r").exists()


async def test_malformed_row_fails_the_stage_naming_the_row(tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]} for i in range(8)]
    rows[6] = {"msgs": []}  # past the rows checked before the run starts
    store = FakeDatasetStore({"chat": {"train": rows}})
    spec = _experiment(StageSpec(name="supervised_train"), dataset=DatasetRef(name="chat"), seed=0)
    with pytest.raises(StageFailed, match="dataset 'chat' split 'train' row 6 has no 'messages' field"):
        await run(spec, _ports(store), tmp_path)
    skipping = _experiment(
        StageSpec(name="supervised_train"), dataset=DatasetRef(name="chat", skip_malformed=True)
    )
    ctx = await run(skipping, _ports(store), tmp_path / "skip")
    assert ctx.outputs["supervised_train"]["skipped_rows"] >= 1


class _FlakyService(FakeServiceClient):
    """Its first training client fails on the `fail_at`-th forward_backward, like a dropped connection."""

    def __init__(self, fail_at: int, root: Path) -> None:
        super().__init__(root=str(root))
        self.fail_at = fail_at

    async def create_lora_training_client(self, base_model: str, **kwargs: Any) -> FakeTrainingClient:
        client = await super().create_lora_training_client(base_model, **kwargs)
        original = client.forward_backward
        calls = 0

        async def forward_backward(*args: Any, **kw: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == self.fail_at:
                raise BackendError("connection dropped")
            return await original(*args, **kw)

        client.forward_backward = forward_backward  # type: ignore[method-assign]
        return client


def _without_times(path: Path) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if not k.startswith("time/")} for r in read_jsonl(path / "metrics.jsonl")]


async def test_rerunning_a_failed_run_resumes_to_the_same_result(store: FakeDatasetStore, tmp_path: Path) -> None:
    spec = _experiment(StageSpec(name="supervised_train"), StageSpec(name="sample"))
    straight = await run(spec, _ports(store), tmp_path / "straight")
    with pytest.raises(StageFailed, match="connection dropped"):
        await run(spec, Ports(service=_FlakyService(fail_at=9, root=tmp_path / "states"), datasets=store), tmp_path / "resumed")
    assert [c["step"] for c in read_jsonl(tmp_path / "resumed" / "checkpoints.jsonl")] == [3, 6]
    service = FakeServiceClient(root=str(tmp_path / "states"))  # a new process: only what was saved
    resumed = await run(spec, Ports(service=service, datasets=store), tmp_path / "resumed")
    assert len(service.training_clients[0].optim_params) == 4  # steps 6..9 only
    assert _without_times(tmp_path / "resumed") == _without_times(tmp_path / "straight")
    a, b = straight.outputs["supervised_train"], resumed.outputs["supervised_train"]
    assert (a["steps"], a["final_test_nll"]) == (b["steps"], b["final_test_nll"])


class _CountingMirror:
    """An artifact mirror that records what the run directory held at each sync."""

    def __init__(self) -> None:
        self.checkpoint_counts: list[int] = []

    async def sync(self, run_dir: Path) -> None:
        self.checkpoint_counts.append(len(list(read_jsonl(run_dir / "checkpoints.jsonl"))))


async def test_artifacts_are_mirrored_after_every_checkpoint(store: FakeDatasetStore, tmp_path: Path) -> None:
    spec = _experiment(StageSpec(name="supervised_train"), save_every=4)
    mirror = _CountingMirror()
    await run(spec, _ports(store), tmp_path, artifacts=mirror)
    total = len(list(read_jsonl(tmp_path / "checkpoints.jsonl")))
    assert total >= 3
    # one sync as each checkpoint lands (the last one being 'final'), then the runner's own
    assert mirror.checkpoint_counts[:total] == list(range(1, total + 1))


async def test_two_runs_in_one_process_report_to_their_own_listeners(store: FakeDatasetStore, tmp_path: Path) -> None:
    import asyncio

    from cookbook_runtime.framework import Progress

    seen: dict[str, list[Progress]] = {"a": [], "b": []}
    spec_a = _experiment(StageSpec(name="supervised_train"), num_epochs=1)  # 5 steps
    spec_b = _experiment(StageSpec(name="supervised_train"), num_epochs=3)  # 15 steps
    await asyncio.gather(
        run(spec_a, _ports(store), tmp_path / "a", progress=seen["a"].append),
        run(spec_b, _ports(store), tmp_path / "b", progress=seen["b"].append),
    )
    assert [(p.step, p.total) for p in seen["a"]] == [(s, 5) for s in range(1, 6)]
    assert [(p.step, p.total) for p in seen["b"]] == [(s, 15) for s in range(1, 16)]


async def test_a_failing_progress_listener_never_fails_the_run(store: FakeDatasetStore, tmp_path: Path) -> None:
    def broken(progress: object) -> None:
        raise RuntimeError("listener bug")

    ctx = await run(_experiment(StageSpec(name="supervised_train")), _ports(store), tmp_path, progress=broken)
    assert ctx.outputs["supervised_train"]["steps"] == 10


async def test_two_fake_services_keep_their_saves_apart(tmp_path: Path) -> None:
    one, two = FakeServiceClient(), FakeServiceClient()
    client = await one.create_lora_training_client("fake/model")
    path = await (await client.save_state("s")).result()
    await one.create_training_client_from_state(path)
    with pytest.raises(BackendError, match="no saved state"):
        await two.create_training_client_from_state(path)
    later = FakeServiceClient(root=str(tmp_path))  # a fake with a folder keeps saves across processes
    saved = await (await (await later.create_lora_training_client("fake/model")).save_state("s")).result()
    assert (await FakeServiceClient(root=str(tmp_path)).create_training_client_from_state(saved)).base_model == "fake/model"


async def test_dataset_from_stage_must_point_backwards(store: FakeDatasetStore, tmp_path: Path) -> None:
    spec = _experiment(StageSpec(name="supervised_train", options={"dataset_from_stage": "export_feedback"}))
    with pytest.raises(ConfigError, match="dataset_from_stage 'export_feedback' is not an earlier enabled stage"):
        await run(spec, _ports(store), tmp_path / "run")
    assert not (tmp_path / "run").exists()
