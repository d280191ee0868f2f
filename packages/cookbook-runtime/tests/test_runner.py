from __future__ import annotations

import json
from pathlib import Path

import pytest
from cookbook_runtime.errors import ConfigError, StageFailed, UnknownNameError
from cookbook_runtime.framework import RunDir, run
from cookbook_runtime.ir import Experiment, StageSpec
from cookbook_runtime.ports import Ports


def _exp(*stages: StageSpec) -> Experiment:
    return Experiment(id="t", pipeline=list(stages))


def _rec(label: str, **kw: object) -> StageSpec:
    return StageSpec(name="record", id=label, options={"label": label, **kw})  # type: ignore[arg-type]


async def test_stages_run_in_order(tmp_path: Path, calls: list[str]) -> None:
    ctx = await run(_exp(_rec("a"), _rec("b"), _rec("c")), Ports(), tmp_path)
    assert calls == ["a", "b", "c"]
    assert ctx.outputs["c"]["seen"] == ["a", "b"]


async def test_disabled_stage_is_skipped(tmp_path: Path, calls: list[str]) -> None:
    spec = _exp(_rec("a"), _rec("b").model_copy(update={"enabled": False}), _rec("c"))
    await run(spec, Ports(), tmp_path)
    assert calls == ["a", "c"]
    skipped = [e for e in RunDir(tmp_path).events() if e["event"] == "stage_skipped"]
    assert [(e["stage"], e["reason"]) for e in skipped] == [("b", "disabled")]


async def test_bad_option_fails_before_any_stage_runs(tmp_path: Path, calls: list[str]) -> None:
    spec = _exp(_rec("a"), StageSpec(name="record", id="bad", options={"label": 3, "nope": 1}))
    with pytest.raises(ConfigError, match="stage 'bad'"):
        await run(spec, Ports(), tmp_path)
    assert calls == []
    assert not (tmp_path / "events.jsonl").exists()


async def test_unknown_stage_suggests_closest(tmp_path: Path, calls: list[str]) -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'record'"):
        await run(_exp(StageSpec(name="recrd")), Ports(), tmp_path)


async def test_failure_stops_pipeline_naming_the_stage(tmp_path: Path, calls: list[str]) -> None:
    spec = _exp(_rec("a"), _rec("b", fail=True), _rec("c"))
    with pytest.raises(StageFailed, match="stage 'b' failed: boom in b") as info:
        await run(spec, Ports(), tmp_path)
    assert info.value.stage == "b"
    assert calls == ["a"]
    assert RunDir(tmp_path).status()["status"] == "failed"


async def test_rerun_skips_finished_stages_and_restores_outputs(tmp_path: Path, calls: list[str]) -> None:
    spec = _exp(_rec("a"), _rec("b"))
    await run(spec, Ports(), tmp_path)
    calls.clear()
    ctx = await run(spec, Ports(), tmp_path)
    assert calls == []
    assert ctx.outputs["a"]["label"] == "a"


async def test_rerun_after_failure_resumes_at_failed_stage(tmp_path: Path, calls: list[str]) -> None:
    failing = _exp(_rec("a"), _rec("b", fail=True))
    with pytest.raises(StageFailed):
        await run(failing, Ports(), tmp_path)
    # a different spec in the same directory is refused...
    with pytest.raises(ConfigError, match="different experiment"):
        await run(_exp(_rec("a"), _rec("b")), Ports(), tmp_path)


async def test_events_jsonl_content(tmp_path: Path, calls: list[str]) -> None:
    await run(_exp(_rec("a"), _rec("b")), Ports(), tmp_path)
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    kinds = [(e["event"], e.get("stage")) for e in events]
    assert kinds == [
        ("run_started", None),
        ("stage_started", "a"),
        ("stage_finished", "a"),
        ("stage_started", "b"),
        ("stage_finished", "b"),
        ("run_finished", None),
    ]
    assert events[2]["outputs"] == {"label": "a", "seen": []}
    assert all(isinstance(e["time"], float) for e in events)
    assert RunDir(tmp_path).status()["status"] == "finished"
    assert Experiment.model_validate_json((tmp_path / "experiment.json").read_text()).id == "t"


async def test_duplicate_stage_ids_rejected(tmp_path: Path, calls: list[str]) -> None:
    with pytest.raises(ConfigError, match="repeated: a"):
        await run(_exp(_rec("a"), _rec("a")), Ports(), tmp_path)


async def test_when_runs_a_stage_only_if_the_named_output_is_true(tmp_path: Path, calls: list[str]) -> None:
    spec = _exp(
        _rec("a"),
        StageSpec(name="record", id="b", options={"label": "b"}, when="a.label"),  # "a": truthy
        StageSpec(name="record", id="c", options={"label": "c"}, when="a.missing"),  # absent: false
        StageSpec(name="record", id="d", options={"label": "d"}, when="c.label"),  # c skipped: false
    )
    ctx = await run(spec, Ports(), tmp_path)
    assert calls == ["a", "b"]
    assert sorted(ctx.outputs) == ["a", "b"]
    skipped = [(e["stage"], e["reason"], e["when"]) for e in RunDir(tmp_path).events() if e["event"] == "stage_skipped"]
    assert skipped == [("c", "condition", "a.missing"), ("d", "condition", "c.label")]


def test_when_must_name_an_earlier_stage_and_an_output(calls: list[str]) -> None:
    from cookbook_runtime.framework import validate

    with pytest.raises(ConfigError, match="names no earlier enabled stage"):
        validate(_exp(StageSpec(name="record", id="b", options={"label": "b"}, when="a.label"), _rec("a")))
    with pytest.raises(Exception, match="when"):
        StageSpec(name="record", when="a")
