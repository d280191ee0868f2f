"""The spec is the full record of a run's wiring: overrides and resolved bindings in experiment.json."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ir import Experiment, PortBinding, StageSpec
from cookbook_runtime.runtime import Runtime


def _spec() -> Experiment:
    return Experiment(id="t", pipeline=[StageSpec(name="record", options={"label": "a"})])


def _user(folder: Path, blobs_options: str = 'root = "/data/blobs"') -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "manifests.toml"
    path.write_text(
        '[manifests.lab]\nextends = "test"\n'
        f'[manifests.lab.ports.blobs]\nadapter = "fake"\noptions = {{ {blobs_options}, api_key = "sk-1" }}\n'
    )
    return path


def _runnable_user(folder: Path) -> Path:
    """A user manifest whose bound options the fakes really take (a run checks them)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "manifests.toml"
    states = (folder / "states").as_posix()
    path.write_text(
        f'[manifests.lab]\nextends = "test"\n[manifests.lab.ports.service]\nadapter = "fake"\noptions = {{ root = "{states}" }}\n'
    )
    return path


def test_bound_spec_records_overrides_and_the_resolved_wiring(tmp_path: Path) -> None:
    runtime = Runtime("lab", overrides={"hub": PortBinding(adapter="unconfigured")}, user_manifests=_user(tmp_path))
    spec = runtime.bind(_spec())
    assert spec.backend.manifest == "lab"
    assert spec.backend.overrides == {"hub": PortBinding(adapter="unconfigured")}
    assert spec.backend.resolved["service"].adapter == "fake"
    assert spec.backend.resolved["blobs"].options["root"] == "/data/blobs"
    assert spec.backend.resolved["blobs"].options["api_key"] == "***"  # secrets never reach the spec
    assert "hub" not in spec.backend.resolved  # unconfigured ports are left out
    assert runtime.bind(spec) == spec


async def test_experiment_json_alone_rebuilds_the_runs_wiring(tmp_path: Path, calls: list[str]) -> None:
    user = _runnable_user(tmp_path)
    overrides = {"embeddings": PortBinding(adapter="unconfigured"), "hub": PortBinding(adapter="unconfigured")}
    first = Runtime("lab", overrides=overrides, run_dir=tmp_path / "run", user_manifests=user)
    await first.arun_spec(_spec())
    stored = Experiment.from_json((tmp_path / "run" / "experiment.json").read_bytes())
    assert stored.backend.overrides == overrides
    again = Runtime(stored.backend.manifest, user_manifests=user)  # what `cookbook run-spec` builds
    assert again.bindings(stored.backend) == first.bindings()
    assert again.bind(stored) == stored


def test_a_manifest_that_changed_since_the_spec_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spec = Runtime("lab", user_manifests=_user(tmp_path)).bind(_spec())
    changed = _user(tmp_path / "later", 'root = "/elsewhere"')
    with caplog.at_level(logging.WARNING):
        rebound = Runtime("lab", user_manifests=changed).bind(spec)
    assert "port(s) blobs differently" in caplog.text
    assert rebound.backend.resolved["blobs"].options["root"] == "/elsewhere"


async def test_resuming_with_other_wiring_names_what_differs(tmp_path: Path, calls: list[str]) -> None:
    user = _runnable_user(tmp_path)
    await Runtime("lab", run_dir=tmp_path / "run", user_manifests=user).arun_spec(_spec())
    other = Runtime("lab", overrides={"hub": PortBinding(adapter="fake")}, run_dir=tmp_path / "run", user_manifests=user)
    with pytest.raises(ConfigError, match="differs in: backend"):
        await other.arun_spec(_spec())
    assert json.loads((tmp_path / "run" / "experiment.json").read_text())["backend"]["overrides"] == {}
