"""`cookbook eval`: a run's weights on a shipped task, side-by-side comparison, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def trained(cli: Any) -> str:
    result = cli("run", "toy", "--manifest", "test", "log_path=r")
    assert result.exit_code == 0, result.output
    return "r"


def test_eval_prints_pass_at_1_and_writes_results(cli: Any, trained: str, tmp_path: Path) -> None:
    result = cli("eval", trained, "--task", "tiny_chat", "--limit", "5", "--max-tokens", "8")
    assert result.exit_code == 0, result.output
    assert "task tiny_chat: 5 items x 1 samples" in result.stdout
    match = re.search(r"^pass@1: (\d\.\d\d) \((\d+)/5\)$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    summary = json.loads((tmp_path / "r" / "eval" / "tiny_chat.json").read_text())
    assert summary["num_items"] == 5 and summary["pass_at_k"]["1"] == pytest.approx(int(match[2]) / 5)
    assert summary["weights"].startswith("fake://") and summary["renderer"] == "role_colon"
    items = [json.loads(x) for x in (tmp_path / "r" / "eval" / "tiny_chat.jsonl").read_text().splitlines()]
    assert [i["id"] for i in items] == [f"tiny_chat-{n:03d}" for n in range(5)]


def test_pass_at_k_with_several_samples(cli: Any, trained: str) -> None:
    result = cli("eval", trained, "--task", "arithmetic", "--limit", "3", "--k", "1", "--k", "4", "--no-write")
    assert result.exit_code == 0, result.output
    assert "task arithmetic: 3 items x 4 samples" in result.stdout
    assert re.search(r"^pass@1: \d\.\d\d \(\d+/12\)$", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^pass@4: \d\.\d\d \(\d/3 solved in 4\)$", result.stdout, re.MULTILINE), result.stdout


def test_compare_prints_both_and_the_delta(cli: Any, trained: str, tmp_path: Path) -> None:
    task = tmp_path / "echo.jsonl"
    task.write_text("".join(json.dumps({"prompt": f"p{i}", "answer": "x"}) + "\n" for i in range(3)))
    assert cli("run", "toy", "--manifest", "test", "log_path=r2", "training.steps=2").exit_code == 0
    result = cli("eval", trained, "--task", str(task), "--compare", "r2")
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "metric" in line)
    assert "r2" in header and "delta (r2 - r)" in header
    row = next(line for line in result.stdout.splitlines() if "pass@1" in line and "│" in line)
    values = [float(v) for v in re.findall(r"[+-]?\d\.\d\d", row)]
    assert len(values) == 3 and values[2] == pytest.approx(values[1] - values[0], abs=0.011), row
    assert re.search(r"^r: pass@1: ", result.stdout, re.MULTILINE) and re.search(r"^r2: pass@1: ", result.stdout, re.MULTILINE)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing-run", "--task", "tiny_chat"], "'missing-run' is neither a run directory nor a checkpoint"),
        (["base:fake/model", "--task", "nope"], "unknown eval task 'nope'"),
        (["base:fake/model", "--task", "tiny_chat", "--k", "3", "--samples", "2"], "--k 3 needs at least"),
        (["some/ckpt", "--task", "tiny_chat"], "neither a run directory nor a checkpoint"),
        (["fake://x/sampler/1", "--task", "tiny_chat"], "needs --model"),
    ],
)
def test_bad_input_is_one_line_with_exit_2(cli: Any, args: list[str], message: str) -> None:
    result = cli("eval", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_a_run_without_checkpoints(cli: Any, tmp_path: Path) -> None:
    run = tmp_path / "r"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"status": "running"}))
    (run / "experiment.json").write_text(
        json.dumps({"id": "x", "pipeline": [], "training": {"model": {"name": "fake/model"}}})
    )
    result = cli("eval", "r", "--task", "tiny_chat")
    assert result.exit_code == 2
    assert "has no checkpoint with a sampler_path" in result.stderr


@pytest.fixture
def sl_with_evals(cli: Any) -> Path:
    """sl_basic on the fakes with its shipped data, scoring the tiny_chat task every 2 steps."""
    result = cli(
        "run", "sl_basic", "--manifest", "test", "--port", "datasets=files", "log_path=sl",
        "max_steps=5", "batch_size=16", "eval_every=2", 'eval_tasks=["tiny_chat"]', "exact_match_examples=8",
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"^held-out exact match: \d\.\d\d \(\d/8\)$", result.stdout, re.MULTILINE), result.stdout
    return Path("sl")


def test_plot_text_shows_eval_curves(cli: Any, sl_with_evals: Path) -> None:
    result = cli("plot", str(sl_with_evals), "--metric", "eval/*", "--metric", "test/nll", "--text")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if "│" in line]
    eval_row = next(line for line in rows if "eval/tiny_chat/pass@1" in line)
    nll_row = next(line for line in rows if "test/nll" in line)
    assert "│ 4 " in eval_row.replace("  ", " "), eval_row  # steps 0, 2, 4 and the final row
    assert "│ 4 " in nll_row.replace("  ", " "), nll_row
    assert not Path("metrics.png").exists()


def test_plot_png_of_eval_metrics(cli: Any, sl_with_evals: Path) -> None:
    from PIL import Image

    result = cli("plot", str(sl_with_evals), "--metric", "eval/*", "-o", "evals.png")
    assert result.exit_code == 0, result.output
    with Image.open("evals.png") as img:
        assert json.loads(img.info["Description"])["series"] == ["sl:eval/tiny_chat/pass@1"]


def test_plot_pattern_matching_nothing(cli: Any, sl_with_evals: Path) -> None:
    result = cli("plot", str(sl_with_evals), "--metric", "nope/*", "--text")
    assert result.exit_code == 2 and "no metric matches --metric 'nope/*'" in result.stderr


def test_evaluate_stage_line_in_the_run_report(cli: Any, tmp_path: Path) -> None:
    spec = {
        "id": "ev",
        "backend": {"manifest": "test"},
        "pipeline": [
            {"name": "evaluate", "options": {"task": "arithmetic", "limit": 3, "base_model": "fake/model",
                                             "renderer": "role_colon"}}
        ],
        "outputs": {"log_path": "ev"},
    }
    Path("ev.json").write_text(json.dumps(spec))
    result = cli("run-spec", "ev.json")
    assert result.exit_code == 0, result.output
    assert re.search(r"^eval arithmetic \(evaluate\): pass@1: \d\.\d\d \(\d/3 samples correct\)$", result.stdout, re.MULTILINE), result.stdout
    assert (tmp_path / "ev" / "eval" / "arithmetic.json").is_file()
