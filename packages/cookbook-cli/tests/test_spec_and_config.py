"""`cookbook spec` and `run --dry-run`: overrides, config files, validation errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def spec_of(cli: Any, *args: str) -> dict[str, Any]:
    result = cli("spec", "toy", *args)
    assert result.exit_code == 0, result.output
    spec: dict[str, Any] = json.loads(result.stdout)
    return spec


def test_overrides_parse_json_values_and_nested_keys(cli: Any) -> None:
    spec = spec_of(cli, "training.learning_rate=5e-3", "training.steps=7", 'tags=["a","b"]')
    assert spec["training"]["learning_rate"] == 5e-3
    assert spec["pipeline"][0]["options"]["steps"] == 7
    assert spec["tags"] == ["a", "b"]


def test_string_fields_keep_the_raw_text(cli: Any) -> None:
    spec = spec_of(cli, "name=123", "model_name=Qwen/Qwen3-8B")
    assert spec["id"] == "123"
    assert spec["training"]["model"]["name"] == "Qwen/Qwen3-8B"


def test_manifest_defaults_apply_and_are_recorded(cli: Any) -> None:
    spec = spec_of(cli, "--manifest", "test")
    assert spec["training"]["model"]["name"] == "fake/toy-model"
    assert spec["backend"]["manifest"] == "test"
    assert spec["recipe"] == "toy"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("c.toml", 'name = "from-file"\n[training]\nsteps = 9\nlearning_rate = 0.02\n'),
        ("c.yaml", "name: from-file\ntraining:\n  steps: 9\n  learning_rate: 0.02\n"),
        ("c.json", '{"name": "from-file", "training": {"steps": 9, "learning_rate": 0.02}}'),
    ],
)
def test_config_files_load_and_the_command_line_wins(cli: Any, tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    spec = spec_of(cli, "--config", str(path), "training.steps=3")
    assert spec["id"] == "from-file"
    assert spec["training"]["learning_rate"] == 0.02  # nested value from the file survives
    assert spec["pipeline"][0]["options"]["steps"] == 3  # the command line wins


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["lerning_rate=1"], "unknown config key 'lerning_rate'"),
        (["training.lerning_rate=1"], "(did you mean 'training.learning_rate'?)"),
        (["training.steps=0"], "training.steps: Input should be greater than or equal to 1"),
        (["mode=medium"], "mode: Input should be 'fast' or 'slow'"),
        (["steps"], "override 'steps' is not key=value"),
        (["name.first=x"], "'name' has no sub-fields"),
    ],
)
def test_bad_overrides_are_one_line_exit_2(cli: Any, args: list[str], expected: str) -> None:
    result = cli("spec", "toy", *args)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_unknown_key_in_config_file_suggests_closest(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  step: 3\n")
    result = cli("spec", "toy", "--config", str(path))
    assert result.exit_code == 2
    assert "(did you mean 'training.steps'?)" in result.stderr


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.toml", "name = ", "is not valid TOML"),
        ("bad.json", "{", "is not valid JSON"),
        ("list.yaml", "- 1\n- 2\n", "must hold a mapping"),
        ("c.ini", "x=1", "unknown format"),
    ],
)
def test_bad_config_files_are_one_line_exit_2(cli: Any, tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    result = cli("spec", "toy", "--config", str(path))
    assert result.exit_code == 2
    assert expected in result.stderr and result.stderr.count("\n") == 1


def test_missing_config_file(cli: Any) -> None:
    result = cli("spec", "toy", "--config", "nope.toml")
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_secrets_are_redacted_in_spec_and_dry_run(cli: Any) -> None:
    for command in (["spec", "toy"], ["run", "toy", "--dry-run"]):
        result = cli(*command, "api_key=sk-very-secret", "--manifest", "test")
        assert result.exit_code == 0, result.output
        assert "sk-very-secret" not in result.output


def test_dry_run_prints_spec_and_wiring_and_touches_nothing(cli: Any, tmp_path: Path) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    result = cli("run", "toy", "--dry-run", "--manifest", "test", "--port", "blobs=files", "log_path=out/run1")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outputs"]["log_path"] == "out/run1"
    wiring = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in result.stderr.splitlines() if line.count("│") >= 4}
    assert wiring["blobs"] == "files" and wiring["service"] == "fake"
    assert "2 stage(s) valid" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    ("port", "expected"),
    [
        ("blobz=files", "unknown port 'blobz' (did you mean 'blobs'?)"),
        ("blobs=filez", "unknown adapter 'filez' (did you mean 'files'?)"),
        ("blobs", "is not PORT=ADAPTER"),
    ],
)
def test_bad_port_overrides(cli: Any, port: str, expected: str) -> None:
    result = cli("run", "toy", "--dry-run", "--manifest", "test", "--port", port)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr


def test_manifest_from_a_toml_file(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[manifests.mine]\nextends = "test"\n[manifests.mine.ports.blobs]\nadapter = "files"\n')
    result = cli("run", "toy", "--dry-run", "--manifest", str(path))
    assert result.exit_code == 0, result.output
    assert "files" in result.stderr


def test_an_invalid_secret_value_is_not_echoed(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("api_key: 123456789\n")
    result = cli("spec", "toy", "--config", str(path))
    assert result.exit_code == 2
    assert "api_key: Input should be a valid string (got ***)" in result.stderr
    assert "123456789" not in result.output


def test_a_user_manifest_extending_local_gets_the_offline_sl_basic_defaults(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "no-manifests.toml").write_text('[manifests.lab]\nextends = "local"\n')
    result = cli("spec", "sl_basic", "--manifest", "lab")
    assert result.exit_code == 0, result.output
    spec = json.loads(result.stdout)
    assert spec["training"]["model"]["name"] == "cookbook/tiny-chat"
    assert spec["backend"]["manifest"] == "lab"
    described = cli("describe", "sl_basic", "--manifest", "lab")
    assert "profile 'local'" in described.stdout and "cookbook/tiny-chat" in described.stdout


def test_dry_run_prints_port_overrides_in_the_spec(cli: Any) -> None:
    result = cli("run", "sl_basic", "--port", "datasets=files", "--port", "hub=unconfigured", "--dry-run")
    assert result.exit_code == 0, result.output
    backend = json.loads(result.stdout)["backend"]
    assert backend["overrides"] == {
        "datasets": {"adapter": "files", "options": {}},
        "hub": {"adapter": "unconfigured", "options": {}},
    }
    assert backend["resolved"]["service"]["adapter"] == "local"


def test_the_spec_names_packaged_data_not_a_site_packages_path(cli: Any) -> None:
    from cookbook_recipes.datasets import tiny_chat

    result = cli("spec", "sl_basic")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["dataset"]["name"] == "cookbook:tiny_chat"
    assert str(tiny_chat.DATA_DIR) not in result.stdout


def test_run_spec_keeps_the_recorded_port_overrides(cli: Any, tmp_path: Path) -> None:
    spec = cli("spec", "toy", "--manifest", "test")
    data = json.loads(spec.stdout)
    data["backend"]["overrides"] = {"hub": {"adapter": "unconfigured", "options": {}}}
    (tmp_path / "exp.json").write_text(json.dumps(data))
    result = cli("run-spec", str(tmp_path / "exp.json"), "--port", "embeddings=unconfigured", "--dry-run")
    assert result.exit_code == 0, result.output
    overrides = json.loads(result.stdout)["backend"]["overrides"]
    assert sorted(overrides) == ["embeddings", "hub"]


def _promote_gate(cli: Any, *args: str) -> dict[str, Any]:
    result = cli("spec", "sft_to_deploy", "--manifest", "local", *args)
    assert result.exit_code == 0, result.output
    stages = json.loads(result.stdout)["pipeline"]
    (promote,) = [s for s in stages if s["name"] == "promote"]
    return {"min": promote["options"]["min"], "max": promote["options"]["max"]}


@pytest.mark.parametrize(
    ("name", "text"),
    [("c.yaml", "gate_min: {}\n"), ("c.json", '{"gate_min": {}}'), ("c.toml", "gate_min = {}\n")],
)
def test_an_empty_mapping_in_a_config_file_replaces_the_default(cli: Any, tmp_path: Path, name: str, text: str) -> None:
    assert _promote_gate(cli)["min"] == {"eval/tiny_chat/pass@1": 0.5}  # the local default the file clears
    path = tmp_path / name
    path.write_text(text)
    assert _promote_gate(cli, "--config", str(path))["min"] == {}, text


def test_an_empty_override_replaces_the_default_and_a_full_one_merges(cli: Any, tmp_path: Path) -> None:
    assert _promote_gate(cli, "gate_min={}")["min"] == {}
    merged = _promote_gate(cli, 'gate_min={"test/acc": 0.1}')["min"]
    assert merged == {"eval/tiny_chat/pass@1": 0.5, "test/acc": 0.1}
