"""A pipeline's stage references are checked before anything is written: `run-spec`, with or without --dry-run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def _spec(cli: Any, recipe: str) -> dict[str, Any]:
    result = cli("spec", recipe, "--manifest", "test", "log_path=out")
    assert result.exit_code == 0, result.output
    spec: dict[str, Any] = json.loads(result.stdout)
    return spec


def _stage(spec: dict[str, Any], key: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in spec["pipeline"] if (s.get("id") or s["name"]) == key)
    return found


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
@pytest.mark.parametrize(
    ("recipe", "stage", "earlier"),
    [
        ("dpo", "dpo_train", "supervised_train"),
        ("rlhf", "reward_model_train", "supervised_train"),
        ("rlhf", "rl_train", "supervised_train, reward_model_train"),
    ],
)
def test_a_typo_in_init_from_stage_exits_2_with_one_line_and_writes_nothing(
    cli: Any, tmp_path: Path, recipe: str, stage: str, earlier: str, dry_run: bool
) -> None:
    spec = _spec(cli, recipe)
    _stage(spec, stage)["options"]["init_from_stage"] = "supervised_trian"
    (tmp_path / "exp.json").write_text(json.dumps(spec))
    before = _files(tmp_path)
    result = cli("run-spec", "exp.json", *(["--dry-run"] if dry_run else []))
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines == [
        f"cookbook: error: stage {stage!r}: init_from_stage 'supervised_trian' is not an earlier enabled stage "
        f"(earlier: {earlier}); no stage has the id 'supervised_trian': name one of those"
    ], result.stderr
    assert "Traceback" not in result.output
    assert _files(tmp_path) == before and not (tmp_path / "out").exists()


def _two_dpo_stages(cli: Any, first_from: str) -> dict[str, Any]:
    spec = _spec(cli, "dpo")
    _stage(spec, "dpo_train")["options"]["init_from_stage"] = first_from
    second = {**_stage(spec, "dpo_train"), "id": "dpo_2"}
    second["options"] = {**second["options"], "init_from_stage": "dpo_train"}
    spec["pipeline"].insert(2, second)
    return spec


def test_a_second_dpo_stage_starting_from_the_first_passes_the_dry_run(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "exp.json").write_text(json.dumps(_two_dpo_stages(cli, "supervised_train")))
    result = cli("run-spec", "exp.json", "--dry-run")
    assert result.exit_code == 0, result.output
    keys = [s.get("id") or s["name"] for s in json.loads(result.stdout)["pipeline"]]
    assert keys == ["supervised_train", "dpo_train", "dpo_2", "sample"]
    assert not (tmp_path / "out").exists()


def test_the_first_of_two_dpo_stages_cannot_start_from_the_second(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "exp.json").write_text(json.dumps(_two_dpo_stages(cli, "dpo_2")))
    result = cli("run-spec", "exp.json", "--dry-run")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "cookbook: error: stage 'dpo_train': init_from_stage 'dpo_2' is not an earlier enabled stage "
        "(earlier: supervised_train); put 'dpo_2' before 'dpo_train', or name one of those"
    ]
    assert not (tmp_path / "out").exists()
