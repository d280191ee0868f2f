"""`cookbook --help/--version`, `recipes`, `describe` and `manifests`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import run_cli
from cookbook_cli import __version__


def test_version(cli: Any) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"cookbook {__version__}"


def test_help_lists_every_command(cli: Any) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("recipes", "describe", "spec", "run-spec", "run", "manifests", "runs", "plot", "sample", "serve"):
        assert command in result.stdout, command


def test_unknown_command_suggests_the_closest_on_one_line(cli: Any) -> None:
    result = cli("rcipes")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "'recipes'" in result.stderr and result.stderr.startswith("cookbook: error:")


def test_recipes_lists_name_kind_and_description(cli: Any) -> None:
    result = cli("recipes")
    assert result.exit_code == 0
    row = next(line for line in result.stdout.splitlines() if " toy " in line)
    assert "sl" in row and "A toy recipe for CLI tests." in row


def test_describe_shows_nested_fields_types_and_manifest_defaults(cli: Any) -> None:
    local = cli("describe", "toy")
    test = cli("describe", "toy", "--manifest", "test")
    assert local.exit_code == 0 and test.exit_code == 0
    assert "training.learning_rate" in local.stdout and "0.001" in local.stdout
    assert "Peak learning rate." in local.stdout
    model_row = lambda out: next(line for line in out.splitlines() if "model_name" in line)  # noqa: E731
    assert "cookbook/tiny-chat" in model_row(local.stdout)
    assert "fake/toy-model" in model_row(test.stdout)
    assert "Literal['fast', 'slow']" in local.stdout


def test_describe_json_is_the_config_schema(cli: Any) -> None:
    result = cli("describe", "toy", "--json")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert set(schema["properties"]) >= {"name", "training", "api_key"}


def test_describe_unknown_recipe_suggests_closest(cli: Any) -> None:
    result = cli("describe", "tyo")
    assert result.exit_code == 2
    assert "unknown recipe 'tyo' (did you mean 'toy'?)" in result.stderr
    assert "Traceback" not in result.output


def test_describe_unknown_manifest_suggests_closest(cli: Any) -> None:
    result = cli("describe", "toy", "--manifest", "tset")
    assert result.exit_code == 2
    assert "(did you mean 'test'?)" in result.stderr


def test_manifests_lists_builtins_and_user_file_with_secrets_redacted(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "manifests.toml"
    user.write_text(
        '[manifests.lab]\nextends = "local"\ndescription = "lab wiring"\n'
        '[manifests.lab.ports.blobs]\nadapter = "s3"\noptions = { bucket = "runs", secret_access_key = "hunter2" }\n'
    )
    monkeypatch.setenv("COOKBOOK_MANIFESTS", str(user))
    result = cli("manifests")
    assert result.exit_code == 0
    for name in ("local", "tinker", "test", "lab"):
        assert f"{name}" in result.stdout
    assert "lab (extends local): lab wiring" in result.stdout
    assert "s3" in result.stdout and "runs" in result.stdout
    assert "hunter2" not in result.stdout


def test_subprocess_module_entry_point() -> None:
    proc = run_cli("--version", module=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"cookbook {__version__}"


def test_subprocess_unknown_recipe_is_one_line_without_traceback() -> None:
    proc = run_cli("run", "nope-recipe", module=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("cookbook: error: unknown recipe 'nope-recipe'")
    assert proc.stderr.count("\n") == 1


def test_verbose_shows_the_traceback() -> None:
    proc = run_cli("-v", "run", "nope-recipe", module=True)
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr and "UnknownNameError" in proc.stderr


def test_help_imports_nothing_heavy() -> None:
    """`cookbook --help` must stay fast: no torch, matplotlib, adapters or pydantic."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from cookbook_cli.app import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'matplotlib', 'cookbook_adapters', 'pydantic', 'rich.progress', 'yaml')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in proc.stdout, proc.stdout[-500:] + proc.stderr


@pytest.mark.parametrize("args", [["recipes"], ["describe", "sl_basic"], ["run", "sl_basic", "--dry-run"]])
def test_light_commands_import_no_torch_or_matplotlib(args: list[str], tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from cookbook_cli.app import app\n"
        f"try:\n    app({args!r})\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('HEAVY', [m for m in ('torch', 'matplotlib', 'transformers') if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert "HEAVY []" in proc.stdout, proc.stdout[-500:] + proc.stderr[-2000:]
    assert not any(tmp_path.iterdir())  # and write nothing


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [("cookbook rec", "1", "recipes"), ("cookbook run to", "2", "toy"), ("cookbook run toy --manifest te", "4", "test")],
)
def test_shell_completion(words: str, cword: str, expected: str) -> None:
    proc = run_cli(env={"_COOKBOOK_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword})
    assert proc.returncode == 0, proc.stderr
    assert expected in proc.stdout.split()


def test_verbosity_sets_the_log_level_and_one_handler(cli: Any) -> None:
    import logging

    root = logging.getLogger()
    assert cli("-vv", "--version").exit_code == 0  # eager --version exits before the callback
    assert cli("-v", "manifests").exit_code == 0
    assert root.level == logging.INFO
    assert cli("-q", "manifests").exit_code == 0
    assert root.level == logging.ERROR
    assert cli("-vv", "manifests").exit_code == 0
    assert root.level == logging.DEBUG
    assert sum(1 for h in root.handlers if getattr(h, "_cookbook_cli", False)) == 1


def test_a_broken_user_manifest_file_is_one_line(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "manifests.toml"
    user.write_text("[manifests.lab\n")
    monkeypatch.setenv("COOKBOOK_MANIFESTS", str(user))
    result = cli("manifests")
    assert result.exit_code == 2
    assert "is not valid TOML" in result.stderr and result.stderr.count("\n") == 1
