"""sl_basic through the `tinker` manifest and the local server: trains, resumes, matches `local`."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

from cookbook_adapters.local import LocalServiceClient
from cookbook_adapters.server import running_server
from cookbook_runtime.errors import UnknownNameError
from cookbook_runtime.runtime import Runtime

pytestmark = pytest.mark.slow

_TOLERANCE = 2e-3


def _rows(run_dir: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in (run_dir / "metrics.jsonl").read_text().splitlines()
        if line.strip()
    ]


def _config(log_path: Path) -> dict[str, Any]:
    try:
        config = Runtime("local").config("sl_basic").model_dump()
    except UnknownNameError:
        pytest.skip("the sl_basic recipe is not installed")
    config.update(max_steps=4, save_every=2, eval_every=2, log_path=str(log_path))
    return config


@pytest.fixture
def local_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with running_server(
        LocalServiceClient(device="cpu", root=tmp_path / "server-states")
    ) as server:
        monkeypatch.setenv("TINKER_BASE_URL", server.base_url)
        yield server.base_url


def _assert_close(a: list[dict[str, Any]], b: list[dict[str, Any]], what: str) -> None:
    assert [r["step"] for r in a] == [r["step"] for r in b], f"{what}: different steps"
    for ra, rb in zip(a, b, strict=True):
        for key in sorted(set(ra) & set(rb)):
            if key.startswith("time/") or not isinstance(ra[key], float):
                continue
            assert abs(ra[key] - rb[key]) <= _TOLERANCE * max(1.0, abs(rb[key])), (
                f"{what}: step {ra['step']} {key}: {ra[key]} vs {rb[key]}"
            )


def test_sl_basic_over_the_tinker_manifest(
    local_server: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tinker_dir = tmp_path / "tinker"
    Runtime("tinker").run("sl_basic", _config(tinker_dir))
    rows = _rows(tinker_dir)
    nll = [r["train_mean_nll"] for r in rows if "train_mean_nll" in r]
    assert len(nll) == 4 and nll[-1] < nll[0], f"train NLL did not fall: {nll}"
    checkpoints = (tinker_dir / "checkpoints.jsonl").read_text().splitlines()
    assert json.loads(checkpoints[0])["state_path"].startswith("tinker://")

    # An interrupted copy: stopped after the step-2 checkpoint, before the stage finished.
    resumed_dir = tmp_path / "resumed"
    shutil.copytree(tinker_dir, resumed_dir)
    (resumed_dir / "checkpoints.jsonl").write_text(checkpoints[0] + "\n")
    (resumed_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:2]))
    events = (resumed_dir / "events.jsonl").read_text().splitlines()
    (resumed_dir / "events.jsonl").write_text("\n".join(events[:2]) + "\n")
    caplog.set_level(logging.INFO, logger="cookbook_runtime.train.loops.supervised")
    Runtime("tinker").run("sl_basic", _config(resumed_dir))
    assert "resuming from checkpoint 000002" in caplog.text
    _assert_close(_rows(resumed_dir), rows, "resumed vs uninterrupted")

    key = os.environ["TINKER_API_KEY"]
    for path in tinker_dir.rglob("*"):
        if path.is_file():
            assert key not in path.read_text(errors="replace"), (
                f"the API key leaked into {path.name}"
            )

    local_dir = tmp_path / "local"
    Runtime("local").run("sl_basic", _config(local_dir))
    _assert_close(rows, _rows(local_dir), "tinker vs local")
