from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cookbook_recipes.datasets import tiny_chat
from cookbook_recipes.sl_basic import RECIPE, SlBasicConfig
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import read_jsonl, validate
from cookbook_runtime.ports import Ports, packaged_dataset_path
from cookbook_runtime.runtime import Runtime
from cookbook_runtime.runtime._recipes import get_recipe
from cookbook_runtime.testing import FakeDatasetStore, FakeServiceClient
from pydantic import ValidationError


def test_registered_under_its_name() -> None:
    recipe = get_recipe("sl_basic")
    assert (recipe.name, recipe.kind) == ("sl_basic", "sl")
    assert recipe.description


def test_every_config_field_is_documented() -> None:
    missing = [name for name, f in SlBasicConfig.model_fields.items() if not f.description]
    assert not missing


@pytest.mark.parametrize(
    "bad", [{"learning_rate": 0}, {"batch_size": 0}, {"lr_schedule": "step"}, {"train_on_what": "x"}, {"nope": 1}]
)
def test_config_rejects_bad_values(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SlBasicConfig.model_validate(bad)


def test_runtime_reports_bad_config_in_one_line() -> None:
    with pytest.raises(ConfigError, match="recipe 'sl_basic': learning_rate"):
        Runtime(manifest="test").config("sl_basic", {"learning_rate": -1})


def test_tinker_defaults_match_tinker_cookbook() -> None:
    config = Runtime(manifest="tinker").config("sl_basic")
    assert isinstance(config, SlBasicConfig)
    assert config.model_name == "Qwen/Qwen3.5-9B-Base"
    assert config.dataset.name == "HuggingFaceH4/no_robots"
    assert (config.dataset.split, config.dataset.test_split) == ("train", "test")
    assert (config.learning_rate, config.lr_schedule, config.batch_size) == (2e-4, "linear", 128)
    assert (config.max_length, config.num_epochs, config.eval_every, config.lora_rank) == (32768, 1, 8, 32)
    assert config.train_on_what == "all_assistant_messages"
    model_info = pytest.importorskip("tinker_cookbook.model_info")
    assert config.renderer_name == model_info.get_recommended_renderer_name(config.model_name)


def test_local_defaults_use_the_tiny_model_and_shipped_data() -> None:
    config = Runtime(manifest="local").config("sl_basic")
    assert isinstance(config, SlBasicConfig)
    assert config.model_name == "cookbook/tiny-chat"
    assert config.dataset.name == "cookbook:tiny_chat"  # a stable name, never a site-packages path
    assert packaged_dataset_path(config.dataset.name) == tiny_chat.DATA_DIR
    assert (packaged_dataset_path(config.dataset.name) / "train.jsonl").is_file()
    assert config.dataset.test_split == "test"


def test_a_manifest_extending_local_gets_the_offline_defaults(tmp_path: Path) -> None:
    user = tmp_path / "manifests.toml"
    user.write_text('[manifests.lab]\nextends = "local"\n[manifests.lab.ports.blobs]\nadapter = "files"\n')
    config = Runtime(manifest="lab", user_manifests=user).config("sl_basic")
    assert isinstance(config, SlBasicConfig)
    assert config.model_name == "cookbook/tiny-chat"
    assert config.dataset == Runtime(manifest="local").config("sl_basic").dataset  # type: ignore[attr-defined]


def test_a_manifest_rewiring_service_to_tinker_gets_tinker_defaults(tmp_path: Path) -> None:
    user = tmp_path / "manifests.toml"
    user.write_text('[manifests.lab]\nextends = "local"\n[manifests.lab.ports.service]\nadapter = "tinker"\n')
    config = Runtime(manifest="lab", user_manifests=user).config("sl_basic")
    assert isinstance(config, SlBasicConfig)
    assert config.model_name == "Qwen/Qwen3.5-9B-Base"


@pytest.mark.parametrize("manifest", ["local", "tinker", "test"])
def test_build_validates_and_round_trips(manifest: str) -> None:
    runtime = Runtime(manifest=manifest)
    spec = runtime.build_spec("sl_basic", {"max_steps": 5, "sample_prompt": "hi"})
    planned = validate(spec)
    offline = ["evaluate_exact_match"] if manifest in ("local", "test") else []
    assert [p.spec.name for p in planned] == ["supervised_train", *offline, "sample"]
    assert spec.training is not None and spec.training.max_steps == 5
    assert spec.backend.manifest == manifest
    assert type(spec).from_json(spec.to_json()) == spec
    assert spec.recipe == RECIPE.name
    assert spec.pipeline[-1].options["prompt"] == "hi"


def _tiny_chat_store() -> FakeDatasetStore:
    rows = {
        split: [json.loads(line) for line in (tiny_chat.DATA_DIR / f"{split}.jsonl").read_text().splitlines()]
        for split in ("train", "test")
    }
    return FakeDatasetStore({tiny_chat.NAME: {"train": rows["train"][:256], "test": rows["test"][:32]}})


def test_whole_pipeline_on_the_test_manifest(tmp_path: Path) -> None:
    ports = Ports(service=FakeServiceClient(), datasets=_tiny_chat_store())
    runtime = Runtime(manifest="test", run_dir=tmp_path, ports=ports)
    result = runtime.run("sl_basic", {"batch_size": 16, "num_epochs": 1, "save_every": 5, "eval_every": 4})
    train = result.outputs["supervised_train"]
    assert train["steps"] == 16
    assert train["renderer"] == "qwen3_instruct"
    sample = result.outputs["sample"]
    assert sample["sampler_path"] == train["final_sampler_path"]
    assert sample["prompt"]
    exact = result.outputs["evaluate_exact_match"]
    assert exact["total"] == 32 and exact["sampler_path"] == train["final_sampler_path"]
    rows = list(read_jsonl(tmp_path / "metrics.jsonl"))
    evals = [r["test/nll"] for r in rows if "test/nll" in r]
    assert evals[-1] < evals[0]
    names = [c["name"] for c in read_jsonl(tmp_path / "checkpoints.jsonl")]
    assert names == ["000005", "000010", "000015", "final"]
    assert json.loads((tmp_path / "config.json").read_text())["model_name"] == "cookbook/tiny-chat"


def test_every_training_field_of_the_config_reaches_the_spec() -> None:
    from cookbook_runtime.ir import TrainingConfig

    shared = [n for n in TrainingConfig.model_fields if n in SlBasicConfig.model_fields]
    assert sorted(set(TrainingConfig.model_fields) - set(shared)) == ["model"]  # the rest is carried over
    changed = {
        "num_epochs": 3, "batch_size": 7, "learning_rate": 3e-3, "lr_schedule": "cosine", "warmup_steps": 2,
        "lora_rank": 4, "max_length": 99, "seed": 5, "save_every": 3, "eval_every": 2, "infrequent_eval_every": 4, "max_steps": 11,
        "adam_beta1": 0.8, "adam_beta2": 0.9, "adam_eps": 1e-6, "weight_decay": 0.01, "grad_clip_norm": 1.5,
    }
    config = SlBasicConfig.model_validate(changed)
    training = RECIPE.build(config).training
    assert training is not None
    for name in shared:
        assert getattr(training, name) == getattr(config, name), name
    assert training.dataset == config.dataset and training.model.name == config.model_name


def test_wandb_project_wires_the_metrics_port_to_the_wandb_adapter() -> None:
    spec = Runtime(manifest="test").build_spec("sl_basic", {"wandb_project": "p", "wandb_name": "n"})
    binding = spec.backend.overrides["metrics"]
    assert binding.adapter == "wandb"
    assert binding.options == {"project": "p", "name": "n", "dir": "{run_dir}"}
    assert "wandb_project" not in spec.pipeline[0].options  # wiring, not a stage option
    assert "metrics" not in Runtime(manifest="test").build_spec("sl_basic").backend.overrides
