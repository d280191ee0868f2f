"""The preference and distillation recipes through `--manifest tinker` against the Tinker-compatible server.

Each recipe's local spec (`cookbook spec RECIPE ...`, shrunk by overrides to a few
steps on tiny data) is run with `cookbook run-spec SPEC --manifest tinker`, the SDK
pointed (TINKER_BASE_URL) at `cookbook serve`'s app on 127.0.0.1 over the local
engine, the datasets read from the local files store as the `local` manifest
reads them (the `hf` port shuffles differently). Every stage must finish with finite losses, and the checkpoints the run
records must be the server's tinker:// paths.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("tinker")
pytest.importorskip("fastapi")

from cookbook_adapters.local import LocalServiceClient
from cookbook_adapters.server import running_server
from cookbook_runtime.framework import read_jsonl

pytestmark = pytest.mark.slow

_DUMMY_KEY = "tml-dummy-key-never-logged-0123456789"

# recipe, overrides, {stage log subdir ("" = the run directory): a loss metric it must log},
# {stage: an output measured before the stage trains, which the server must reproduce}
_CASES: dict[str, tuple[str, list[str], dict[str, str], dict[str, str]]] = {
    "dpo": (
        "dpo",
        ["sft_max_steps=3", "sft_batch_size=16", "max_steps=3", "batch_size=16", "eval_every=2",
         "save_every=2", "max_eval_batches=1", "sample_max_tokens=4"],
        {"sft": "train_mean_nll", "": "dpo_loss"},
        {"dpo_train": "first_test_pair_accuracy"},
    ),
    "distillation": (
        "distillation",
        ["teacher_max_steps=3", "teacher_batch_size=16", "student_sft_steps=2", "max_steps=3",
         "groups_per_batch=4", "group_size=2", "max_tokens=8", "test_prompts=4", "max_prompts=16",
         "eval_every=2", "save_every=2"],
        {"teacher": "train_mean_nll", "student_init": "train_mean_nll"},
        {"distill_on_policy": "first_test_teacher_kl"},
    ),
    "distillation_off_policy": (
        "distillation",
        ["mode=off_policy", "teacher_max_steps=3", "teacher_batch_size=16", "student_sft_steps=0",
         "max_steps=3", "groups_per_batch=8", "test_prompts=4", "max_prompts=24", "eval_every=2",
         "save_every=2"],
        {"teacher": "train_mean_nll", "": "train_mean_nll"},
        {"distill_off_policy": "first_test_teacher_kl"},
    ),
    "prompt_distillation": (
        "prompt_distillation",
        ["teacher_max_steps=3", "batch_size=8", "max_queries=24", "test_queries=4", "num_epochs=1",
         "max_tokens=8", "save_every=1"],
        {"teacher": "train_mean_nll", "": "train_mean_nll"},
        {"distill_off_policy": "first_test_teacher_kl"},
    ),
    "rlhf": (
        "rlhf",
        ["sft_max_steps=3", "sft_batch_size=16", "rm_max_steps=3", "rm_batch_size=16", "rm_eval_every=2",
         "rm_max_eval_batches=1", "max_steps=3", "groups_per_batch=4", "group_size=2", "max_tokens=8",
         "rl_test_prompts=4", "rl_max_prompts=16", "eval_every=2", "save_every=2"],
        {"sft": "train_mean_nll", "reward_model": "loss"},
        {"reward_model_train": "first_test_loss"},
    ),
}


@pytest.fixture
def tinker_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The server over the local engine; the SDK gets a dummy key, no telemetry and an offline HF cache."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-hub-cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TINKER_API_KEY", _DUMMY_KEY)
    monkeypatch.setenv("TINKER_TELEMETRY", "0")
    with running_server(LocalServiceClient(device="cpu", root=tmp_path / "server-states")) as server:
        monkeypatch.setenv("TINKER_BASE_URL", server.base_url)
        yield server.base_url


def _finite_numbers(rows: list[dict[str, Any]], where: str) -> None:
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float):
                assert math.isfinite(value), f"{where}: step {row.get('step')} {key} = {value}"


def _finished_stages(run_dir: Path) -> dict[str, dict[str, Any]]:
    events = list(read_jsonl(run_dir / "events.jsonl"))
    assert events[-1]["event"] == "run_finished", events[-1]
    return {e["stage"]: e for e in events if e["event"] == "stage_finished"}


@pytest.mark.parametrize("case", sorted(_CASES))
def test_recipe_runs_through_the_tinker_manifest(
    case: str, tinker_server: str, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    recipe, overrides, losses, before = _CASES[case]
    exact = set(before)  # stages that train without sampling: the server must match local after training too
    run_dir = tmp_path / "runs" / case
    started = time.monotonic()
    built = cli("spec", recipe, *overrides, f"log_path={run_dir}")
    assert built.exit_code == 0, built.output
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(built.stdout)
    spec = json.loads(built.stdout)
    assert spec["backend"]["manifest"] == "local"
    result = cli("run-spec", str(spec_file), "--manifest", "tinker", "--port", "datasets=files")
    print(f"{case} through the tinker manifest: {time.monotonic() - started:.1f} s wall")
    assert result.exit_code == 0, (result.output[-3000:], result.exception)

    for subdir, loss in losses.items():
        rows = list(read_jsonl(run_dir / subdir / "metrics.jsonl"))
        assert rows, f"{case}: no metrics in {subdir or 'the run directory'}"
        _finite_numbers(rows, f"{case}/{subdir}")
        assert any(isinstance(r.get(loss), float) for r in rows), f"{case}/{subdir}: no {loss} in {rows[-1]}"
    main = list(read_jsonl(run_dir / "metrics.jsonl"))
    _finite_numbers(main, case)
    assert max(r["step"] for r in main) >= 2, main
    checkpoints = list(read_jsonl(run_dir / "checkpoints.jsonl"))
    assert checkpoints, f"{case}: no checkpoints recorded"
    for record in checkpoints:
        for key in ("state_path", "sampler_path"):
            if record.get(key):
                assert str(record[key]).startswith("tinker://"), record
    assert any(r.get("state_path") for r in checkpoints), checkpoints

    # every stage of the spec finished, and each one's artifacts point at the server's weights
    finished = _finished_stages(run_dir)
    assert sorted(finished) == sorted(s.get("id") or s["name"] for s in spec["pipeline"]), sorted(finished)
    for stage, event in finished.items():
        for artifact in event["artifacts"]:
            for key in ("state_path", "sampler_path"):
                if artifact["data"].get(key):
                    assert artifact["data"][key].startswith("tinker://"), (stage, artifact)
    trained = [s for s, e in finished.items() if any(a["type"] == "CheckpointRef" for a in e["artifacts"])]
    assert trained, f"{case}: no stage left a checkpoint reference"

    # the same spec locally: the same stages and metrics, and the same scores before training
    local_dir = tmp_path / "runs" / f"{case}-local"
    spec["outputs"]["log_path"] = str(local_dir)
    spec_file.write_text(json.dumps(spec))
    result = cli("run-spec", str(spec_file))
    assert result.exit_code == 0, (result.output[-3000:], result.exception)
    local = _finished_stages(local_dir)
    assert sorted(local) == sorted(finished)
    for subdir in losses:
        keys = {k for r in read_jsonl(run_dir / subdir / "metrics.jsonl") for k in r}
        assert keys == {k for r in read_jsonl(local_dir / subdir / "metrics.jsonl") for k in r}, subdir
    for stage, key in before.items():
        ours, theirs = finished[stage]["outputs"][key], local[stage]["outputs"][key]
        assert math.isfinite(ours) and ours == pytest.approx(theirs, rel=1e-3, abs=1e-4), (stage, key, ours, theirs)
    for stage, event in finished.items():
        for key, value in sorted(event["outputs"].items()):
            if key.startswith(("first_", "final_")) and isinstance(value, float):
                theirs = local[stage]["outputs"][key]
                print(f"  {stage}.{key}: tinker {value:.4f}, local {theirs:.4f}")
                if key.startswith("final_") and stage in exact:
                    assert value == pytest.approx(theirs, rel=1e-2, abs=1e-3), (stage, key, value, theirs)
