"""`cookbook runs` and `cookbook plot`, reading run directories written by real runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image


@pytest.fixture
def two_runs(cli: Any) -> tuple[Path, Path]:
    assert cli("run", "toy", "--manifest", "test", "log_path=runs/a", "name=exp-a").exit_code == 0
    assert cli("run", "toy", "--manifest", "test", "log_path=runs/b", "name=exp-b", "training.steps=6", "training.learning_rate=2e-3").exit_code == 0
    return Path("runs/a"), Path("runs/b")


def test_runs_lists_status_steps_and_last_metrics(cli: Any, two_runs: Any, tmp_path: Path) -> None:
    failed = cli("run", "toy", "--manifest", "test", "log_path=runs/c", "name=exp-c", "fail=true")
    assert failed.exit_code == 2
    result = cli("runs")
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:]] for line in result.stdout.splitlines() if line.count("│") >= 5}
    assert rows["a"][:3] == ["exp-a", "finished", "4"]
    assert rows["b"][:3] == ["exp-b", "finished", "6"]
    assert "train_mean_nll=0.09331" in rows["b"][3]  # 2.0 * 0.6**6
    assert rows["c"][:3] == ["exp-c", "failed", "1"]


def test_runs_of_an_explicit_folder_and_errors(cli: Any, two_runs: Any) -> None:
    assert "exp-a" in cli("runs", "runs/a").stdout
    empty = Path("empty")
    empty.mkdir()
    assert "no runs under empty" in cli("runs", "empty").stdout
    missing = cli("runs", "nowhere")
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


def _series_meta(path: Path) -> list[str]:
    with Image.open(path) as img:
        series: list[str] = json.loads(img.info["Description"])["series"]
        return series


def _line_colours(path: Path) -> set[str]:
    """Which colours of matplotlib's default cycle are drawn (one per run)."""
    from matplotlib import colors, rcParams

    palette: dict[tuple[int, ...], str] = {}
    for colour in rcParams["axes.prop_cycle"].by_key()["color"]:
        hex_colour = colors.to_hex(colour)
        rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        if len(set(rgb)) > 1:  # the cycle's grey is also the grid's and the text's
            palette[rgb] = hex_colour
    with Image.open(path) as img:
        rgb = img.convert("RGB")
        counts: dict[str, int] = {}
        for x in range(rgb.width):
            for y in range(rgb.height):
                hit = palette.get(rgb.getpixel((x, y)))  # type: ignore[arg-type]
                if hit is not None:
                    counts[hit] = counts.get(hit, 0) + 1
    return {c for c, n in counts.items() if n > 100}


def test_plot_overlays_one_series_per_run(cli: Any, two_runs: tuple[Path, Path]) -> None:
    result = cli("plot", *map(str, two_runs), "-o", "out/loss.png")
    assert result.exit_code == 0, result.output
    out = Path("out/loss.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _series_meta(out) == ["runs/a:train_mean_nll", "runs/b:train_mean_nll"]
    assert len(_line_colours(out)) == 2


def test_plot_several_metrics(cli: Any, two_runs: tuple[Path, Path]) -> None:
    result = cli("plot", str(two_runs[0]), "--metric", "train_mean_nll", "--metric", "learning_rate", "-o", "m.png")
    assert result.exit_code == 0, result.output
    assert len(_series_meta(Path("m.png"))) == 2
    assert len(_line_colours(Path("m.png"))) == 1  # one run: the same colour in both charts


def test_plot_unknown_metric_suggests_closest(cli: Any, two_runs: tuple[Path, Path]) -> None:
    result = cli("plot", str(two_runs[0]), "--metric", "train_mean_nl")
    assert result.exit_code == 2
    assert "unknown metric 'train_mean_nl' (did you mean 'train_mean_nll'?)" in result.stderr


def test_plot_not_a_run_dir(cli: Any) -> None:
    Path("x").mkdir()
    result = cli("plot", "x")
    assert result.exit_code == 2 and "is not a run directory" in result.stderr


def test_runs_counts_training_steps_not_a_final_eval_row(cli: Any, tmp_path: Path) -> None:
    run = tmp_path / "r"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"status": "finished", "experiment": "e"}))
    rows = [{"step": 0, "train_mean_nll": 3.0}, {"step": 1, "train_mean_nll": 2.0}, {"step": 2, "test/nll": 2.5}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 3, "trunc')
    result = cli("runs", ".")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "finished" in line)
    cells = [c.strip() for c in row.split("│")[1:-1]]
    assert cells[3] == "2"
    assert "train_mean_nll=2" in cells[4] and "test/nll=2.5" in cells[4]
