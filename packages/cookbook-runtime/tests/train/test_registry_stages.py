"""`register` and `promote` through the real pipeline runner, on fake ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cookbook_runtime.errors import ConfigError, PortNotConfigured, StageFailed
from cookbook_runtime.framework import CheckpointRef, Context, read_jsonl, register_stage, run
from cookbook_runtime.framework import _stage as stage_module
from cookbook_runtime.ir import Experiment, ModelRef, StageSpec
from cookbook_runtime.ports import Ports
from cookbook_runtime.testing import (
    FakeBlobStore,
    FakeDatasetStore,
    FakeModelRegistry,
    FakeServiceClient,
)
from cookbook_runtime.train.stages import PromotionRefused
from pydantic import BaseModel, ConfigDict, Field

from .conftest import training_config


class FixedWeightsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    folder: str = Field(description="A folder standing in for trained sampler weights.")


class FixedWeightsStage:
    """A training stage whose final weights (state and sampler) are a real folder, as the local engine leaves them."""

    name: ClassVar[str] = "fixed_weights"
    Options: ClassVar[type[BaseModel]] = FixedWeightsOptions

    async def run(self, ctx: Context, options: FixedWeightsOptions) -> dict[str, Any]:
        ctx.publish(CheckpointRef(
            state_path=options.folder, sampler_path=options.folder, base_model="fake/model", renderer="bytes",
            kind="fixed",
        ))
        return {
            "final_state_path": options.folder,
            "final_sampler_path": options.folder,
            "base_model": "fake/model",
            "renderer": "bytes",
        }


@pytest.fixture(autouse=True)
def _fixed_weights_stage() -> Iterator[None]:
    saved = dict(stage_module._registered)
    register_stage(FixedWeightsStage)
    yield
    stage_module._registered.clear()
    stage_module._registered.update(saved)


@pytest.fixture
def registry() -> FakeModelRegistry:
    return FakeModelRegistry(FakeBlobStore())


def _ports(store: FakeDatasetStore, registry: FakeModelRegistry) -> Ports:
    return Ports(service=FakeServiceClient(), datasets=store, blobs=registry.blobs, registry=registry)


def _experiment(*stages: StageSpec) -> Experiment:
    config = training_config(model=ModelRef(name="fake/model", renderer="qwen3_instruct"))
    return Experiment(id="chat-sft", recipe="sl_basic", training=config, dataset=config.dataset, pipeline=list(stages))


def _weights(tmp_path: Path, content: bytes = b"adapter weights") -> str:
    folder = tmp_path / "weights"
    folder.mkdir(exist_ok=True)
    (folder / "adapter_model.safetensors").write_bytes(content)
    (folder / "adapter_config.json").write_text('{"r": 8}')
    return str(folder)


async def test_train_evaluate_register_promote(
    store: FakeDatasetStore, registry: FakeModelRegistry, tmp_path: Path
) -> None:
    spec = _experiment(
        StageSpec(name="supervised_train"),
        StageSpec(name="evaluate_nll"),
        StageSpec(name="register"),
        StageSpec(name="promote", options={"to": "staging", "max": {"test/nll": 100.0}}),
    )
    ctx = await run(spec, _ports(store, registry), tmp_path / "run")
    mv = await registry.get("chat-sft", 1)
    train = ctx.outputs["supervised_train"]
    assert mv.metrics["test/nll"] == pytest.approx(ctx.outputs["evaluate_nll"]["nll"]), mv.metrics
    assert "train_mean_nll" in mv.metrics, f"run metrics missing: {sorted(mv.metrics)}"
    assert (mv.base_model, mv.renderer, mv.recipe, mv.parent) == ("fake/model", "qwen3_instruct", "sl_basic", None)
    assert {a.name: a.uri for a in mv.artifacts} == {
        "sampler": train["final_sampler_path"],
        "checkpoint": train["final_state_path"],
    }
    assert mv.config["training"]["learning_rate"] == 1e-3
    assert ctx.outputs["register"]["ref"] == "chat-sft:1" and ctx.outputs["register"]["created"] is True
    promote = ctx.outputs["promote"]
    assert promote["promoted"] is True and promote["stage"] == "staging", promote
    assert (await registry.get("chat-sft", 1)).stage == "staging"


async def test_a_failed_gate_is_reported_and_recorded_not_raised(
    store: FakeDatasetStore, registry: FakeModelRegistry, tmp_path: Path
) -> None:
    spec = _experiment(
        StageSpec(name="supervised_train"),
        StageSpec(name="register"),
        StageSpec(name="promote", options={"to": "production", "max": {"test/nll": 0.0}, "min": {"eval/acc": 0.5}}),
    )
    ctx = await run(spec, _ports(store, registry), tmp_path / "run")
    promote = ctx.outputs["promote"]
    assert promote["promoted"] is False and promote["stage"] == "experiment", promote
    checks = {c["metric"]: c for c in promote["checks"]}
    assert checks["test/nll"]["passed"] is False and checks["test/nll"]["value"] > 0.0
    assert checks["eval/acc"] == {"metric": "eval/acc", "op": ">=", "threshold": 0.5, "value": None, "passed": False}
    mv = await registry.get("chat-sft", 1)
    assert mv.stage == "experiment"
    refusal = mv.history[-1]
    assert (refusal.to_stage, refusal.accepted) == ("production", False) and "eval/acc missing" in refusal.reason
    finished = [e for e in read_jsonl(tmp_path / "run" / "events.jsonl") if e.get("event") == "stage_finished"]
    assert [e["stage"] for e in finished][-1] == "promote"


async def test_a_required_gate_stops_the_pipeline_after_recording(
    store: FakeDatasetStore, registry: FakeModelRegistry, tmp_path: Path
) -> None:
    spec = _experiment(
        StageSpec(name="supervised_train"),
        StageSpec(name="register"),
        StageSpec(name="promote", options={"max": {"test/nll": 0.0}, "require": True}),
        StageSpec(name="sample"),
    )
    with pytest.raises(StageFailed, match="not promoted to 'staging'") as info:
        await run(spec, _ports(store, registry), tmp_path / "run")
    assert isinstance(info.value.error, PromotionRefused)
    assert (await registry.get("chat-sft", 1)).history[-1].accepted is False


async def test_registering_the_same_weights_and_config_again_returns_the_version(
    store: FakeDatasetStore, registry: FakeModelRegistry, tmp_path: Path
) -> None:
    folder = _weights(tmp_path)
    spec = _experiment(StageSpec(name="fixed_weights", options={"folder": folder}), StageSpec(name="register"))
    first = await run(spec, _ports(store, registry), tmp_path / "run1")
    again = await run(spec, _ports(store, registry), tmp_path / "run2")
    assert first.outputs["register"]["created"] is True and again.outputs["register"]["created"] is False
    assert [v.version for v in await registry.list("chat-sft")] == [1]
    art = (await registry.get("chat-sft", 1)).artifact("sampler")
    assert art.storage == "blobs" and sorted(f.path for f in art.files) == ["adapter_config.json", "adapter_model.safetensors"]
    out = await registry.fetch_artifact("chat-sft", 1, "sampler", tmp_path / "fetched")
    assert (out / "adapter_model.safetensors").read_bytes() == b"adapter weights"
    _weights(tmp_path, b"retrained weights")
    third = await run(spec, _ports(store, registry), tmp_path / "run3")
    assert third.outputs["register"]["version"] == 2


async def test_parent_and_lineage_come_from_the_options_and_the_training_stage(
    store: FakeDatasetStore, registry: FakeModelRegistry, tmp_path: Path
) -> None:
    base = _experiment(StageSpec(name="fixed_weights", options={"folder": _weights(tmp_path)}), StageSpec(name="register"))
    await run(base, _ports(store, registry), tmp_path / "base")
    child = _experiment(StageSpec(name="supervised_train"), StageSpec(name="register", options={"parent": "chat-sft:1"}))
    await run(child, _ports(store, registry), tmp_path / "child")
    mv = await registry.get("chat-sft", 2)
    assert (str(mv.parent), mv.lineage) == ("chat-sft:1", "fine_tuned_from")
    unknown_kind = _experiment(
        StageSpec(name="fixed_weights", options={"folder": _weights(tmp_path, b"other")}),
        StageSpec(name="register", options={"parent": "chat-sft:1", "name": "other"}),
    )
    with pytest.raises(StageFailed, match="set lineage"):
        await run(unknown_kind, _ports(store, registry), tmp_path / "unknown")
    explicit = unknown_kind.model_copy(
        update={
            "pipeline": [
                unknown_kind.pipeline[0],
                StageSpec(name="register", options={"parent": "chat-sft", "name": "other", "lineage": "distilled_from"}),
            ]
        }
    )
    await run(explicit, _ports(store, registry), tmp_path / "explicit")
    lineage = await registry.lineage("chat-sft", 1)
    assert {(str(e.child), e.kind) for e in lineage.descendants} == {
        ("chat-sft:2", "fine_tuned_from"),
        ("other:1", "distilled_from"),
    }


async def test_an_unwired_registry_fails_before_the_run_directory_exists(
    store: FakeDatasetStore, tmp_path: Path
) -> None:
    spec = _experiment(StageSpec(name="supervised_train"), StageSpec(name="register"))
    with pytest.raises(ConfigError, match="port 'registry' is not configured") as info:
        await run(spec, Ports(service=FakeServiceClient(), datasets=store), tmp_path / "run")
    assert isinstance(info.value.__cause__, PortNotConfigured)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([StageSpec(name="register", options={"from_stage": "sft"})], "from_stage 'sft' is not an earlier enabled"),
        ([StageSpec(name="register", options={"metrics_from": ["eval"]})], "not in the pipeline"),
        ([StageSpec(name="promote")], "add it, or set model"),
        ([StageSpec(name="register", options={"name": "bad name!"})], "bad model name"),
        ([StageSpec(name="promote", options={"model": "m", "to": "experiment"})], "versions start in"),
    ],
)
async def test_bad_options_fail_before_anything_runs(
    stages: list[StageSpec], message: str, store: FakeDatasetStore, registry: FakeModelRegistry, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=message):
        await run(_experiment(StageSpec(name="supervised_train"), *stages), _ports(store, registry), tmp_path / "run")
    assert not (tmp_path / "run").exists()


async def test_register_without_a_training_stage_says_what_to_do(
    store: FakeDatasetStore, registry: FakeModelRegistry, tmp_path: Path
) -> None:
    with pytest.raises(StageFailed, match="put a training stage before it"):
        await run(_experiment(StageSpec(name="register")), _ports(store, registry), tmp_path / "run")


async def test_fetch_model_copies_a_registered_version_into_the_run_for_the_next_stage(
    store: FakeDatasetStore, registry: FakeModelRegistry, tmp_path: Path
) -> None:
    weights = _weights(tmp_path, b"served weights")
    first = _experiment(
        StageSpec(name="fixed_weights", options={"folder": weights}),
        StageSpec(name="register", options={"name": "chat"}),
        StageSpec(name="promote", options={"to": "production"}),
    )
    await run(first, _ports(store, registry), tmp_path / "first")

    second = _experiment(
        StageSpec(name="fetch_model", options={"model": "chat:production"}),
    )
    ctx = await run(second, _ports(store, registry), tmp_path / "second")
    out = ctx.outputs["fetch_model"]
    assert (out["ref"], out["stage"], out["base_model"], out["renderer"]) == ("chat:1", "production", "fake/model", "bytes")
    for key in ("final_state_path", "final_sampler_path"):
        fetched = Path(out[key])
        assert fetched.is_relative_to(tmp_path / "second" / "registry" / "chat" / "1")
        assert (fetched / "adapter_model.safetensors").read_bytes() == b"served weights"
    ref = ctx.find_artifact(CheckpointRef, "fetch_model")  # what init_from_stage continues from
    assert ref is not None and (ref.state_path, ref.kind) == (out["final_state_path"], "registry")


async def test_fetch_model_refuses_an_artifact_that_is_not_a_state(
    store: FakeDatasetStore, registry: FakeModelRegistry, tmp_path: Path
) -> None:
    first = _experiment(
        StageSpec(name="fixed_weights", options={"folder": _weights(tmp_path)}),
        StageSpec(name="register", options={"name": "chat"}),
    )
    await run(first, _ports(store, registry), tmp_path / "first")
    bad = _experiment(StageSpec(name="fetch_model", options={"model": "chat:1", "state_artifact": "sampler"}))
    with pytest.raises(StageFailed, match="not a training state"):
        await run(bad, _ports(store, registry), tmp_path / "second")
    with pytest.raises(ConfigError, match="port 'registry' is not configured"):  # preflight: nothing written
        await run(bad, Ports(service=FakeServiceClient(), datasets=store), tmp_path / "third")
    assert not (tmp_path / "third").exists()
