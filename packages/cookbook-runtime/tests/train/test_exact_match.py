"""Exact match of sampled answers: the evaluator, its example reader, and its stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cookbook_runtime.errors import DataError
from cookbook_runtime.framework import run
from cookbook_runtime.ir import Experiment, ModelRef, StageSpec
from cookbook_runtime.ports import Ports
from cookbook_runtime.testing import ByteTokenizer, FakeDatasetStore, FakeServiceClient
from cookbook_runtime.train.evaluators import ExactMatchEvaluator, QaExample, qa_examples
from cookbook_runtime.train.renderers import get_renderer
from cookbook_runtime.train.types import ModelInput, SampledSequence, SampleResult, SamplingParams

from .conftest import training_config

RENDERER = get_renderer("qwen3_instruct", ByteTokenizer())


class ScriptedSampler:
    """Replies with fixed text per user prompt, tokenized as the renderer renders that reply."""

    def __init__(self, replies: dict[str, str]) -> None:
        self.replies: dict[tuple[int, ...], list[int]] = {}
        for user, reply in replies.items():
            messages = [{"role": "user", "content": user}]
            prompt = RENDERER.build_generation_prompt(messages).to_ints()
            full, _ = RENDERER.build_supervised_example([*messages, {"role": "assistant", "content": reply}])
            self.replies[tuple(prompt)] = full.to_ints()[len(prompt) :]
        self.params: list[SamplingParams] = []

    async def sample(self, prompt: ModelInput, num_samples: int, params: SamplingParams) -> SampleResult:
        self.params.append(params)
        reply = self.replies[tuple(prompt.to_ints())]
        return SampleResult([SampledSequence(reply, [0.0] * len(reply), "stop")])

    async def compute_logprobs(self, prompt: ModelInput) -> list[float | None]:
        raise AssertionError("exact match never scores prompts")

    def tokenizer(self) -> ByteTokenizer:
        return ByteTokenizer()

    async def close(self) -> None:
        pass


async def test_scores_the_share_of_exact_replies() -> None:
    pairs = [("p1", "a b"), ("p2", "c"), ("p3", "d"), ("p4", "e")]
    examples = [QaExample([{"role": "user", "content": q}], a) for q, a in pairs]
    sampler = ScriptedSampler({"p1": " a  b ", "p2": "c", "p3": "x", "p4": "e"})
    result = await ExactMatchEvaluator(examples, RENDERER, max_tokens=7).evaluate(sampler)
    assert (result.correct, result.total, result.score) == (3, 4, 0.75)
    assert [r["correct"] for r in result.records] == [True, True, False, True]
    assert result.records[2] == {"prompt": "p3", "reference": "d", "completion": "x", "correct": False}
    assert all(p.temperature == 0.0 and p.max_tokens == 7 for p in sampler.params), "must sample greedily"
    assert await ExactMatchEvaluator(examples, RENDERER)(sampler) == {"test/exact_match": 0.75}


def test_examples_from_chats_and_prompt_answer_rows() -> None:
    rows = [
        {"prompt": "2+2?", "answer": 4},
        {
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
            ]
        },
    ]
    found = qa_examples(rows)
    assert found[0] == QaExample([{"role": "user", "content": "2+2?"}], "4")
    assert found[1] == QaExample(
        [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}], "hello"
    )
    assert len(qa_examples(rows, limit=1)) == 1


def test_a_row_without_an_answer_is_named() -> None:
    with pytest.raises(DataError, match="row 1 has neither"):
        qa_examples([{"prompt": "a", "answer": "b"}, {"messages": [{"role": "user", "content": "x"}]}])
    with pytest.raises(DataError, match="no examples"):
        ExactMatchEvaluator([], RENDERER)


async def test_stage_scores_the_held_out_split_and_writes_every_answer(
    store: FakeDatasetStore, tmp_path: Path
) -> None:
    config = training_config(model=ModelRef(name="fake/model", renderer="qwen3_instruct"), num_epochs=1)
    spec = Experiment(
        id="em",
        training=config,
        dataset=config.dataset,
        pipeline=[
            StageSpec(name="supervised_train"),
            StageSpec(name="evaluate_exact_match", options={"max_examples": 4, "max_tokens": 5}),
        ],
    )
    ctx = await run(spec, Ports(service=FakeServiceClient(), datasets=store), tmp_path)
    out = ctx.outputs["evaluate_exact_match"]
    assert out["total"] == 4 and out["split"] == "test"
    assert out["exact_match"] == out["correct"] / 4
    assert out["sampler_path"] == ctx.outputs["supervised_train"]["final_sampler_path"]
    written = json.loads((tmp_path / "exact_match.json").read_text())
    assert [r["prompt"] for r in written["records"]] == ["t0?", "t1?", "t2?", "t3?"]
    assert [r["reference"] for r in written["records"]] == ["a0.", "a1.", "a2.", "a3."]
