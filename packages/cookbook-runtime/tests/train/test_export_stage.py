"""`export` through the runner on fakes: which checkpoint it picks, where it writes, bad options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cookbook_runtime.errors import ConfigError, StageFailed
from cookbook_runtime.framework import run, validate
from cookbook_runtime.ir import Experiment, ModelRef, StageSpec
from cookbook_runtime.ports import Ports
from cookbook_runtime.testing import FakeDatasetStore, FakeServiceClient, FakeWeightsExporter

from .conftest import training_config


def _spec(*stages: StageSpec) -> Experiment:
    config = training_config(model=ModelRef(name="fake/model", renderer="qwen3_instruct"), num_epochs=1)
    return Experiment(id="x", training=config, pipeline=list(stages))


async def test_exports_the_named_stage_final_sampler_weights(store: FakeDatasetStore, tmp_path: Path) -> None:
    exporter = FakeWeightsExporter()
    spec = _spec(StageSpec(name="supervised_train"), StageSpec(name="export", options={"from_stage": "supervised_train"}))
    ctx = await run(spec, Ports(service=FakeServiceClient(), datasets=store, exporter=exporter), tmp_path)
    sampler = ctx.outputs["supervised_train"]["final_sampler_path"]
    out = ctx.outputs["export"]
    assert out["checkpoint"] == sampler and out["base_model"] == "fake/model"
    assert out["merged_dir"] == str(tmp_path / "export" / "merged")
    assert json.loads(Path(out["peft_adapter_dir"], "export.json").read_text())["checkpoint"] == sampler
    assert exporter.calls[0]["formats"] == ["peft_adapter", "merged"]


async def test_without_a_source_the_last_checkpoint_is_exported(store: FakeDatasetStore, tmp_path: Path) -> None:
    exporter = FakeWeightsExporter()
    out_dir = tmp_path / "elsewhere"
    spec = _spec(
        StageSpec(name="supervised_train"),
        StageSpec(name="export", options={"formats": ["merged"], "output_dir": str(out_dir), "dtype": "bfloat16"}),
    )
    ctx = await run(spec, Ports(service=FakeServiceClient(), datasets=store, exporter=exporter), tmp_path / "run")
    assert ctx.outputs["export"]["checkpoint"] == ctx.outputs["supervised_train"]["final_sampler_path"]
    assert ctx.outputs["export"]["peft_adapter_dir"] is None
    assert exporter.calls[0] == {
        "checkpoint": ctx.outputs["export"]["checkpoint"], "dest": str(out_dir), "formats": ["merged"],
        "dtype": "bfloat16",
    }


async def test_nothing_to_export_is_a_config_error(tmp_path: Path) -> None:
    spec = Experiment(id="x", pipeline=[StageSpec(name="export")])
    with pytest.raises(StageFailed, match="found no checkpoint in this run"):
        await run(spec, Ports(exporter=FakeWeightsExporter()), tmp_path)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"formats": []}, "formats"),
        ({"formats": ["merged", "merged"]}, "repeat a format"),
        ({"formats": ["gguf"]}, "formats"),
        ({"dtype": "float64"}, "dtype"),
        ({"from_stage": "a", "checkpoint_path": "/x"}, "not both"),
        ({"output": "x"}, "output"),
    ],
)
def test_bad_options_fail_when_the_spec_is_checked(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        validate(Experiment(id="x", pipeline=[StageSpec(name="export", options=options)]))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"from_stage": "supervised_train"}, "not an earlier enabled stage"),
        ({"checkpoint_path": "tinker://run/sampler_weights/final"}, "sampler weights, which cannot be downloaded"),
    ],
)
async def test_preflight_refuses_before_anything_is_written(options: dict[str, Any], match: str, tmp_path: Path) -> None:
    spec = Experiment(id="x", pipeline=[StageSpec(name="export", options=options)])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=match):
        await run(spec, Ports(exporter=FakeWeightsExporter()), tmp_path / "run")
    assert not (tmp_path / "run").exists()


async def test_an_unwired_exporter_fails_before_anything_is_written(tmp_path: Path) -> None:
    spec = Experiment(id="x", pipeline=[StageSpec(name="export", options={"checkpoint_path": "/x"})])
    with pytest.raises(ConfigError, match="port 'exporter' is not configured"):
        await run(spec, Ports(), tmp_path / "run")
    assert not (tmp_path / "run").exists()


async def test_a_full_finetune_has_no_adapter(tmp_path: Path) -> None:
    spec = Experiment(id="x", pipeline=[StageSpec(name="export", options={"checkpoint_path": "/ckpt/full"})])
    with pytest.raises(StageFailed, match="no LoRA adapter"):
        await run(spec, Ports(exporter=FakeWeightsExporter()), tmp_path)
