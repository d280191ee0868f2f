"""`distill_on_policy` through the real runner on the fake ports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import read_jsonl, run, validate
from cookbook_runtime.ir import DatasetRef, Experiment, ModelRef, StageSpec, TrainingConfig
from cookbook_runtime.ports import Ports
from cookbook_runtime.testing import FakeDatasetStore, FakeServiceClient

CHAT = {"name": "chat", "test_split": "test"}


def chat_rows(n: int, prefix: str = "q") -> list[dict[str, Any]]:
    return [
        {"messages": [{"role": "user", "content": f"{prefix}{i}?"}, {"role": "assistant", "content": f"a{i}."}]}
        for i in range(n)
    ]


def _ports(root: Path) -> Ports:
    store = FakeDatasetStore({"chat": {"train": chat_rows(8), "test": chat_rows(3, "t")}})
    return Ports(service=FakeServiceClient(root=str(root / "fake-states")), datasets=store)


def _source(teacher: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"env": "prompts", "env_options": {"dataset": CHAT, "test_prompts": 3}, "teacher": teacher, **extra}


def _experiment(*stages: StageSpec) -> Experiment:
    training = TrainingConfig(
        model=ModelRef(name="fake/model", renderer="qwen3_instruct"),
        dataset=DatasetRef(name="chat", test_split="test"),
        batch_size=2, learning_rate=1e-3, save_every=2, eval_every=2,
    )
    return Experiment(id="distill", training=training, pipeline=list(stages))


def _distill(*sources: dict[str, Any], **options: Any) -> StageSpec:
    return StageSpec(name="distill_on_policy", options={"datasets": list(sources), "group_size": 2,
                                                        "max_tokens": 6, **options})


async def test_teacher_trained_first_then_distilled_with_per_dataset_kl(tmp_path: Path) -> None:
    spec = _experiment(
        StageSpec(name="supervised_train", options={"log_subdir": "teacher", "final_eval": False}),
        _distill(_source({"from_stage": "supervised_train"}), _source({"model": "fake/model"}, groups_per_batch=1)),
    )
    ctx = await run(spec, _ports(tmp_path), tmp_path)
    out = ctx.outputs["distill_on_policy"]
    assert out["steps"] == 8  # the longer source: 8 prompts, one per step
    assert out["teachers"][0] == ctx.outputs["supervised_train"]["final_sampler_path"]
    assert out["teachers"][1] == "fake/model"
    assert "first_test_teacher_kl" in out and "final_test_teacher_kl" in out
    rows = list(read_jsonl(tmp_path / "metrics.jsonl"))
    assert [r["step"] for r in rows] == list(range(9))
    assert {"teacher_kl", "teacher_kl/dataset_0", "teacher_kl/dataset_1"} <= set(rows[0])
    assert {"test/teacher_kl", "test/teacher_kl/dataset_0", "test/teacher_kl/dataset_1"} <= set(rows[0])
    # the overall KL is the token-weighted mean of the per-source ones
    low, high = sorted((rows[0]["teacher_kl/dataset_0"], rows[0]["teacher_kl/dataset_1"]))
    assert low <= rows[0]["teacher_kl"] <= high and low != high


async def test_rerun_resumes_from_the_last_checkpoint(tmp_path: Path) -> None:
    spec = _experiment(_distill(_source({"model": "fake/model"})))
    first = await run(spec, _ports(tmp_path), tmp_path)
    again = await run(spec, _ports(tmp_path), tmp_path)
    assert again.outputs["distill_on_policy"] == first.outputs["distill_on_policy"]
    assert [r["step"] for r in read_jsonl(tmp_path / "metrics.jsonl")] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"datasets": []}, "datasets"),
        ({"datasets": [_source({})]}, "exactly one of model, path, from_stage"),
        ({"datasets": [_source({"model": "a", "path": "b"})]}, "exactly one"),
        ({"datasets": [{"env": "prompts", "env_options": {"dataset": CHAT, "test_prompt": 1}, "teacher": {"model": "m"}}]}, "test_prompt"),
        ({"datasets": [_source({"model": "m"})], "kl_discount_factor": 1.5}, "kl_discount_factor"),
        ({"datasets": [_source({"model": "m"})], "kl_penalty_coef": 0}, "kl_penalty_coef"),
        ({"datasets": [_source({"model": "m"})], "training": {"learning_rat": 1}}, "learning_rat"),
        ({"datasets": [_source({"model": "m"})], "temprature": 1}, "temprature"),
    ],
)
def test_bad_options_fail_validation(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        validate(_experiment(StageSpec(name="distill_on_policy", options=options)))


async def test_teacher_from_a_later_stage_fails_before_the_run_dir_is_written(tmp_path: Path) -> None:
    spec = _experiment(_distill(_source({"from_stage": "supervised_train"})), StageSpec(name="supervised_train"))
    with pytest.raises(ConfigError, match="not an earlier enabled stage"):
        await run(spec, _ports(tmp_path), tmp_path / "run")
    assert not (tmp_path / "run").exists()
