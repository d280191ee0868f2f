"""`tiny_chat_exact`: an inspect-ai task over eight tiny-chat letter tasks, scored by exact match.

The samples (`tiny_chat.jsonl` beside this file) are the first eight items of the
recipes' shipped `tiny_chat` eval task: `copy`, `reverse` or `sort` a few letters.
The scorer grades a reply as the cookbook's own `exact` grader does (whitespace
and case folded), so the task's accuracy on greedy replies equals the
`BenchmarkEvaluator`'s pass@1 on the same items and weights. Run it as
`cookbook eval RUN --task inspect:cookbook_adapters.inspect.tasks.tiny_chat:tiny_chat_exact`,
or by this file's path.
"""

from __future__ import annotations

import json
from pathlib import Path

from cookbook_runtime.train.eval import get_grader
from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Scorer, Target, accuracy, scorer, stderr
from inspect_ai.solver import TaskState, generate

__all__ = ["SAMPLES", "cookbook_grader", "tiny_chat_exact"]

SAMPLES = Path(__file__).with_name("tiny_chat.jsonl")


@scorer(metrics=[accuracy(), stderr()])
def cookbook_grader() -> Scorer:
    """Correct when the cookbook grader named in the sample's metadata (default `exact`) accepts the reply."""

    async def score(state: TaskState, target: Target) -> Score:
        grade = get_grader(str(state.metadata.get("grader", "exact")))
        answer = state.output.completion
        return Score(value=CORRECT if grade(answer, list(target.target)) else INCORRECT, answer=answer)

    return score


def _samples() -> list[Sample]:
    rows = [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        Sample(input=r["prompt"], target=r["answer"], id=r["id"], metadata={"grader": r.get("grader", "exact")})
        for r in rows
    ]


@task
def tiny_chat_exact() -> Task:
    """Eight tiny-chat prompts, one generation each, graded by exact match."""
    return Task(dataset=MemoryDataset(_samples(), name="tiny_chat"), solver=generate(), scorer=cookbook_grader())
