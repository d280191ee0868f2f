"""The `sft_to_deploy` and `feedback_retrain` pipeline templates: specs, and whole runs on the fakes.

Here, not in the recipes package, because `sft_to_deploy` ends in the `deploy` stage
that cookbook-adapters provides (a `cookbook.stages` entry point): the recipes package
alone cannot validate it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from cookbook_recipes.datasets import tiny_chat
from cookbook_recipes.feedback_retrain import FeedbackRetrainConfig
from cookbook_recipes.sft_to_deploy import SftToDeployConfig
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import RunDir, read_jsonl, validate
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.ports import FeedbackSignal, InferenceEvent, Ports, Rows
from cookbook_runtime.runtime import Runtime
from cookbook_runtime.runtime._recipes import get_recipe
from cookbook_runtime.testing import (
    FakeDatasetStore,
    FakeFeedbackStore,
    FakeModelRegistry,
    FakeServiceClient,
    FakeWeightsExporter,
)
from pydantic import BaseModel

FIRED = "check_triggers.fired"


@pytest.mark.parametrize(("name", "config"), [("sft_to_deploy", SftToDeployConfig), ("feedback_retrain", FeedbackRetrainConfig)])
def test_registered_and_documented(name: str, config: type[BaseModel]) -> None:
    recipe = get_recipe(name)
    assert recipe.name == name and recipe.kind == "pipeline" and recipe.description
    assert not [n for n, f in config.model_fields.items() if not f.description]


@pytest.mark.parametrize("manifest", ["local", "tinker", "test"])
def test_sft_to_deploy_spec(manifest: str) -> None:
    spec = Runtime(manifest=manifest).build_spec("sft_to_deploy")
    planned = [(p.spec.name, p.spec.when) for p in validate(spec)]
    offline = [("evaluate", None)] if manifest != "tinker" else []
    assert planned == [
        ("supervised_train", None), *offline, ("register", None), ("promote", None), ("export", None),
        ("deploy", "promote.promoted"),
    ]
    promote = next(s for s in spec.pipeline if s.name == "promote")
    if manifest != "tinker":
        assert promote.options["min"] == {"eval/tiny_chat/pass@1": 0.5}
        assert spec.training is not None and spec.training.model.name == "cookbook/tiny-chat"
    assert type(spec).from_json(spec.to_json()) == spec
    quiet = Runtime(manifest=manifest).build_spec("sft_to_deploy", {"deploy": False, "export_formats": []})
    assert [s.name for s in quiet.pipeline][-1] == "promote"


def test_a_full_fine_tune_cannot_export_an_adapter() -> None:
    with pytest.raises(ConfigError, match="lora_rank=0"):
        Runtime(manifest="local").build_spec("sft_to_deploy", {"export_formats": ["peft_adapter", "merged"]})
    tinker = Runtime(manifest="tinker").build_spec("sft_to_deploy")
    assert next(s for s in tinker.pipeline if s.name == "export").options["formats"] == ["peft_adapter", "merged"]


@pytest.mark.parametrize("manifest", ["local", "tinker", "test"])
def test_feedback_retrain_spec(manifest: str) -> None:
    spec = Runtime(manifest=manifest).build_spec("feedback_retrain")
    planned = [(p.spec.name, p.spec.when) for p in validate(spec)]
    evaluate = [("evaluate", FIRED)] if manifest != "tinker" else []
    assert planned == [
        ("check_triggers", None), ("export_feedback", FIRED), ("fetch_model", FIRED), ("dpo_train", FIRED),
        *evaluate, ("register", FIRED),
    ]
    register = spec.pipeline[-1].options
    assert register == {
        "from_stage": "dpo_train", "lineage": "dpo_trained_from", "parent": "sft_to_deploy:production",
        "name": "sft_to_deploy",
    }
    dpo = next(s for s in spec.pipeline if s.name == "dpo_train").options
    assert dpo["init_from_stage"] == "fetch_model" and dpo["dataset_from_stage"] == "export_feedback"


def test_feedback_retrain_from_a_given_checkpoint() -> None:
    spec = Runtime(manifest="test").build_spec(
        "feedback_retrain", {"parent": None, "load_checkpoint_path": "/ckpt", "registry_name": "chat"}
    )
    names = [s.name for s in spec.pipeline]
    assert "fetch_model" not in names
    dpo = next(s for s in spec.pipeline if s.name == "dpo_train").options
    assert "init_from_stage" not in dpo
    assert spec.training is not None and spec.training.model.load_checkpoint_path == "/ckpt"
    assert spec.pipeline[-1].options["name"] == "chat" and "parent" not in spec.pipeline[-1].options


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"parent": None}, "set parent"),
        ({"parent": None, "load_checkpoint_path": "/c"}, "set registry_name"),
    ],
)
def test_feedback_retrain_needs_weights_and_a_name(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Runtime(manifest="test").build_spec("feedback_retrain", config)


class _FakeStoreReadingFiles(FakeDatasetStore):
    """The in-memory store, plus JSONL files a stage wrote in the run (export_feedback's pairs)."""

    def _load(self, ref: DatasetRef) -> None:
        path = Path(ref.name)
        if ref.name not in self.datasets and path.is_file():
            self.add(ref.name, ref.split, list(read_jsonl(path)))

    def open(self, ref: DatasetRef, split: str | None = None) -> Rows:
        self._load(ref)
        return super().open(ref, split)

    def splits(self, ref: DatasetRef) -> list[str]:
        self._load(ref)
        return super().splits(ref)


def _ports(service: FakeServiceClient, registry: FakeModelRegistry, feedback: FakeFeedbackStore) -> Ports:
    rows = {
        split: [json.loads(line) for line in (tiny_chat.DATA_DIR / f"{split}.jsonl").read_text().splitlines()]
        for split in ("train", "test")
    }
    datasets = _FakeStoreReadingFiles({tiny_chat.NAME: {"train": rows["train"][:64], "test": rows["test"][:16]}})
    return Ports(
        service=service, datasets=datasets, registry=registry, feedback=feedback, exporter=FakeWeightsExporter()
    )


async def _post_feedback(store: FakeFeedbackStore, model: str, version: str) -> None:
    for i in range(6):
        prompt = [{"role": "user", "content": f"reverse {'abc'[i % 3]} d"}]
        good = i % 2 == 0
        event = InferenceEvent(
            id=f"e{i}", model=model, version=version, messages=prompt,
            completion=f"d {'abc'[i % 3]}" if good else "no idea", latency_ms=2.0,
        )
        await store.log_event(event)
        await store.add_signal(FeedbackSignal(event_id=event.id, kind="thumbs_up" if good else "thumbs_down"))


def test_both_templates_end_to_end_on_the_fakes(tmp_path: Path) -> None:
    service, registry, feedback = FakeServiceClient(), FakeModelRegistry(), FakeFeedbackStore()
    small = {"batch_size": 16, "num_epochs": 1, "eval_limit": 4}

    # a gate the fake model cannot pass: registered, not promoted, and the deploy stage is skipped
    gated = Runtime(manifest="test", run_dir=tmp_path / "gated", ports=_ports(service, registry, feedback))
    result = gated.run("sft_to_deploy", {**small, "gate_min": {"eval/tiny_chat/pass@1": 1.5}})
    assert result.outputs["promote"]["promoted"] is False
    assert "deploy" not in result.outputs
    skipped = [e["stage"] for e in RunDir(tmp_path / "gated").events() if e.get("reason") == "condition"]
    assert skipped == ["deploy"]
    first = asyncio.run(registry.get("sft_to_deploy", 1))
    assert first.stage == "experiment" and "eval/tiny_chat/pass@1" in first.metrics and "test/nll" in first.metrics

    # a gate it passes: promoted and exported; not deployed, since the endpoint is its own process,
    # which these in-memory fakes cannot reach (test_deploy.py serves registered weights for real)
    passed = Runtime(manifest="test", run_dir=tmp_path / "sft", ports=_ports(service, registry, feedback))
    result = passed.run("sft_to_deploy", {**small, "seed": 1, "gate_min": {}, "gate_max": {"test/nll": 100.0}, "deploy": False})
    out = result.outputs
    assert out["promote"]["promoted"] is True and out["promote"]["stage"] == "production"
    assert Path(out["export"]["merged_dir"]).is_dir() and out["export"]["peft_adapter_dir"] is None  # lora_rank 0
    served = asyncio.run(registry.get("sft_to_deploy", "production"))
    assert served.version == out["register"]["version"] == 2

    retrain = Runtime(manifest="test", run_dir=tmp_path / "quiet", ports=_ports(service, registry, feedback))
    quiet = retrain.run("feedback_retrain", {"min_events": 4})
    assert quiet.outputs["check_triggers"]["fired"] is False
    assert list(quiet.outputs) == ["check_triggers"]

    asyncio.run(_post_feedback(feedback, "sft_to_deploy", "2"))
    retrain = Runtime(manifest="test", run_dir=tmp_path / "retrain", ports=_ports(service, registry, feedback))
    result = retrain.run("feedback_retrain", {"min_events": 4, "batch_size": 2, "eval_limit": 4})
    out = result.outputs
    assert out["check_triggers"]["fired"] is True
    assert out["export_feedback"]["pairs"] > 0
    assert out["fetch_model"]["ref"] == "sft_to_deploy:2"
    assert out["dpo_train"]["steps"] == out["export_feedback"]["pairs"] // 2 >= 1  # whole batches of 2
    child = asyncio.run(registry.get("sft_to_deploy", out["register"]["version"]))
    assert child.version == 3 and child.lineage == "dpo_trained_from" and str(child.parent) == "sft_to_deploy:2"
    assert "eval/tiny_chat/pass@1" in child.metrics
    assert asyncio.run(registry.get("sft_to_deploy", "production")).version == 2  # the child is not promoted
