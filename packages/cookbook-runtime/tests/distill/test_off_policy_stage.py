"""`distill_off_policy` through the real runner on the fake ports."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import read_jsonl, run, validate
from cookbook_runtime.ir import DatasetRef, Experiment, ModelRef, StageSpec, TrainingConfig

from .test_on_policy_stage import _ports


def _experiment(*stages: StageSpec) -> Experiment:
    training = TrainingConfig(
        model=ModelRef(name="fake/model", renderer="qwen3_instruct"),
        dataset=DatasetRef(name="chat", test_split="test"),
        batch_size=2, learning_rate=1e-3, save_every=2, eval_every=0,
    )
    return Experiment(id="distill", training=training, pipeline=list(stages))


@pytest.mark.parametrize("completions", ["dataset", "teacher"])
async def test_soft_targets_train_through_the_supervised_loop(tmp_path: Path, completions: str) -> None:
    spec = _experiment(
        StageSpec(name="supervised_train", options={"log_subdir": "teacher", "final_eval": False}),
        StageSpec(name="distill_off_policy", options={
            "teacher": {"from_stage": "supervised_train"}, "topk": 3, "test_rows": 2,
            "completions": completions, "max_tokens": 5}),
    )
    ctx = await run(spec, _ports(tmp_path), tmp_path)
    out = ctx.outputs["distill_off_policy"]
    assert out["steps"] == 4 and out["labelled_rows"] == 8
    assert out["teachers"] == [ctx.outputs["supervised_train"]["final_sampler_path"]]
    assert all(math.isfinite(out[k]) for k in ("first_test_teacher_kl", "final_test_teacher_kl"))
    assert [r["step"] for r in read_jsonl(tmp_path / "metrics.jsonl")] == [0, 1, 2, 3]


async def test_rerun_resumes_to_the_same_result(tmp_path: Path) -> None:
    spec = _experiment(StageSpec(name="distill_off_policy", options={"teacher": {"model": "fake/model"}, "topk": 2}))
    first = await run(spec, _ports(tmp_path), tmp_path)
    again = await run(spec, _ports(tmp_path), tmp_path)
    assert again.outputs == first.outputs


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({}, "teacher"),
        ({"teacher": {"model": "m"}, "topk": 0}, "topk"),
        ({"teacher": {"model": "m"}, "completions": "student"}, "completions"),
        ({"teacher": {"model": "m"}, "train_on_what": "everything"}, "train_on_what"),
        ({"teacher": {"model": "m"}, "training": {"batchsize": 2}}, "batchsize"),
    ],
)
def test_bad_options_fail_validation(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        validate(_experiment(StageSpec(name="distill_off_policy", options=options)))


async def test_teacher_from_a_missing_stage_fails_before_the_run_dir_is_written(tmp_path: Path) -> None:
    spec = _experiment(StageSpec(name="distill_off_policy", options={"teacher": {"from_stage": "sft"}}))
    with pytest.raises(ConfigError, match="not an earlier enabled stage"):
        await run(spec, _ports(tmp_path), tmp_path / "run")
    assert not (tmp_path / "run").exists()


async def test_prompt_distillation_teacher_sees_a_system_prompt_the_student_does_not(tmp_path: Path) -> None:
    spec = _experiment(StageSpec(name="distill_off_policy", options={
        "teacher": {"model": "fake/model"}, "topk": 2, "completions": "teacher", "max_tokens": 4,
        "teacher_system_prompt": "Answer in one word. " * 20}))
    ctx = await run(spec, _ports(tmp_path), tmp_path)
    out = ctx.outputs["distill_off_policy"]
    assert out["labelled_rows"] == 8 and out["steps"] == 4
