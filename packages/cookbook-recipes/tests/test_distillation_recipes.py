"""`distillation` and `prompt_distillation`: configs, per-manifest defaults, specs that validate, runs on fakes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cookbook_recipes.datasets import tiny_chat
from cookbook_recipes.distillation import DistillationConfig
from cookbook_recipes.prompt_distillation import PromptDistillationConfig
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import validate
from cookbook_runtime.ports import Ports
from cookbook_runtime.runtime import Runtime
from cookbook_runtime.runtime._recipes import get_recipe
from cookbook_runtime.testing import FakeDatasetStore, FakeServiceClient


@pytest.mark.parametrize(
    ("name", "config"), [("distillation", DistillationConfig), ("prompt_distillation", PromptDistillationConfig)]
)
def test_registered_and_documented(name: str, config: Any) -> None:
    recipe = get_recipe(name)
    assert (recipe.name, recipe.kind) == (name, "distillation")
    assert not [n for n, f in config.model_fields.items() if not f.description]


@pytest.mark.parametrize(("mode", "stage"), [("on_policy", "distill_on_policy"), ("off_policy", "distill_off_policy")])
def test_tinker_defaults_distil_a_named_teacher(mode: str, stage: str) -> None:
    spec = Runtime(manifest="tinker").build_spec("distillation", {"mode": mode})
    [planned] = validate(spec)
    assert planned.spec.name == stage
    options = planned.spec.options
    teacher = options["datasets"][0]["teacher"] if mode == "on_policy" else options["teacher"]
    assert teacher == {"model": "Qwen/Qwen3-8B"}


def test_local_trains_the_teacher_and_warms_the_student_first() -> None:
    spec = Runtime(manifest="local").build_spec("distillation", {})
    assert [p.spec.key for p in validate(spec)] == ["teacher", "student_init", "distill_on_policy"]
    distill = spec.pipeline[-1].options
    assert distill["datasets"][0]["teacher"] == {"from_stage": "teacher"}  # type: ignore[index]
    assert distill["init_from_stage"] == "student_init"
    assert type(spec).from_json(spec.to_json()) == spec


def test_a_teacher_path_wins_over_the_model_name() -> None:
    spec = Runtime(manifest="tinker").build_spec("distillation", {"teacher_path": "tinker://t/sampler"})
    assert spec.pipeline[-1].options["datasets"][0]["teacher"] == {"path": "tinker://t/sampler"}  # type: ignore[index]


def test_no_teacher_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no teacher"):
        Runtime(manifest="tinker").build_spec("distillation", {"teacher_model": None})


def _tiny_chat_store() -> FakeDatasetStore:
    rows = {
        split: [json.loads(line) for line in (tiny_chat.DATA_DIR / f"{split}.jsonl").read_text().splitlines()]
        for split in ("train", "test")
    }
    return FakeDatasetStore({tiny_chat.NAME: {"train": rows["train"][:64], "test": rows["test"][:8]}})


@pytest.mark.parametrize("mode", ["on_policy", "off_policy"])
def test_distillation_pipeline_on_the_test_manifest(tmp_path: Path, mode: str) -> None:
    ports = Ports(service=FakeServiceClient(), datasets=_tiny_chat_store())
    runtime = Runtime(manifest="test", run_dir=tmp_path, ports=ports)
    overrides = {"mode": mode, "teacher_max_steps": 2, "teacher_batch_size": 8, "student_sft_steps": 1,
                 "groups_per_batch": 4, "group_size": 2, "max_steps": 3, "test_prompts": 4}
    result = runtime.run("distillation", overrides)
    out = result.outputs[f"distill_{mode}"]
    assert out["steps"] == 3
    assert out["teachers"] == [result.outputs["teacher"]["final_sampler_path"]]
    assert "first_test_teacher_kl" in out and "final_test_teacher_kl" in out


def test_prompt_distillation_builds_and_runs_on_fakes(tmp_path: Path) -> None:
    spec = Runtime(manifest="tinker").build_spec("prompt_distillation", {})
    [planned] = validate(spec)
    assert planned.spec.options["teacher_system_prompt"] and planned.spec.options["completions"] == "teacher"
    ports = Ports(service=FakeServiceClient(), datasets=_tiny_chat_store())
    runtime = Runtime(manifest="test", run_dir=tmp_path, ports=ports)
    result = runtime.run("prompt_distillation", {"teacher_max_steps": 2, "batch_size": 8, "max_queries": 16,
                                                 "test_queries": 4, "num_epochs": 1})
    out = result.outputs["distill_off_policy"]
    assert out["labelled_rows"] == 16 and out["steps"] == 2
