"""`rl_basic` and `math_rl`: configs, defaults per manifest, specs that validate, runs on fakes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cookbook_recipes.datasets import tiny_chat
from cookbook_recipes.math_rl import MathRlConfig
from cookbook_recipes.rl_basic import RlBasicConfig
from cookbook_runtime.framework import read_jsonl, validate
from cookbook_runtime.ports import Ports
from cookbook_runtime.runtime import Runtime
from cookbook_runtime.runtime._recipes import get_recipe
from cookbook_runtime.testing import FakeDatasetStore, FakeServiceClient


@pytest.mark.parametrize(("name", "config"), [("rl_basic", RlBasicConfig), ("math_rl", MathRlConfig)])
def test_registered_and_documented(name: str, config: Any) -> None:
    recipe = get_recipe(name)
    assert (recipe.name, recipe.kind) == (name, "rl")
    assert not [n for n, f in config.model_fields.items() if not f.description]


def test_rl_basic_tinker_defaults_are_tinker_cookbooks() -> None:
    config = Runtime(manifest="tinker").config("rl_basic")
    assert isinstance(config, RlBasicConfig)
    assert (config.env, config.group_size, config.groups_per_batch, config.learning_rate) == ("gsm8k", 16, 128, 4e-5)
    assert config.model_name == "Qwen/Qwen3.5-9B-Base" and not config.sft_warm_start
    spec = Runtime(manifest="tinker").build_spec("rl_basic", {})
    assert [p.spec.name for p in validate(spec)] == ["rl_train", "sample"]


def test_rl_basic_local_is_sft_then_rl_on_the_tiny_model() -> None:
    spec = Runtime(manifest="local").build_spec("rl_basic", {})
    assert [p.spec.name for p in validate(spec)] == ["supervised_train", "rl_train", "sample"]
    assert spec.training is not None and spec.training.model.name == "cookbook/tiny-chat"
    rl = spec.pipeline[1].options
    assert rl["env"] == "letters" and rl["init_from_stage"] == "supervised_train"
    assert spec.training.max_steps is not None and spec.training.max_steps <= 200  # short and partial
    assert type(spec).from_json(spec.to_json()) == spec


@pytest.mark.parametrize("env", ["arithmetic", "gsm8k", "math", "guess_number", "calculator"])
def test_math_rl_selects_its_env(env: str) -> None:
    spec = Runtime(manifest="tinker").build_spec("math_rl", {"env": env})
    [planned] = validate(spec)
    assert planned.spec.options["env"] == env


def test_math_rl_rejects_a_bad_env_option_before_running() -> None:
    from cookbook_runtime.errors import ConfigError

    spec = Runtime(manifest="test").build_spec("math_rl", {"env": "arithmetic", "env_options": {"max_numbr": 3}})
    with pytest.raises(ConfigError, match="max_numbr"):
        validate(spec)


def _tiny_chat_store() -> FakeDatasetStore:
    rows = {
        split: [json.loads(line) for line in (tiny_chat.DATA_DIR / f"{split}.jsonl").read_text().splitlines()]
        for split in ("train", "test")
    }
    return FakeDatasetStore({tiny_chat.NAME: {"train": rows["train"][:64], "test": rows["test"][:8]}})


def test_rl_basic_pipeline_on_the_test_manifest(tmp_path: Path) -> None:
    ports = Ports(service=FakeServiceClient(), datasets=_tiny_chat_store())
    runtime = Runtime(manifest="test", run_dir=tmp_path, ports=ports)
    overrides = {"max_steps": 3, "sft_epochs": 1, "groups_per_batch": 2, "group_size": 2,
                 "env_options": {"num_batches": 3, "test_problems": 4}}
    result = runtime.run("rl_basic", overrides)
    rl = result.outputs["rl_train"]
    assert rl["steps"] == 3 and "first_test_reward" in rl and "final_test_reward" in rl
    assert result.outputs["sample"]["sampler_path"] == rl["final_sampler_path"]
    assert (tmp_path / "sft" / "metrics.jsonl").is_file()
    assert [r["step"] for r in read_jsonl(tmp_path / "metrics.jsonl")] == [0, 1, 2, 3]


@pytest.mark.parametrize("env", ["guess_number", "calculator"])
def test_math_rl_multi_turn_and_tool_envs_run_on_fakes(tmp_path: Path, env: str) -> None:
    ports = Ports(service=FakeServiceClient(), datasets=FakeDatasetStore())
    runtime = Runtime(manifest="test", run_dir=tmp_path, ports=ports)
    result = runtime.run("math_rl", {"env": env, "max_steps": 2, "env_options": {"num_batches": 2}})
    assert result.outputs["rl_train"]["steps"] == 2
