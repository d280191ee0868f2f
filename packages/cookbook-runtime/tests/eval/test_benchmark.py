"""`BenchmarkEvaluator` on scripted replies: grading, pass@k, seeds and the files it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.testing import ByteTokenizer, ScriptedSamplingClient
from cookbook_runtime.train.eval import (
    BenchmarkEvaluator,
    SamplingClientEvaluator,
    task_from_rows,
    write_results,
)
from cookbook_runtime.train.renderers import get_renderer

RENDERER = get_renderer("qwen3_instruct", ByteTokenizer())
TASK = task_from_rows(
    "sums",
    [
        {"prompt": "1+1", "answer": "2", "grader": "numeric"},
        {"prompt": "2+2", "answer": "4", "grader": "numeric"},
        {"prompt": "name", "answer": "bob"},
    ],
)


def _sampler() -> ScriptedSamplingClient:
    return ScriptedSamplingClient(
        RENDERER,
        {"1+1": ["2", "3", "it is 2", "5"], "2+2": ["1", "2", "3", "5"], "name": ["bob", "bob", "bob", "bob"]},
    )


async def test_pass_at_k_over_items() -> None:
    sampler = _sampler()
    evaluator = BenchmarkEvaluator(TASK, RENDERER, num_samples=4, ks=(1, 2), temperature=0.7, max_tokens=9, seed=5)
    assert isinstance(evaluator, SamplingClientEvaluator)
    result = await evaluator.evaluate(sampler)
    assert [r["num_correct"] for r in result.records] == [2, 0, 4]
    assert result.records[0]["completions"] == ["2", "3", "it is 2", "5"]
    assert result.records[0]["correct"] == [True, False, True, False]
    # pass@1 = (2/4 + 0 + 1) / 3; pass@2 = (1 - C(2,2)/C(4,2) + 0 + 1) / 3 = (5/6 + 1) / 3
    assert result.pass_at(1) == pytest.approx(0.5)
    assert result.pass_at(2) == pytest.approx((5 / 6 + 1) / 3)
    assert (result.correct_samples, result.total_samples, result.solved_items) == (6, 12, 2)
    assert [(n, p.seed, p.temperature, p.max_tokens) for _, n, p in sampler.calls] == [
        (4, 5, 0.7, 9), (4, 6, 0.7, 9), (4, 7, 0.7, 9)
    ]
    assert await evaluator(sampler) == {"eval/sums/pass@1": pytest.approx(0.5), "eval/sums/pass@2": pytest.approx(11 / 18)}


async def test_limit_and_k_above_samples() -> None:
    result = await BenchmarkEvaluator(TASK, RENDERER, limit=1).evaluate(_sampler())
    assert result.num_items == 1 and result.pass_at(1) == 1.0
    with pytest.raises(ConfigError, match="pass@3 needs 1 <= k <= samples per item \\(2\\)"):
        BenchmarkEvaluator(TASK, RENDERER, num_samples=2, ks=(3,))


async def test_results_files(tmp_path: Path) -> None:
    result = await BenchmarkEvaluator(TASK, RENDERER, num_samples=2, ks=(1, 2)).evaluate(_sampler())
    items, summary = write_results(tmp_path, result, extra={"weights": "w"})
    assert items == tmp_path / "eval" / "sums.jsonl" and summary == tmp_path / "eval" / "sums.json"
    lines = [json.loads(x) for x in items.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["0", "1", "2"] and lines[2]["references"] == ["bob"]
    data = json.loads(summary.read_text())
    assert data["pass_at_k"] == {"1": pytest.approx(0.5), "2": pytest.approx(2 / 3)}
    assert (data["num_items"], data["num_samples"], data["weights"]) == (3, 2, "w")
