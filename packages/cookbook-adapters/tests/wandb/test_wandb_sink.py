"""The W&B metrics sink, on the real wandb client in offline mode (nothing leaves the machine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cookbook_runtime.ports import create_adapter, get_adapter
from cookbook_runtime.testing import METRICS_SINK_CHECKS

pytest.importorskip("wandb")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)


def test_registered_as_the_metrics_adapter_behind_the_wandb_extra() -> None:
    info = get_adapter("wandb")
    assert info.serves("metrics") and info.extra == "wandb"


@pytest.mark.parametrize("check", METRICS_SINK_CHECKS.values(), ids=list(METRICS_SINK_CHECKS))
async def test_metrics_sink_contract(check: Any, tmp_path: Path) -> None:
    sink = create_adapter("wandb", "metrics", {"project": "cookbook-test", "dir": str(tmp_path / "run")})
    await check(sink)
    runs = list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, "no offline W&B run was written"
    assert list(runs[0].glob("run-*.wandb")), "the run has no W&B log"
    sink.close()  # closing twice (the stage, then the port container) is harmless


def test_the_run_gets_the_config_and_each_step(tmp_path: Path) -> None:
    sink = create_adapter("wandb", "metrics", {"project": "cookbook-test", "name": "try", "dir": str(tmp_path)})
    sink.start({"learning_rate": 1e-3})
    sink.log_metrics({"train_mean_nll": 0.5}, 0)
    sink.log_metrics({"train_mean_nll": 0.25}, 1)
    run = sink.run
    assert (run.name, dict(run.config)) == ("try", {"learning_rate": 1e-3})
    assert run.summary["train_mean_nll"] == 0.5 and run.step == 1  # step 1 is flushed by the next log or finish
    sink.close()
    assert sink.run is None
