"""`rl_train` through the real pipeline runner on fake ports, with a registered test env."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from cookbook_runtime.errors import ConfigError, UnknownNameError
from cookbook_runtime.framework import read_jsonl, run, validate
from cookbook_runtime.ir import DatasetRef, Experiment, StageSpec
from cookbook_runtime.ports import Ports
from cookbook_runtime.testing import FakeDatasetStore, FakeServiceClient
from cookbook_runtime.train.rl.envs import EnvContext, register_env
from cookbook_runtime.train.stages import RLTrainStage
from pydantic import BaseModel, ConfigDict, Field

from .conftest import training
from .envs import LetterDataset


class LettersOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    num_batches: int = Field(default=4, ge=1)


@register_env
class Letters:
    name: ClassVar[str] = "test_letters"
    Options: ClassVar[type[BaseModel]] = LettersOptions

    def build(self, options: LettersOptions, ctx: EnvContext) -> tuple[Any, Any]:
        return (
            LetterDataset(options.num_batches, ctx.groups_per_batch, ctx.group_size),
            LetterDataset(1, 2, 1, offset=1000),
        )


def _experiment(*stages: StageSpec) -> Experiment:
    config = training(dataset=DatasetRef(name="chat", test_split="test"), batch_size=4)
    return Experiment(id="rl", training=config, pipeline=list(stages))


def chat_rows(n: int, *, prefix: str = "q") -> list[dict[str, Any]]:
    return [
        {"messages": [{"role": "user", "content": f"{prefix}{i}?"}, {"role": "assistant", "content": f"a{i}."}]}
        for i in range(n)
    ]


def _ports() -> Ports:
    store = FakeDatasetStore({"chat": {"train": chat_rows(8), "test": chat_rows(2, prefix="t")}})
    return Ports(service=FakeServiceClient(), datasets=store)


def test_options_are_frozen_documented_and_strict() -> None:
    options = RLTrainStage.Options
    assert options.model_config.get("extra") == "forbid"
    assert all(f.description for f in options.model_fields.values())


def test_env_options_are_validated_with_the_spec() -> None:
    bad = _experiment(StageSpec(name="rl_train", options={"env": "test_letters", "env_options": {"num_batchs": 2}}))
    with pytest.raises(ConfigError, match="num_batchs"):
        validate(bad)


def test_unknown_env_is_named_with_the_known_ones() -> None:
    bad = _experiment(StageSpec(name="rl_train", options={"env": "test_leters"}))
    with pytest.raises(UnknownNameError, match="test_letters"):
        validate(bad)


@pytest.mark.parametrize("mode", ["sync", "stream", "async"])
async def test_rl_train_runs_each_mode_and_reports_rewards(tmp_path: Path, mode: str) -> None:
    spec = _experiment(
        StageSpec(
            name="rl_train",
            options={"env": "test_letters", "mode": mode, "group_size": 2, "groups_per_batch": 2, "max_tokens": 6},
        )
    )
    ctx = await run(spec, _ports(), tmp_path)
    out = ctx.outputs["rl_train"]
    assert out["steps"] == 4 and out["renderer"] == "qwen3_instruct"
    assert {"first_test_reward", "final_test_reward", "final_state_path"} <= set(out)
    assert [r["step"] for r in read_jsonl(tmp_path / "metrics.jsonl")] == [0, 1, 2, 3, 4]


async def test_warm_start_from_a_supervised_stage_keeps_its_files_apart(tmp_path: Path) -> None:
    spec = _experiment(
        StageSpec(name="supervised_train", options={"log_subdir": "sft"}),
        StageSpec(name="rl_train", options={"env": "test_letters", "init_from_stage": "supervised_train"}),
    )
    ctx = await run(spec, _ports(), tmp_path)
    assert (tmp_path / "sft" / "checkpoints.jsonl").is_file()
    assert ctx.outputs["rl_train"]["steps"] == 4
    rl_rows = list(read_jsonl(tmp_path / "metrics.jsonl"))
    assert "env/all/reward/total" in rl_rows[0] and "train_mean_nll" not in rl_rows[0]


async def test_init_from_a_missing_stage_is_a_config_error_before_anything_is_written(tmp_path: Path) -> None:
    spec = _experiment(StageSpec(name="rl_train", options={"env": "test_letters", "init_from_stage": "sft"}))
    with pytest.raises(ConfigError, match="init_from_stage 'sft' is not an earlier enabled stage"):
        await run(spec, _ports(), tmp_path / "run")
    assert not (tmp_path / "run").exists()


