"""The run-directory guard: only marked run directories are resumed or overwritten, and
refusals leave the directory byte-for-byte as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cookbook_runtime.errors import ConfigError, StageFailed
from cookbook_runtime.framework import (
    RUN_MARKER,
    RunDir,
    inspect_run_dir,
    read_jsonl,
    remove_run_dir,
    run,
)
from cookbook_runtime.ir import Experiment, StageSpec
from cookbook_runtime.ports import Ports, create_adapter


def _exp(*labels: str, **kw: Any) -> Experiment:
    return Experiment(id="t", pipeline=[StageSpec(name="record", id=x, options={"label": x, **kw}) for x in labels])


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _user_dir(tmp_path: Path) -> Path:
    d = tmp_path / "mine"
    d.mkdir()
    (d / "thesis.tex").write_text("years of work")
    return d


async def test_a_fresh_run_carries_the_marker(tmp_path: Path, calls: list[str]) -> None:
    await run(_exp("a"), Ports(), tmp_path / "r")
    assert (tmp_path / "r" / RUN_MARKER).is_file()
    assert inspect_run_dir(tmp_path / "r") == "run"


@pytest.mark.parametrize("if_exists", ["resume", "overwrite", "fail"])
async def test_a_non_run_directory_is_refused_untouched(tmp_path: Path, calls: list[str], if_exists: Any) -> None:
    d = _user_dir(tmp_path)
    before = _snapshot(d)
    with pytest.raises(ConfigError, match="not a cookbook run directory"):
        await run(_exp("a"), Ports(), d, if_exists=if_exists)
    assert _snapshot(d) == before and calls == []


def test_remove_run_dir_refuses_user_files(tmp_path: Path) -> None:
    d = _user_dir(tmp_path)
    with pytest.raises(ConfigError, match="not a cookbook run directory"):
        remove_run_dir(d)
    assert (d / "thesis.tex").read_text() == "years of work"


def test_a_file_or_a_path_below_a_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "f.txt"
    f.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        inspect_run_dir(f)
    with pytest.raises(ConfigError, match="is below"):
        inspect_run_dir(f / "run")


async def test_an_empty_directory_is_used(tmp_path: Path, calls: list[str]) -> None:
    (tmp_path / "e").mkdir()
    await run(_exp("a"), Ports(), tmp_path / "e")
    assert calls == ["a"]


async def test_overwrite_replaces_a_run(tmp_path: Path, calls: list[str]) -> None:
    await run(_exp("a"), Ports(), tmp_path / "r")
    (tmp_path / "r" / "stray").write_text("x")
    await run(_exp("a"), Ports(), tmp_path / "r", if_exists="overwrite")
    assert not (tmp_path / "r" / "stray").exists() and calls == ["a", "a"]


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("experiment.json", "{not json", "not valid JSON"),
        ("experiment.json", '{"id": "t"}', "not a valid spec"),
        ("run.json", "[1, 2]", "not a JSON object"),
        ("run.json", "\x00\x01binary", "binary"),
        ("events.jsonl", '{"event": "x"}\ngarbage\n{"event": "y"}\n', "line 2 is not valid JSON"),
        ("metrics.jsonl", "[1]\n", "line 1 is a JSON list"),
        ("checkpoints.jsonl", "oops\n{}\n", "line 1 is not valid JSON"),
        ("config.json", "{\"a\": 1", "not valid JSON"),
    ],
)
async def test_a_damaged_run_is_refused_before_anything_is_written(
    tmp_path: Path, calls: list[str], name: str, content: str, match: str
) -> None:
    rd = tmp_path / "r"
    await run(_exp("a", "b"), Ports(), rd)
    (rd / name).write_text(content, encoding="utf-8")
    before = _snapshot(rd)
    with pytest.raises(ConfigError, match=match):
        await run(_exp("a", "b"), Ports(), rd)
    assert _snapshot(rd) == before


async def test_a_different_experiment_is_refused_untouched(tmp_path: Path, calls: list[str]) -> None:
    rd = tmp_path / "r"
    await run(_exp("a"), Ports(), rd)
    before = _snapshot(rd)
    with pytest.raises(ConfigError, match="different experiment"):
        await run(_exp("a", "b"), Ports(), rd, files={"config.json": {"changed": True}})
    assert _snapshot(rd) == before


async def test_a_torn_last_line_is_skipped_then_cut_off(tmp_path: Path, calls: list[str]) -> None:
    rd = tmp_path / "r"
    await run(_exp("a", "b"), Ports(), rd)
    with (rd / "events.jsonl").open("a") as f:
        f.write('{"event": "stage_sta')  # a crash mid-write
    await run(_exp("a", "b"), Ports(), rd)
    events = [json.loads(line) for line in (rd / "events.jsonl").read_text().splitlines()]  # every line parses
    assert events[-1]["event"] == "run_finished"


async def test_a_bad_input_error_is_stage_failed(tmp_path: Path, calls: list[str]) -> None:
    with pytest.raises(StageFailed, match="stage 'a' failed: boom in a"):
        await run(_exp("a", fail=True), Ports(), tmp_path / "r")


async def test_a_bug_propagates_unchanged_naming_the_stage(tmp_path: Path, calls: list[str]) -> None:
    with pytest.raises(RuntimeError, match="bug in a") as info:
        await run(_exp("a", crash=True), Ports(), tmp_path / "r")
    assert any("stage 'a'" in note for note in info.value.__notes__)
    status = RunDir(tmp_path / "r").status()
    assert status["status"] == "failed" and status["error"] == "RuntimeError: bug in a"
    assert next(e for e in read_jsonl(tmp_path / "r" / "events.jsonl") if e["event"] == "stage_failed")["bug"]


class _Closer:
    def __init__(self, log: list[str], name: str, fail: bool) -> None:
        self.log, self.name, self.fail = log, name, fail

    async def close(self) -> None:
        self.log.append(self.name)
        if self.fail:
            raise RuntimeError(f"close {self.name} failed")


async def test_every_port_is_closed_even_if_one_close_fails() -> None:
    log: list[str] = []
    ports = Ports(service=_Closer(log, "service", True), blobs=_Closer(log, "blobs", False))
    with pytest.raises(RuntimeError, match="close service failed"):
        await ports.aclose()
    assert log == ["service", "blobs"]
    log.clear()
    await ports.aclose(raise_errors=False)
    assert log == ["service", "blobs"]


def test_an_adapters_own_type_error_is_not_bad_options(monkeypatch: pytest.MonkeyPatch) -> None:
    from cookbook_runtime.testing import fakes

    def broken(**options: Any) -> Any:
        raise TypeError("internal bug")

    monkeypatch.setattr(fakes, "FakeBlobStore", broken)
    with pytest.raises(TypeError, match="internal bug"):
        create_adapter("fake", "blobs", {})
    with pytest.raises(ConfigError, match="bad options for adapter 'fake'"):
        create_adapter("fake", "service", {"nope": 1})
