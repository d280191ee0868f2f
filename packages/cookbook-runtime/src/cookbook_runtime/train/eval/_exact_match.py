"""Exact match of greedy answers to held-out prompts: a one-sample benchmark.

Each held-out prompt is answered greedily through the renderer, the reply is
parsed back and compared with the reference after whitespace is collapsed. It asks
whether the model acquired the skill, which a falling NLL does not show. The work is
done by `BenchmarkEvaluator` with the `exact` grader and one sample per prompt, so
this is pass@1 under another name (`test/exact_match`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from cookbook_runtime.errors import DataError
from cookbook_runtime.ports import SamplingClient
from cookbook_runtime.train.eval._benchmark import BenchmarkEvaluator, BenchmarkResult
from cookbook_runtime.train.eval._tasks import BenchmarkItem, BenchmarkTask

if TYPE_CHECKING:
    from cookbook_runtime.train.renderers import Renderer

__all__ = ["ExactMatchEvaluator", "ExactMatchResult", "QaExample", "normalize_answer", "qa_examples"]


@dataclass(frozen=True)
class QaExample:
    """A prompt conversation (ending with a user turn) and the reference reply text."""

    messages: list[dict[str, Any]]
    answer: str


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))


def _example(row: Any, index: int, messages_field: str, prompt_field: str, answer_field: str) -> QaExample:
    if not isinstance(row, Mapping):
        raise DataError(f"exact-match row {index} is a {type(row).__name__}, not an object")
    if isinstance(row.get(prompt_field), str) and answer_field in row:
        return QaExample([{"role": "user", "content": row[prompt_field]}], str(row[answer_field]))
    messages = row.get(messages_field)
    if isinstance(messages, list):
        last = max((i for i, m in enumerate(messages) if isinstance(m, Mapping) and m.get("role") == "assistant"), default=-1)
        if last > 0:
            return QaExample([dict(m) for m in messages[:last]], _text(messages[last].get("content", "")))
    raise DataError(
        f"exact-match row {index} has neither string fields {prompt_field!r}/{answer_field!r} nor a "
        f"{messages_field!r} list ending in an assistant reply; fields: {sorted(map(str, row))}"
    )


def qa_examples(
    rows: Iterable[Any],
    *,
    messages_field: str = "messages",
    prompt_field: str = "prompt",
    answer_field: str = "answer",
    limit: int | None = None,
) -> list[QaExample]:
    """Examples from rows that are `{prompt, answer}` objects or chats ending in the reference reply."""
    out: list[QaExample] = []
    for index, row in enumerate(rows):
        if limit is not None and len(out) >= limit:
            break
        out.append(_example(row, index, messages_field, prompt_field, answer_field))
    return out


def normalize_answer(text: str) -> str:
    """What exact match compares: the text with surrounding and repeated whitespace collapsed."""
    return " ".join(text.split())


@dataclass(frozen=True)
class ExactMatchResult:
    """How many sampled answers matched, and every (prompt, reference, completion) triple."""

    correct: int
    total: int
    records: list[dict[str, Any]]
    benchmark: BenchmarkResult | None = None

    @property
    def score(self) -> float:
        return self.correct / self.total if self.total else float("nan")


def examples_task(examples: Sequence[QaExample], name: str = "held_out") -> BenchmarkTask:
    """The benchmark task of `examples`: one item each, graded by `exact`."""
    items = [BenchmarkItem(str(i), list(e.messages), [e.answer], "exact") for i, e in enumerate(examples)]
    return BenchmarkTask(name, items, "held-out split")


class ExactMatchEvaluator:
    """Greedy answers to held-out prompts, compared with the references after `normalize_answer`."""

    kind: ClassVar[str] = "sampling"

    def __init__(
        self, examples: Sequence[QaExample], renderer: Renderer, *, max_tokens: int = 64, name: str = "test"
    ) -> None:
        if not examples:
            raise DataError("exact-match evaluation got no examples; give it a non-empty held-out split")
        self.examples = list(examples)
        self.name = name
        self.benchmark = BenchmarkEvaluator(
            examples_task(self.examples), renderer, num_samples=1, ks=(1,), temperature=0.0, max_tokens=max_tokens
        )

    async def evaluate(self, client: SamplingClient) -> ExactMatchResult:
        """Sample every example (all queued at once) and score the replies."""
        result = await self.benchmark.evaluate(client)
        records = [
            {
                "prompt": r["prompt"],
                "reference": r["references"][0],
                "completion": r["completions"][0],
                "correct": bool(r["correct"][0]),
            }
            for r in result.records
        ]
        return ExactMatchResult(result.correct_samples, result.total_samples, records, result)

    async def __call__(self, client: SamplingClient) -> dict[str, float]:
        """`{name}/exact_match`: the fraction of held-out prompts answered exactly."""
        return {f"{self.name}/exact_match": (await self.evaluate(client)).score}
