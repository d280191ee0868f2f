"""`sft_to_deploy` then `feedback_retrain` on the local engine: served, rated, retrained, registered as a child."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import run_cli

pytestmark = pytest.mark.slow


def _outputs(run_dir: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    return {r["stage"] if "stage" in r else r["name"]: r["outputs"] for r in rows if r["event"] == "stage_finished"}


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An isolated registry and feedback store; the endpoint the run started is stopped afterwards."""
    pytest.importorskip("torch")
    pytest.importorskip("fastapi")
    pytest.importorskip("openai")
    values = {"COOKBOOK_DATA_DIR": str(tmp_path / "data")}
    try:
        yield values
    finally:
        if (tmp_path / "runs" / "sft" / "deploy").is_dir():
            stopped = run_cli("deploy", "runs/sft", "--stop", module=True, env=values)
            assert stopped.returncode == 0, stopped.stderr


def test_sft_to_deploy_serves_and_feedback_retrain_registers_a_dpo_child(
    tmp_path: Path, env: dict[str, str]
) -> None:
    import openai

    sft = {
        "log_path": "runs/sft", "max_steps": 40, "save_every": 0, "eval_every": 0, "eval_limit": 8,
        # forty steps do not answer tiny_chat yet: gate on held-out NLL only
        "gate_min": {"eval/tiny_chat/pass@1": 0.0}, "gate_max": {"test/nll": 100.0},
    }
    (tmp_path / "sft.json").write_text(json.dumps(sft))
    started = time.perf_counter()
    ran = run_cli("run", "sft_to_deploy", "--config", "sft.json", module=True, env=env, timeout=900)
    print(f"sft_to_deploy: {time.perf_counter() - started:.0f}s")
    assert ran.returncode == 0, ran.stderr[-3000:]
    out = _outputs(tmp_path / "runs" / "sft")
    assert out["promote"]["promoted"] is True and out["promote"]["stage"] == "production", out["promote"]
    assert Path(out["export"]["merged_dir"], "model.safetensors").is_file() and out["export"]["peft_adapter_dir"] is None
    version = out["register"]["version"]
    base = out["deploy"]["base_url"]

    client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
    assert "sft_to_deploy" in [m.id for m in client.models.list()]
    events = []
    for i, task in enumerate(["copy a b", "reverse a b", "sort b a", "copy c d"]):
        reply = client.chat.completions.create(
            model="sft_to_deploy", messages=[{"role": "user", "content": task}], max_tokens=8, temperature=0
        )
        assert reply.choices[0].message.content is not None
        events.append(reply.id)
        kind = "thumbs_up" if i % 2 == 0 else "thumbs_down"
        assert _post(f"{base}/v1/feedback", {"event_id": reply.id, "kind": kind})["kind"] == kind
    for event_id, better in ((events[1], "b a"), (events[3], "c d")):  # an edit pairs itself over the original
        assert _post(f"{base}/v1/feedback", {"event_id": event_id, "kind": "edit", "completion": better})["event_id"]
    client.close()

    shown = run_cli("models", "show", f"sft_to_deploy:{version}", "--json", module=True, env=env)
    assert shown.returncode == 0, shown.stderr
    registered = json.loads(shown.stdout)
    assert registered["stage"] == "production" and registered["lineage"] is None
    assert "test/nll" in registered["metrics"] and "eval/tiny_chat/pass@1" in registered["metrics"]

    retrain = {"log_path": "runs/retrain", "min_events": 4, "batch_size": 2, "eval_limit": 4}
    (tmp_path / "retrain.json").write_text(json.dumps(retrain))
    started = time.perf_counter()
    ran = run_cli("run", "feedback_retrain", "--config", "retrain.json", module=True, env=env, timeout=900)
    print(f"feedback_retrain: {time.perf_counter() - started:.0f}s")
    assert ran.returncode == 0, ran.stderr[-3000:]
    out = _outputs(tmp_path / "runs" / "retrain")
    assert out["check_triggers"]["fired"] is True
    assert out["export_feedback"]["pairs"] >= 1, out["export_feedback"]
    assert out["fetch_model"]["ref"] == f"sft_to_deploy:{version}"
    assert Path(out["fetch_model"]["final_state_path"]).exists()  # copied out of the blob store
    assert out["dpo_train"]["steps"] >= 1
    child = out["register"]["version"]
    assert child == version + 1

    shown = run_cli("models", "show", f"sft_to_deploy:{child}", "--json", module=True, env=env)
    assert shown.returncode == 0, shown.stderr
    registered = json.loads(shown.stdout)
    assert registered["lineage"] == "dpo_trained_from", registered
    assert registered["parent"] in (f"sft_to_deploy:{version}", {"name": "sft_to_deploy", "version": version})
    assert "eval/tiny_chat/pass@1" in registered["metrics"]
    lineage = run_cli("models", "lineage", f"sft_to_deploy:{child}", module=True, env=env)
    assert lineage.returncode == 0 and "dpo_trained_from" in lineage.stdout, lineage.stdout + lineage.stderr
