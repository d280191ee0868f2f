"""The inspect task end to end on the local engine with the tiny model: agrees with the runtime's own evaluator."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

pytest.importorskip("torch")

from cookbook_adapters.inspect import INSPECT_LOG_SUBDIR, InspectEvaluator
from cookbook_adapters.inspect.tasks.tiny_chat import SAMPLES
from cookbook_adapters.local import TINY_CHAT, LocalServiceClient
from cookbook_runtime.framework import read_jsonl, run
from cookbook_runtime.ir import DatasetRef, Experiment, ModelRef, StageSpec, TrainingConfig
from cookbook_runtime.ports import Ports
from cookbook_runtime.testing import FakeDatasetStore
from cookbook_runtime.train.eval import BenchmarkEvaluator, read_task_file
from cookbook_runtime.train.renderers import get_renderer
from inspect_fakes import TASK

pytestmark = pytest.mark.slow

RENDERER = "qwen3_instruct"


@pytest.fixture
async def service(model_cache: Path, tmp_path: Path) -> AsyncIterator[LocalServiceClient]:
    svc = LocalServiceClient(device="cpu", cache_dir=model_cache, root=tmp_path / "states")
    yield svc
    await svc.close()


async def test_inspect_task_on_the_tiny_model_matches_the_benchmark_evaluator(
    service: LocalServiceClient, tmp_path: Path
) -> None:
    sampler = await service.create_sampling_client(base_model=TINY_CHAT)
    renderer = get_renderer(RENDERER, sampler.tokenizer())
    started = time.monotonic()
    inspect_result = await InspectEvaluator(TASK, renderer, max_tokens=8, log_dir=tmp_path).evaluate(sampler)
    print(f"inspect eval of {inspect_result.num_items} samples: {time.monotonic() - started:.1f}s")
    bench = await BenchmarkEvaluator(read_task_file(SAMPLES), renderer, max_tokens=8).evaluate(sampler)
    await sampler.close()

    assert [r["id"] for r in inspect_result.records] == [r["id"] for r in bench.records]
    for ours, theirs in zip(inspect_result.records, bench.records, strict=True):
        assert ours["completions"] == theirs["completions"], f"item {ours['id']}: greedy replies differ"
        assert ours["correct"] == theirs["correct"], f"item {ours['id']}: graded differently"
    assert inspect_result.scores["accuracy"] == pytest.approx(bench.pass_at(1))
    replies = [c for r in inspect_result.records for c in r["completions"]]
    print("replies:", replies)
    assert len(set(replies)) > 1, f"the comparison needs distinct replies, got {replies}"


async def test_supervised_training_evaluates_the_inspect_task_on_its_weights(
    service: LocalServiceClient, tmp_path: Path
) -> None:
    chats = [
        {"messages": [{"role": "user", "content": f"copy {a} {b}"}, {"role": "assistant", "content": f"{a} {b}"}]}
        for a in "ghijklmn" for b in "opqr"
    ]
    training = TrainingConfig(
        model=ModelRef(name=TINY_CHAT, renderer=RENDERER),
        dataset=DatasetRef(name="copy"),
        batch_size=8, learning_rate=3e-3, lora_rank=0, max_steps=3, eval_every=2, save_every=0, max_length=32,
    )
    eval_task = {"task": f"inspect:{TASK}", "max_tokens": 8, "limit": 4}
    spec = Experiment(
        id="sl-inspect",
        training=training,
        dataset=training.dataset,
        pipeline=[
            StageSpec(name="supervised_train", options={"eval_tasks": [eval_task]}),
            StageSpec(name="evaluate", options=eval_task),
        ],
    )
    store = FakeDatasetStore({"copy": {"train": chats}})
    run_dir = tmp_path / "sl"
    started = time.monotonic()
    ctx = await run(spec, Ports(service=service, datasets=store), run_dir)
    print(f"3 steps with inspect evals at 0, 2, 3 and a final evaluate: {time.monotonic() - started:.1f}s")
    rows = list(read_jsonl(run_dir / "metrics.jsonl"))
    key = "eval/tiny_chat_exact/accuracy"
    assert [r["step"] for r in rows if key in r] == [0, 2, 3]
    out = ctx.outputs["evaluate"]
    assert out["weights"] == ctx.outputs["supervised_train"]["final_sampler_path"]
    final_in_loop = next(r for r in reversed(rows) if key in r)[key]
    assert out["scores"]["accuracy"] == pytest.approx(final_in_loop), "greedy eval of the same weights must agree"
    assert len(list((run_dir / INSPECT_LOG_SUBDIR).glob("*.json"))) == 4
