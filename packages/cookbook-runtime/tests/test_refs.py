"""Typed artifact refs: published by one stage, asked for by type by a later one, kept across a resume."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cookbook_runtime.errors import ConfigError, StageFailed
from cookbook_runtime.framework import (
    CheckpointRef,
    Context,
    DatasetArtifact,
    EvalResultRef,
    RewardModelRef,
    RunDir,
    dump_refs,
    load_refs,
    register_stage,
    run,
)
from cookbook_runtime.framework import _stage as stage_module
from cookbook_runtime.ir import Experiment, StageSpec
from cookbook_runtime.ports import Ports
from pydantic import BaseModel, ConfigDict, Field

RUNS: list[str] = []
SEEN: dict[str, Any] = {}


class MakeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="The state path to publish.")


class MakeCheckpoint:
    """Publishes a CheckpointRef at `path`."""

    name: ClassVar[str] = "make_checkpoint"
    Options: ClassVar[type[BaseModel]] = MakeOptions

    async def run(self, ctx: Context, options: MakeOptions) -> dict[str, Any]:
        RUNS.append(ctx.stage or "")
        ctx.publish(CheckpointRef(state_path=options.path, base_model="tiny", kind="supervised"))
        ctx.publish(EvalResultRef(metrics={"nll": 1.5}))
        return {"made": options.path}


class UseOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str | None = Field(default=None, description="Stage to take the checkpoint from; None: the latest.")
    kind: str = Field(default="checkpoint", description="'checkpoint' or 'reward_model'.")


class UseCheckpoint:
    """Records the ref it was handed."""

    name: ClassVar[str] = "use_checkpoint"
    Options: ClassVar[type[BaseModel]] = UseOptions

    async def run(self, ctx: Context, options: UseOptions) -> dict[str, Any]:
        RUNS.append(ctx.stage or "")
        cls = CheckpointRef if options.kind == "checkpoint" else RewardModelRef
        SEEN[ctx.stage or ""] = ctx.artifact(cls, stage=options.source)
        return {}


class MakeDatasets:
    """Publishes a pairs dataset, an sft one, then the pairs again at a new path."""

    name: ClassVar[str] = "make_datasets"
    Options: ClassVar[type[BaseModel]] = MakeOptions

    async def run(self, ctx: Context, options: MakeOptions) -> dict[str, Any]:
        for kind, path in (("pairs", "/old"), ("sft", "/sft"), ("pairs", options.path)):
            ctx.publish(DatasetArtifact(path=path, kind=kind))
        return {}


@pytest.fixture(autouse=True)
def stages() -> Iterator[None]:
    saved = dict(stage_module._registered)
    register_stage(MakeCheckpoint)
    register_stage(UseCheckpoint)
    register_stage(MakeDatasets)
    RUNS.clear()
    SEEN.clear()
    yield
    stage_module._registered.clear()
    stage_module._registered.update(saved)


def _exp(*stages: StageSpec) -> Experiment:
    return Experiment(id="refs", pipeline=list(stages))


def _make(key: str, path: str) -> StageSpec:
    return StageSpec(name="make_checkpoint", id=key, options={"path": path})


def _use(key: str, **options: Any) -> StageSpec:
    return StageSpec(name="use_checkpoint", id=key, options=options)


async def test_a_later_stage_gets_the_ref_by_type_and_stage(tmp_path: Path) -> None:
    await run(_exp(_make("a", "/a"), _make("b", "/b"), _use("by_name", source="a"), _use("latest")), Ports(), tmp_path)
    assert SEEN["by_name"] == CheckpointRef(state_path="/a", base_model="tiny", kind="supervised")
    assert SEEN["latest"].state_path == "/b"


async def test_refs_are_recorded_in_the_run_directory(tmp_path: Path) -> None:
    await run(_exp(_make("a", "/a")), Ports(), tmp_path)
    finished = [e for e in RunDir(tmp_path).events() if e["event"] == "stage_finished"]
    assert load_refs(finished[0]["artifacts"]) == [
        CheckpointRef(state_path="/a", base_model="tiny", kind="supervised"),
        EvalResultRef(metrics={"nll": 1.5}),
    ]


async def test_resume_restores_the_refs_of_finished_stages(tmp_path: Path) -> None:
    spec = _exp(_make("a", "/a"))
    await run(spec, Ports(), tmp_path)
    RUNS.clear()
    ctx = await run(spec, Ports(), tmp_path)
    assert RUNS == []
    assert ctx.artifact(CheckpointRef, stage="a").state_path == "/a"
    assert ctx.artifact(EvalResultRef, stage="a").metrics == {"nll": 1.5}


async def test_a_resumed_later_stage_is_handed_the_restored_ref(tmp_path: Path) -> None:
    spec = _exp(_make("a", "/a"), _use("b", source="a"))
    await run(spec, Ports(), tmp_path)
    # forget that b finished, as if the run had been killed during b
    events = [e for e in RunDir(tmp_path).events() if not (e["event"] == "stage_finished" and e["stage"] == "b")]
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    RUNS.clear()
    SEEN.clear()
    await run(spec, Ports(), tmp_path)
    assert RUNS == ["b"]
    assert SEEN["b"].state_path == "/a"


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        ([_use("b", source="sft")], "stage 'b' needs a CheckpointRef from stage 'sft', which is not in the pipeline"),
        ([_use("b", source="a"), _make("a", "/a")], "from stage 'a', which has not run yet: put it earlier"),
        ([_make("a", "/a"), _use("b", source="a", kind="reward_model")],
         "needs a RewardModelRef from stage 'a', which did not publish one"),
        ([_use("b")], "needs a CheckpointRef and no earlier stage published one: put a training stage"),
    ],
)
async def test_a_missing_ref_is_a_config_error_naming_the_stage(
    tmp_path: Path, pipeline: list[StageSpec], message: str
) -> None:
    with pytest.raises(StageFailed, match=message) as info:
        await run(_exp(*pipeline), Ports(), tmp_path)
    assert isinstance(info.value.__cause__, ConfigError)


async def test_a_stage_publishes_one_dataset_of_each_kind(tmp_path: Path) -> None:
    spec = _exp(StageSpec(name="make_datasets", id="d", options={"path": "/pairs"}))
    ctx = await run(spec, Ports(), tmp_path)
    assert [(r.kind, r.path) for r in ctx.refs["d"] if isinstance(r, DatasetArtifact)] == [
        ("sft", "/sft"), ("pairs", "/pairs")
    ]
    assert ctx.artifact(DatasetArtifact, stage="d", kind="pairs").path == "/pairs"
    assert ctx.artifact(DatasetArtifact, kind="sft").path == "/sft"
    resumed = await run(spec, Ports(), tmp_path)
    assert resumed.refs["d"] == ctx.refs["d"]
    with pytest.raises(ConfigError, match="needs a DatasetArtifact of kind 'rows' from stage 'd', which did not "
                                          r"publish one \(a stage that writes a dataset"):
        resumed.artifact(DatasetArtifact, stage="d", kind="rows")


def test_unknown_ref_types_are_refused_on_load() -> None:
    dumped = dump_refs([EvalResultRef(metrics={"x": 1.0})])
    assert load_refs(dumped) == [EvalResultRef(metrics={"x": 1.0})]
    with pytest.raises(ValueError, match="unknown artifact type 'Nope'"):
        load_refs([{"type": "Nope", "data": {}}])


async def test_a_damaged_ref_stops_the_resume_before_anything_runs(tmp_path: Path) -> None:
    spec = _exp(_make("a", "/a"))
    await run(spec, Ports(), tmp_path)
    events = RunDir(tmp_path).events()
    for e in events:
        if e["event"] == "stage_finished":
            e["artifacts"] = [{"type": "CheckpointRef", "data": {"state_path": 3}}]
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    with pytest.raises(ConfigError, match="unreadable artifacts of stage 'a'"):
        await run(spec, Ports(), tmp_path)
