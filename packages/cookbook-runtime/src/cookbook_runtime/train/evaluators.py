"""Held-out evaluation: the mean NLL of a dataset, and exact match of sampled answers.

NLL evaluation is two-phase like training calls: `submit` queues the forward passes
and returns at once, so a pipelined loop can evaluate the weights between two steps
without stalling; the requests run in order, after the previous step's update.

Exact match is a sampling evaluator (tinker-cookbook's `SamplingClientEvaluator`
shape): each held-out prompt goes through the renderer, is answered greedily, the
reply is parsed back and compared with the reference answer. It asks whether the
model acquired the skill, which a falling NLL does not show.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cookbook_runtime.errors import DataError
from cookbook_runtime.ports import Pending, SamplingClient, TrainingClient
from cookbook_runtime.train.data import SupervisedDataset
from cookbook_runtime.types import Datum, ForwardBackwardOutput, SamplingParams, TensorData

if TYPE_CHECKING:
    from cookbook_runtime.train.renderers import Renderer

__all__ = [
    "ExactMatchEvaluator",
    "ExactMatchResult",
    "NllEvaluator",
    "PendingEvaluation",
    "QaExample",
    "mean_nll",
    "nll_sums",
    "normalize_answer",
    "qa_examples",
]


def nll_sums(data: Sequence[Datum], outputs: Sequence[Mapping[str, TensorData]]) -> tuple[float, float]:
    """`(sum of -logprob * weight, sum of weights)` over a batch's tokens."""
    total = 0.0
    weight = 0.0
    for datum, out in zip(data, outputs, strict=True):
        logprobs = out["logprobs"].data
        weights = datum.weights()
        total -= math.fsum(float(lp) * w for lp, w in zip(logprobs, weights, strict=False))
        weight += math.fsum(weights)
    return total, weight


def mean_nll(data: Sequence[Datum], outputs: Sequence[Mapping[str, TensorData]]) -> float:
    """Weighted mean NLL per loss token; NaN when no token carries weight."""
    total, weight = nll_sums(data, outputs)
    return total / weight if weight > 0 else float("nan")


@dataclass
class PendingEvaluation:
    """Queued forward passes; `result()` waits for them and returns the metrics."""

    metric_name: str
    parts: list[tuple[list[Datum], Pending[ForwardBackwardOutput]]]

    async def result(self) -> dict[str, float]:
        total = 0.0
        weight = 0.0
        for data, pending in self.parts:
            out = await pending.result()
            t, w = nll_sums(data, out.loss_fn_outputs)
            total += t
            weight += w
        return {self.metric_name: total / weight if weight > 0 else float("nan")}


class NllEvaluator:
    """Mean NLL of a held-out dataset under a training client's current weights."""

    def __init__(
        self, dataset: SupervisedDataset, *, metric_name: str = "test/nll", max_batches: int | None = None
    ) -> None:
        self.dataset = dataset
        self.metric_name = metric_name
        self.max_batches = max_batches

    async def submit(self, client: TrainingClient) -> PendingEvaluation:
        """Queue a forward pass per held-out batch; returns before any runs."""
        parts: list[tuple[list[Datum], Pending[ForwardBackwardOutput]]] = []
        for batch in self.dataset.batches(epoch=0):
            if self.max_batches is not None and batch.index >= self.max_batches:
                break
            if batch.data:
                parts.append((batch.data, await client.forward(batch.data, "cross_entropy")))
        return PendingEvaluation(self.metric_name, parts)

    async def __call__(self, client: TrainingClient) -> dict[str, float]:
        """Evaluate now: queue and wait."""
        return await (await self.submit(client)).result()


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

    @property
    def score(self) -> float:
        return self.correct / self.total if self.total else float("nan")


class ExactMatchEvaluator:
    """Greedy answers to held-out prompts, compared with the references after `normalize_answer`."""

    def __init__(
        self, examples: Sequence[QaExample], renderer: Renderer, *, max_tokens: int = 64, name: str = "test"
    ) -> None:
        if not examples:
            raise DataError("exact-match evaluation got no examples; give it a non-empty held-out split")
        self.examples = list(examples)
        self.renderer = renderer
        self.max_tokens = max_tokens
        self.name = name

    async def _answer(self, client: SamplingClient, example: QaExample, params: SamplingParams) -> str:
        prompt = self.renderer.build_generation_prompt(example.messages)  # type: ignore[arg-type]
        result = await client.sample(prompt, 1, params)
        reply, _ = self.renderer.parse_response(result.sequences[0].tokens)
        return _text(reply["content"])

    async def evaluate(self, client: SamplingClient) -> ExactMatchResult:
        """Sample every example (all queued at once) and score the replies."""
        params = SamplingParams(
            max_tokens=self.max_tokens, temperature=0.0, stop=self.renderer.get_stop_sequences(), seed=0
        )
        replies = await asyncio.gather(*(self._answer(client, e, params) for e in self.examples))
        records = []
        for example, reply in zip(self.examples, replies, strict=True):
            records.append(
                {
                    "prompt": _text(example.messages[-1]["content"]),
                    "reference": example.answer,
                    "completion": reply,
                    "correct": normalize_answer(reply) == normalize_answer(example.answer),
                }
            )
        return ExactMatchResult(sum(1 for r in records if r["correct"]), len(records), records)

    async def __call__(self, client: SamplingClient) -> dict[str, float]:
        """`{name}/exact_match`: the fraction of held-out prompts answered exactly."""
        return {f"{self.name}/exact_match": (await self.evaluate(client)).score}
