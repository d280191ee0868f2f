"""The shipped offline eval tasks: generated from seeds, registered, well-formed, gradeable."""

from __future__ import annotations

from pathlib import Path

import pytest
from cookbook_recipes import eval_tasks
from cookbook_recipes.datasets import tiny_chat
from cookbook_runtime.testing import ByteTokenizer, ScriptedSamplingClient
from cookbook_runtime.train.eval import BenchmarkEvaluator, load_task, task_names
from cookbook_runtime.train.renderers import get_renderer


def test_shipped_files_are_exactly_what_the_generators_make(tmp_path: Path) -> None:
    for written in eval_tasks.write(tmp_path):
        shipped = eval_tasks.TASK_DIR / written.name
        assert shipped.read_bytes() == written.read_bytes(), f"{shipped} is stale: python -m cookbook_recipes.eval_tasks"


def test_registered_under_their_names() -> None:
    assert {"tiny_chat", "arithmetic"} <= set(task_names())
    assert len(load_task("tiny_chat").items) == tiny_chat.SPLITS["test"]
    assert len(load_task("arithmetic").items) == eval_tasks.ARITHMETIC_SIZE


def test_tiny_chat_task_is_the_held_out_split() -> None:
    rows = tiny_chat.generate()["test"]
    items = load_task("tiny_chat").items
    assert [i.prompt for i in items] == [r["messages"][0]["content"] for r in rows]
    assert [i.answers for i in items] == [[r["messages"][1]["content"]] for r in rows]


def test_arithmetic_answers_are_right_and_distinct() -> None:
    items = load_task("arithmetic").items
    assert len({i.prompt for i in items}) == len(items)
    for item in items:
        _, _, a, op, b = item.prompt.rstrip("?").split()
        assert int(item.answers[0]) == (int(a) + int(b) if op == "+" else int(a) - int(b)), item.prompt


@pytest.mark.parametrize("name", ["tiny_chat", "arithmetic"])
async def test_a_model_answering_the_references_scores_one(name: str) -> None:
    renderer = get_renderer("qwen3_instruct", ByteTokenizer())
    task = load_task(name)
    replies = {i.prompt: (f"The answer is {i.answers[0]}" if i.grader == "numeric" else i.answers[0]) for i in task.items}
    result = await BenchmarkEvaluator(task, renderer).evaluate(ScriptedSamplingClient(renderer, replies))
    assert result.pass_at(1) == 1.0, [r for r in result.records if not r["correct"][0]][:2]
