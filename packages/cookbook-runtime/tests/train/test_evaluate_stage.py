"""The `evaluate` stage on the fakes, and benchmark tasks inside the supervised loop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import read_jsonl, run
from cookbook_runtime.ir import Experiment, ModelRef, StageSpec
from cookbook_runtime.ports import Ports
from cookbook_runtime.testing import FakeDatasetStore, FakeServiceClient

from .conftest import training_config


@pytest.fixture
def task_file(tmp_path: Path) -> Path:
    path = tmp_path / "letters.jsonl"
    rows = [{"prompt": f"say {c}", "answer": c} for c in "abcde"]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _spec(task: Path, *, pipeline_first: list[StageSpec], **options: object) -> Experiment:
    config = training_config(model=ModelRef(name="fake/model", renderer="qwen3_instruct"), num_epochs=1)
    return Experiment(
        id="ev",
        training=config,
        dataset=config.dataset,
        pipeline=[*pipeline_first, StageSpec(name="evaluate", options={"task": str(task), **options})],
    )


async def test_evaluates_the_trained_weights_and_writes_results(
    store: FakeDatasetStore, tmp_path: Path, task_file: Path
) -> None:
    spec = _spec(task_file, pipeline_first=[StageSpec(name="supervised_train")], num_samples=3, k=[1, 3], limit=4)
    run_dir = tmp_path / "run"
    ctx = await run(spec, Ports(service=FakeServiceClient(), datasets=store), run_dir)
    out = ctx.outputs["evaluate"]
    assert out["weights"] == ctx.outputs["supervised_train"]["final_sampler_path"]
    assert (out["task"], out["num_items"], out["num_samples"], out["total_samples"]) == ("letters", 4, 3, 12)
    assert out["pass_at_k"]["1"] == pytest.approx(out["correct_samples"] / 12)
    assert out["results"] == "eval/letters.json"
    items = list(read_jsonl(run_dir / "eval" / "letters.jsonl"))
    assert [i["prompt"] for i in items] == ["say a", "say b", "say c", "say d"]
    assert all(len(i["completions"]) == 3 for i in items)
    summary = json.loads((run_dir / "eval" / "letters.json").read_text())
    assert summary["settings"]["k"] == [1, 3] and summary["weights"] == out["weights"]


async def test_base_model_without_training(tmp_path: Path, task_file: Path) -> None:
    spec = Experiment(
        id="base",
        pipeline=[
            StageSpec(
                name="evaluate",
                options={"task": str(task_file), "base_model": "fake/model", "renderer": "qwen3_instruct"},
            )
        ],
    )
    ctx = await run(spec, Ports(service=FakeServiceClient()), tmp_path / "run")
    assert ctx.outputs["evaluate"]["weights"] == "base:fake/model"
    assert ctx.outputs["evaluate"]["num_items"] == 5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"task": "no-such-task"}, "unknown eval task 'no-such-task'"),
        ({"task": "TASK", "num_samples": 2, "k": [3]}, "k <= num_samples"),
        ({"task": "TASK", "renderer": "nope"}, "unknown renderer 'nope'"),
    ],
)
async def test_bad_options_fail_before_the_run_dir_is_written(
    store: FakeDatasetStore, tmp_path: Path, task_file: Path, options: dict[str, object], message: str
) -> None:
    options = {k: (str(task_file) if v == "TASK" else v) for k, v in options.items()}
    config = training_config(model=ModelRef(name="fake/model", renderer="qwen3_instruct"))
    spec = Experiment(id="bad", training=config, pipeline=[StageSpec(name="evaluate", options=options)])
    run_dir = tmp_path / "run"
    with pytest.raises((ConfigError, ValueError), match=message):
        await run(spec, Ports(service=FakeServiceClient(), datasets=store), run_dir)
    assert not run_dir.exists()


async def test_supervised_loop_scores_eval_tasks_on_its_schedule(
    store: FakeDatasetStore, tmp_path: Path, task_file: Path
) -> None:
    config = training_config(
        model=ModelRef(name="fake/model", renderer="qwen3_instruct"),
        num_epochs=1,
        eval_every=2,
        infrequent_eval_every=4,
    )
    spec = Experiment(
        id="sl-eval",
        training=config,
        dataset=config.dataset,
        pipeline=[
            StageSpec(
                name="supervised_train",
                options={
                    "eval_tasks": [
                        {"task": str(task_file), "limit": 2},
                        {"task": str(task_file), "limit": 1, "num_samples": 2, "k": [2], "infrequent": True},
                    ]
                },
            )
        ],
    )
    await run(spec, Ports(service=FakeServiceClient(), datasets=store), tmp_path / "run")
    rows = list(read_jsonl(tmp_path / "run" / "metrics.jsonl"))
    assert [r["step"] for r in rows if "eval/letters/pass@1" in r] == [0, 2, 4, 5]
    assert [r["step"] for r in rows if "eval/letters/pass@2" in r] == [0, 4, 5]
