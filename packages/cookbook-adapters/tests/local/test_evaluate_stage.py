"""The `evaluate` stage and the supervised loop's eval tasks on the local engine with the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cookbook_adapters.local import LocalServiceClient
from cookbook_runtime.framework import read_jsonl, run
from cookbook_runtime.ir import Experiment, StageSpec
from cookbook_runtime.ports import Ports


@pytest.fixture
def task_file(tmp_path: Path) -> Path:
    path = tmp_path / "copy.jsonl"
    rows = [{"prompt": f"copy {a} {b}", "answer": f"{a} {b}"} for a, b in ("ab", "cd", "ef")]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _spec(task: Path, tiny: str) -> Experiment:
    options = {
        "task": str(task), "base_model": tiny, "renderer": "qwen3_instruct",
        "num_samples": 3, "k": [1, 3], "temperature": 1.0, "max_tokens": 6, "seed": 11,
    }
    return Experiment(id="ev", pipeline=[StageSpec(name="evaluate", options=options)])


async def test_evaluate_stage_samples_the_tiny_model_reproducibly(
    service: LocalServiceClient, tiny: str, task_file: Path, tmp_path: Path
) -> None:
    ctx = await run(_spec(task_file, tiny), Ports(service=service), tmp_path / "a")
    out = ctx.outputs["evaluate"]
    assert (out["num_items"], out["num_samples"], out["weights"]) == (3, 3, f"base:{tiny}")
    items = list(read_jsonl(tmp_path / "a" / "eval" / "copy.jsonl"))
    assert all(len(i["completions"]) == 3 and all(isinstance(c, str) for c in i["completions"]) for i in items)
    assert out["pass_at_k"]["1"] == pytest.approx(out["correct_samples"] / 9)
    await run(_spec(task_file, tiny), Ports(service=service), tmp_path / "b")
    again = list(read_jsonl(tmp_path / "b" / "eval" / "copy.jsonl"))
    assert [i["completions"] for i in again] == [i["completions"] for i in items], "seeded samples must repeat"


async def test_supervised_loop_scores_eval_tasks_then_evaluate_uses_its_weights(
    service: LocalServiceClient, tiny: str, task_file: Path, tmp_path: Path
) -> None:
    from cookbook_runtime.ir import DatasetRef, ModelRef, TrainingConfig
    from cookbook_runtime.testing import FakeDatasetStore

    chats = [
        {"messages": [{"role": "user", "content": f"copy {a} {b}"}, {"role": "assistant", "content": f"{a} {b}"}]}
        for a in "ghijklmn" for b in "opqr"
    ]
    training = TrainingConfig(
        model=ModelRef(name=tiny, renderer="qwen3_instruct"),
        dataset=DatasetRef(name="copy"),
        batch_size=8, learning_rate=3e-3, lora_rank=0, max_steps=3, eval_every=2, save_every=0, max_length=32,
    )
    spec = Experiment(
        id="sl-ev",
        training=training,
        dataset=training.dataset,
        pipeline=[
            StageSpec(name="supervised_train", options={"eval_tasks": [{"task": str(task_file), "max_tokens": 6}]}),
            StageSpec(name="evaluate", options={"task": str(task_file), "max_tokens": 6}),
        ],
    )
    store = FakeDatasetStore({"copy": {"train": chats}})
    ctx = await run(spec, Ports(service=service, datasets=store), tmp_path / "sl")
    rows = list(read_jsonl(tmp_path / "sl" / "metrics.jsonl"))
    assert [r["step"] for r in rows if "eval/copy/pass@1" in r] == [0, 2, 3]
    final_in_loop = next(r for r in reversed(rows) if "eval/copy/pass@1" in r)["eval/copy/pass@1"]
    out = ctx.outputs["evaluate"]
    assert out["weights"] == ctx.outputs["supervised_train"]["final_sampler_path"]
    assert out["pass_at_k"]["1"] == pytest.approx(final_in_loop), "greedy eval of the same weights must agree"
