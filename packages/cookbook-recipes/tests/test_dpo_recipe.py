"""`dpo`: config, defaults per manifest, specs that validate, the shipped tiny-prefs set, a run on fakes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cookbook_recipes.datasets import tiny_chat, tiny_prefs
from cookbook_recipes.datasets.preferences import PREFERENCE_SETS
from cookbook_recipes.dpo import DpoConfig
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import read_jsonl, validate
from cookbook_runtime.ports import Ports
from cookbook_runtime.runtime import Runtime
from cookbook_runtime.runtime._recipes import get_recipe
from cookbook_runtime.testing import FakeDatasetStore, FakeServiceClient
from cookbook_runtime.train.preference import COMPARISON_FORMATS, get_comparison_format


def _split(directory: Path, split: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (directory / f"{split}.jsonl").read_text().splitlines()]


def test_registered_and_documented() -> None:
    recipe = get_recipe("dpo")
    assert (recipe.name, recipe.kind) == ("dpo", "preference")
    assert not [n for n, f in DpoConfig.model_fields.items() if not f.description]


def test_tinker_defaults_are_tinker_cookbooks() -> None:
    config = Runtime(manifest="tinker").config("dpo")
    assert isinstance(config, DpoConfig)
    assert (config.preference_set, config.dpo_beta, config.learning_rate) == ("hh_rlhf", 0.1, 1e-5)
    spec = Runtime(manifest="tinker").build_spec("dpo", {})
    assert [p.spec.name for p in validate(spec)] == ["dpo_train", "sample"]
    assert spec.pipeline[0].options["comparison_format"] == "hh_rlhf"
    assert spec.training is not None and spec.training.dataset is not None
    assert spec.training.dataset.name == "Anthropic/hh-rlhf"


@pytest.mark.parametrize("name", sorted(PREFERENCE_SETS))
def test_every_preference_set_names_a_known_format(name: str) -> None:
    assert PREFERENCE_SETS[name].comparison_format in COMPARISON_FORMATS
    spec = Runtime(manifest="tinker").build_spec("dpo", {"preference_set": name})
    validate(spec)


def test_local_is_sft_then_dpo_on_the_tiny_model() -> None:
    spec = Runtime(manifest="local").build_spec("dpo", {})
    assert [p.spec.name for p in validate(spec)] == ["supervised_train", "dpo_train", "sample"]
    assert spec.training is not None and spec.training.model.name == "cookbook/tiny-chat"
    dpo = spec.pipeline[1].options
    assert dpo["init_from_stage"] == "supervised_train" and dpo["comparison_format"] == "pairs"
    assert isinstance(dpo["dataset"], dict) and dpo["dataset"]["name"] == tiny_prefs.NAME
    assert type(spec).from_json(spec.to_json()) == spec


def test_custom_needs_a_dataset() -> None:
    with pytest.raises(ConfigError, match="needs dataset"):
        Runtime(manifest="tinker").build_spec("dpo", {"preference_set": "custom"})


def test_shipped_tiny_prefs_are_what_the_generator_makes(tmp_path: Path) -> None:
    tiny_prefs.write(tmp_path)
    for split in tiny_prefs.SPLITS:
        shipped = (tiny_prefs.DATA_DIR / f"{split}.jsonl").read_bytes()
        assert (tmp_path / f"{split}.jsonl").read_bytes() == shipped, f"{split}: python -m {tiny_prefs.__name__}"


def test_tiny_prefs_held_out_prompts_are_unseen_and_pairs_are_right_vs_wrong() -> None:
    rows = {split: _split(tiny_prefs.DATA_DIR, split) for split in tiny_prefs.SPLITS}
    assert {s: len(r) for s, r in rows.items()} == tiny_prefs.SPLITS
    prompts = {s: {r["prompt"][0]["content"] for r in rs} for s, rs in rows.items()}
    sft_train = {r["messages"][0]["content"] for r in _split(tiny_chat.DATA_DIR, "train")}
    assert not prompts["test"] & prompts["train"] and not prompts["test"] & sft_train
    pairs = get_comparison_format("pairs")
    for row in rows["train"][:300] + rows["test"]:
        comparison = pairs(row)
        assert comparison is not None
        task, *letters = comparison.prompt[0]["content"].split(" ")
        chosen, rejected = comparison.chosen[0]["content"], comparison.rejected[0]["content"]
        assert chosen == tiny_chat.TASKS[task](letters) != rejected, row
        assert len(chosen) == len(rejected), row


def _stores() -> FakeDatasetStore:
    return FakeDatasetStore({
        tiny_chat.NAME: {"train": _split(tiny_chat.DATA_DIR, "train")[:64], "test": _split(tiny_chat.DATA_DIR, "test")},
        tiny_prefs.NAME: {"train": _split(tiny_prefs.DATA_DIR, "train")[:32], "test": _split(tiny_prefs.DATA_DIR, "test")[:8]},
    })


def test_pipeline_on_the_test_manifest(tmp_path: Path) -> None:
    runtime = Runtime(manifest="test", run_dir=tmp_path, ports=Ports(service=FakeServiceClient(), datasets=_stores()))
    result = runtime.run("dpo", {"max_steps": 3, "batch_size": 8, "sft_max_steps": 2, "eval_every": 2})
    dpo = result.outputs["dpo_train"]
    assert dpo["steps"] == 3 and {"first_test_pair_accuracy", "final_test_pair_accuracy"} <= set(dpo)
    assert result.outputs["sample"]["sampler_path"] == dpo["final_sampler_path"]
    assert (tmp_path / "sft" / "metrics.jsonl").is_file()
    assert [r["step"] for r in read_jsonl(tmp_path / "metrics.jsonl") if "dpo_loss" in r] == [0, 1, 2]


HH = {"chosen": "\n\nHuman: hi\n\nAssistant: hello!", "rejected": "\n\nHuman: hi\n\nAssistant: go away"}
HELPSTEER3 = {"context": [{"role": "user", "content": "hi"}], "response1": "go away", "response2": "hello!",
              "overall_preference": 2}
ULTRAFEEDBACK = {"instruction": "hi", "chosen_response": "hello!", "rejected_response": "go away",
                 "chosen_rating": 5, "rejected_rating": 1}


@pytest.mark.parametrize(("name", "row"), [("hh_rlhf", HH), ("helpsteer3", HELPSTEER3), ("ultrafeedback", ULTRAFEEDBACK)])
def test_public_set_formats_read_local_jsonl_files(tmp_path: Path, name: str, row: dict[str, Any]) -> None:
    path = tmp_path / f"{name}.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    fmt = get_comparison_format(PREFERENCE_SETS[name].comparison_format)
    comparisons = [fmt(json.loads(line)) for line in path.read_text().splitlines()]
    assert len(comparisons) == 2
    for comparison in comparisons:
        assert comparison is not None
        assert comparison.prompt == ({"role": "user", "content": "hi"},)
        assert comparison.chosen == ({"role": "assistant", "content": "hello!"},)
        assert comparison.rejected == ({"role": "assistant", "content": "go away"},)
