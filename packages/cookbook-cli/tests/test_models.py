"""`cookbook models`: list, show, promote, lineage and compare over the SQLite registry."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from cookbook_adapters.sqlite import SqliteModelRegistry
from cookbook_runtime.ports import (
    ArtifactSource,
    DeploymentDraft,
    Registration,
    TrafficSplit,
    VersionRef,
)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The local manifest's registry and blobs live here for the test."""
    folder = tmp_path / "data"
    monkeypatch.setenv("COOKBOOK_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def populated(data_dir: Path, tmp_path: Path) -> Path:
    """chat:1 (sft), chat:2 (dpo from chat:1, deployed) and small:1 (distilled from chat:2)."""

    async def fill() -> None:
        registry = SqliteModelRegistry()
        weights = tmp_path / "weights.bin"
        for name, tag, parent, kind, nll in (
            ("chat", "a", None, None, 1.25),
            ("chat", "b", VersionRef(name="chat", version=1), "dpo_trained_from", 0.75),
            ("small", "c", VersionRef(name="chat", version=2), "distilled_from", 1.5),
        ):
            weights.write_bytes(tag.encode() * 3000)
            await registry.register(
                Registration(
                    name=name,
                    base_model="cookbook/tiny-chat",
                    renderer="role_colon",
                    config={"tag": tag, "learning_rate": 1e-3},
                    metrics={"test/nll": nll},
                    parent=parent,
                    lineage=kind,  # type: ignore[arg-type]
                    artifacts=(ArtifactSource(name="sampler", kind="sampler", path=str(weights)),),
                )
            )
        await registry.record_deployment(
            DeploymentDraft(name="chat", target="local", traffic=(TrafficSplit(version=2, weight=1.0),), status="active")
        )
        await registry.close()

    asyncio.run(fill())
    return data_dir


def test_list_shows_every_version_with_lineage_and_metrics(cli: Any, populated: Path) -> None:
    result = cli("models", "list")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if ":" in line and "│" in line]
    assert [line.split("│")[1].strip() for line in lines] == ["chat:1", "chat:2", "small:1"], result.stdout
    assert "dpo_trained_from chat:1" in result.stdout and "test/nll=0.75" in result.stdout
    only = cli("models", "list", "small", "--json")
    assert [(v["name"], v["version"], v["lineage"]) for v in json.loads(only.stdout)] == [("small", 1, "distilled_from")]


def test_show_prints_artifacts_checksums_and_deployments(cli: Any, populated: Path) -> None:
    result = cli("models", "show", "chat:2")
    assert result.exit_code == 0, result.output
    assert "chat:2  stage experiment" in result.stdout and "dpo_trained_from chat:1" in result.stdout
    assert "active on local (replace: v2 100%)" in result.stdout
    data = json.loads(cli("models", "show", "chat", "--json").stdout)  # no version: the newest
    art = data["artifacts"][0]
    assert (data["version"], art["size_bytes"], len(art["sha256"])) == (2, 3000, 64)
    assert (populated / "blobs" / art["key"] / "weights.bin").read_bytes() == b"b" * 3000


def test_promote_moves_the_version_and_production_archives_the_old(cli: Any, populated: Path) -> None:
    first = cli("models", "promote", "chat:1", "--to", "production", "--reason", "first release")
    assert first.exit_code == 0 and "chat:1: experiment -> production" in first.stdout, first.output
    second = cli("models", "promote", "chat:2", "--to", "production")
    assert second.exit_code == 0, second.output
    stages = {v["version"]: v["stage"] for v in json.loads(cli("models", "list", "chat", "--json").stdout)}
    assert stages == {1: "archived", 2: "production"}
    by_stage = json.loads(cli("models", "show", "chat:production", "--json").stdout)
    assert by_stage["version"] == 2
    history = json.loads(cli("models", "show", "chat:1", "--json").stdout)["history"]
    assert [(h["to_stage"], h["reason"]) for h in history] == [("production", "first release"), ("archived", "replaced by chat:2")]


def test_lineage_shows_ancestors_and_descendants(cli: Any, populated: Path) -> None:
    result = cli("models", "lineage", "chat:2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "chat:1" and lines[1].startswith("  chat:2") and "this version" in lines[1], lines
    assert lines[2] == "    small:1  (distilled_from chat:2)", lines
    data = json.loads(cli("models", "lineage", "small:1", "--json").stdout)
    assert [e["parent"]["version"] for e in data["ancestors"]] == [2, 1]


def test_compare_shows_metric_changes_and_config_differences(cli: Any, populated: Path) -> None:
    result = cli("models", "compare", "chat:1", "chat:2")
    assert result.exit_code == 0, result.output
    assert "-0.5" in result.stdout and "config tag: a -> b" in result.stdout and "different weights" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "show", "nope"], "unknown model 'nope'; known: chat, small"),
        (["models", "show", "chat:7"], "unknown model version 'chat:7'"),
        (["models", "lineage", "chat:0"], "bad model version 'chat:0'"),
        (["models", "promote", "chat", "--to", "staging"], "needs a version: write chat:VERSION"),
        (["models", "promote", "chat:1", "--to", "prod"], "unknown stage 'prod' for --to"),
        (["models", "promote", "chat:1", "--to", "experiment"], "already in 'experiment'"),
        (["models", "list", "--stage", "live"], "unknown stage 'live'"),
        (["models", "show", "chat:staging"], "has no version in stage 'staging'"),
        (["models", "list", "--manifest", "nope"], "unknown manifest 'nope'"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli: Any, populated: Path, args: list[str], message: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_empty_registry_says_so(cli: Any, data_dir: Path) -> None:
    result = cli("models", "list")
    assert result.exit_code == 0 and "no registered models" in result.stdout, result.output


def test_a_pipeline_run_registers_and_promotes_then_models_shows_it(cli: Any, data_dir: Path, tmp_path: Path) -> None:
    spec = json.loads(cli("spec", "toy", "--manifest", "test", "log_path=r").stdout)
    spec["pipeline"] = [
        spec["pipeline"][0],
        {"name": "register", "options": {"name": "toy-chat"}},
        {"name": "promote", "options": {"to": "staging", "max": {"train_mean_nll": 5.0}}},
    ]
    (tmp_path / "exp.json").write_text(json.dumps(spec))
    run = cli("run-spec", "exp.json", "--manifest", "test", "--port", "registry=sqlite")
    assert run.exit_code == 0, run.output
    shown = json.loads(cli("models", "show", "toy-chat:1", "--json").stdout)
    assert shown["stage"] == "staging" and shown["base_model"] == "fake/toy-model", shown
    assert shown["metrics"]["train_mean_nll"] == pytest.approx(2.0 * 0.8**4)
    assert shown["artifacts"][0]["storage"] == "external" and shown["source_run"] == str((tmp_path / "r").resolve())
