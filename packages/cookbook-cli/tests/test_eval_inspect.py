"""`cookbook eval --task inspect:...`: an inspect-ai task scored like a shipped task, on the test manifest."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

TASK = "inspect:cookbook_adapters.inspect.tasks.tiny_chat:tiny_chat_exact"


@pytest.fixture
def trained(cli: Any) -> str:
    result = cli("run", "toy", "--manifest", "test", "log_path=r")
    assert result.exit_code == 0, result.output
    return "r"


def test_eval_runs_an_inspect_task_and_prints_its_scores(cli: Any, trained: str, tmp_path: Path) -> None:
    result = cli("eval", trained, "--task", TASK, "--limit", "4", "--max-tokens", "8")
    assert result.exit_code == 0, result.output
    assert "task tiny_chat_exact: 4 items x 1 samples" in result.stdout
    match = re.search(r"^accuracy: (\S+)$", result.stdout, re.MULTILINE)
    assert match and re.search(r"^pass@1: \d\.\d\d \(\d/4\)$", result.stdout, re.MULTILINE), result.stdout
    summary = json.loads((tmp_path / "r" / "eval" / "tiny_chat_exact.json").read_text())
    assert summary["scores"]["accuracy"] == pytest.approx(float(match[1]), abs=1e-3)
    assert summary["settings"]["source"] == TASK
    assert list((tmp_path / "r" / "eval" / "inspect").glob("*.json")), "inspect's log is in the run directory"


def test_compare_has_a_row_per_inspect_metric(cli: Any, trained: str) -> None:
    assert cli("run", "toy", "--manifest", "test", "log_path=r2", "training.steps=2").exit_code == 0
    result = cli("eval", trained, "--task", TASK, "--limit", "2", "--compare", "r2", "--no-write")
    assert result.exit_code == 0, result.output
    assert any("accuracy" in line and "│" in line for line in result.stdout.splitlines()), result.stdout


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ("inspect:no_such_module:t", "cannot import module 'no_such_module'"),
        ("inspect:missing.py", "inspect task file 'missing.py' does not exist"),
    ],
)
def test_a_bad_inspect_task_is_one_line_with_exit_2(cli: Any, task: str, message: str) -> None:
    result = cli("eval", "base:fake/model", "--task", task)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_task_completion_offers_the_inspect_kind() -> None:
    from cookbook_cli.app import _complete_task

    assert _complete_task("ins") == ["inspect:"]
    assert "tiny_chat" in _complete_task("")
