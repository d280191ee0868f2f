"""`rlhf`: config, defaults per manifest, the three-stage spec wired by typed refs, a run on fakes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cookbook_recipes.datasets import tiny_chat, tiny_prefs
from cookbook_recipes.rlhf import RlhfConfig
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import CheckpointRef, RewardModelRef, read_jsonl, validate
from cookbook_runtime.ports import Ports
from cookbook_runtime.runtime import Runtime
from cookbook_runtime.runtime._recipes import get_recipe
from cookbook_runtime.testing import FakeDatasetStore, FakeServiceClient


def _split(directory: Path, split: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (directory / f"{split}.jsonl").read_text().splitlines()]


def test_registered_and_documented() -> None:
    recipe = get_recipe("rlhf")
    assert (recipe.name, recipe.kind) == ("rlhf", "preference")
    assert not [n for n, f in RlhfConfig.model_fields.items() if not f.description]


def test_tinker_is_no_robots_then_hh_rlhf() -> None:
    spec = Runtime(manifest="tinker").build_spec("rlhf", {})
    assert [p.spec.name for p in validate(spec)] == ["supervised_train", "reward_model_train", "rl_train", "sample"]
    assert spec.training is not None and spec.training.dataset is not None
    assert spec.training.dataset.name == "HuggingFaceH4/no_robots"
    rm = spec.pipeline[1].options
    assert rm["dataset"]["name"] == "Anthropic/hh-rlhf" and rm["comparison_format"] == "hh_rlhf"


def test_each_stage_reads_the_previous_ones_typed_ref() -> None:
    spec = Runtime(manifest="local").build_spec("rlhf", {})
    sft, rm, rl, _ = spec.pipeline
    assert sft.options["log_subdir"] == "sft" and rm.options["log_subdir"] == "reward_model"
    assert rm.options["init_from_stage"] == "supervised_train"
    assert rl.options["init_from_stage"] == "supervised_train"
    assert rl.options["env"] == "reward_model"
    assert rl.options["env_options"]["reward_model_stage"] == "reward_model_train"
    assert rl.options["env_options"]["dataset"]["name"] == tiny_prefs.NAME
    assert spec.training is not None and spec.training.model.name == "cookbook/tiny-chat"
    assert type(spec).from_json(spec.to_json()) == spec


def test_custom_needs_a_dataset() -> None:
    with pytest.raises(ConfigError, match="needs dataset"):
        Runtime(manifest="tinker").build_spec("rlhf", {"preference_set": "custom"})


def _stores() -> FakeDatasetStore:
    return FakeDatasetStore({
        tiny_chat.NAME: {"train": _split(tiny_chat.DATA_DIR, "train")[:64], "test": _split(tiny_chat.DATA_DIR, "test")},
        tiny_prefs.NAME: {"train": _split(tiny_prefs.DATA_DIR, "train")[:64],
                          "test": _split(tiny_prefs.DATA_DIR, "test")[:8]},
    })


def test_pipeline_on_the_test_manifest(tmp_path: Path) -> None:
    runtime = Runtime(manifest="test", run_dir=tmp_path, ports=Ports(service=FakeServiceClient(), datasets=_stores()))
    result = runtime.run("rlhf", {
        "sft_max_steps": 2, "sft_batch_size": 8, "rm_max_steps": 2, "rm_batch_size": 8, "rm_eval_every": 1,
        "max_steps": 2, "groups_per_batch": 2, "group_size": 2, "rl_test_prompts": 4, "eval_every": 1,
    })
    rm, rl = result.outputs["reward_model_train"], result.outputs["rl_train"]
    assert rm["steps"] == 2 and {"first_test_pair_accuracy", "final_test_pair_accuracy"} <= set(rm)
    assert rl["steps"] == 2 and {"first_test_reward", "final_test_reward"} <= set(rl)
    assert result.outputs["sample"]["sampler_path"] == rl["final_sampler_path"]
    finished = {e["stage"]: e for e in read_jsonl(tmp_path / "events.jsonl") if e["event"] == "stage_finished"}
    assert [a["type"] for a in finished["supervised_train"]["artifacts"]] == [CheckpointRef.__name__]
    assert [a["type"] for a in finished["reward_model_train"]["artifacts"]] == [RewardModelRef.__name__]
    assert (tmp_path / "sft" / "metrics.jsonl").is_file() and (tmp_path / "reward_model" / "metrics.jsonl").is_file()
    rl_rows = [r for r in read_jsonl(tmp_path / "metrics.jsonl") if "env/all/rm_score" in r]
    assert [r["step"] for r in rl_rows] == [0, 1]
