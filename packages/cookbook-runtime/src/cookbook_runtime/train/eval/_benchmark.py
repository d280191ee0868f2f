"""`BenchmarkEvaluator`: sample each task prompt n times, grade, report pass@k.

Every item's prompt goes through the run's renderer, is sampled `num_samples` times
in one request (all items queued at once), each reply is parsed back to text and
graded, and pass@k is estimated without bias from the n samples. Seeds are fixed
per item (`seed + index`), so a rerun on the same weights gives the same samples
where the backend honours seeds. `write_results` leaves the evidence in the run
directory: one line per item under `eval/<name>.jsonl` and the summary in
`eval/<name>.json`.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cookbook_runtime.framework import atomic_write_text
from cookbook_runtime.ports import SamplingClient
from cookbook_runtime.train.eval._graders import get_grader
from cookbook_runtime.train.eval._pass_at_k import check_k, pass_at_k
from cookbook_runtime.train.eval._tasks import BenchmarkItem, BenchmarkTask
from cookbook_runtime.types import SamplingParams

if TYPE_CHECKING:
    from cookbook_runtime.train.renderers import Renderer

__all__ = ["EVAL_DIR", "BenchmarkEvaluator", "BenchmarkResult", "result_paths", "write_results"]

EVAL_DIR = "eval"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)


@dataclass(frozen=True)
class BenchmarkResult:
    """Per-item records and the pass@k summary of one evaluation."""

    name: str
    ks: tuple[int, ...]
    num_samples: int
    records: list[dict[str, Any]]
    settings: dict[str, Any]
    scores: Mapping[str, float] = field(default_factory=dict)
    """Further metrics the task's own scorers report (e.g. an inspect task's `accuracy`), by name."""

    @property
    def num_items(self) -> int:
        return len(self.records)

    @property
    def correct_samples(self) -> int:
        return sum(int(r["num_correct"]) for r in self.records)

    @property
    def total_samples(self) -> int:
        return self.num_items * self.num_samples

    @property
    def solved_items(self) -> int:
        """Items with at least one correct sample."""
        return sum(1 for r in self.records if r["num_correct"] > 0)

    def pass_at(self, k: int) -> float:
        """Mean pass@k over items (NaN for an empty task)."""
        if not self.records:
            return float("nan")
        return math.fsum(pass_at_k(self.num_samples, int(r["num_correct"]), k) for r in self.records) / len(
            self.records
        )

    def metrics(self, prefix: str | None = None) -> dict[str, float]:
        """`<prefix>/pass@k` for each k and `<prefix>/<score>` for each score (prefix defaults to `eval/<name>`)."""
        p = prefix if prefix is not None else f"{EVAL_DIR}/{self.name}"
        out = {f"{p}/pass@{k}": self.pass_at(k) for k in self.ks}
        out.update({f"{p}/{name}": float(value) for name, value in self.scores.items()})
        return out

    def summary(self) -> dict[str, Any]:
        """What `eval/<name>.json` holds."""
        return {
            "task": self.name,
            "num_items": self.num_items,
            "num_samples": self.num_samples,
            "correct_samples": self.correct_samples,
            "solved_items": self.solved_items,
            "pass_at_k": {str(k): self.pass_at(k) for k in self.ks},
            **({"scores": dict(self.scores)} if self.scores else {}),
            "settings": self.settings,
        }


class BenchmarkEvaluator:
    """A sampling-client evaluator of one benchmark task."""

    kind: ClassVar[str] = "sampling"

    def __init__(
        self,
        task: BenchmarkTask,
        renderer: Renderer,
        *,
        num_samples: int = 1,
        ks: Sequence[int] = (1,),
        temperature: float = 0.0,
        max_tokens: int = 64,
        seed: int = 0,
        limit: int | None = None,
        name: str | None = None,
        metric_prefix: str | None = None,
    ) -> None:
        check_k(list(ks), num_samples)
        self.task = task.limited(limit)
        self.renderer = renderer
        self.num_samples = num_samples
        self.ks = tuple(sorted(set(ks)))
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self.name = name or task.name
        self.metric_prefix = metric_prefix
        for item in self.task.items:
            get_grader(item.grader)

    def _params(self, index: int) -> SamplingParams:
        return SamplingParams(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            stop=self.renderer.get_stop_sequences(),
            seed=self.seed + index,
        )

    async def _item(self, client: SamplingClient, index: int, item: BenchmarkItem) -> dict[str, Any]:
        prompt = self.renderer.build_generation_prompt(item.messages)  # type: ignore[arg-type]
        result = await client.sample(prompt, self.num_samples, self._params(index))
        completions = []
        for sequence in result.sequences[: self.num_samples]:
            message, _ = self.renderer.parse_response(list(sequence.tokens))
            completions.append(_text(message["content"]))
        grade = get_grader(item.grader)
        correct = [grade(c, item.answers) for c in completions]
        return {
            "id": item.id,
            "prompt": item.prompt,
            "references": item.answers,
            "grader": item.grader,
            "completions": completions,
            "correct": correct,
            "num_correct": sum(correct),
        }

    async def evaluate(self, client: SamplingClient) -> BenchmarkResult:
        """Sample and grade every item (all requests in flight at once)."""
        records = await asyncio.gather(*(self._item(client, i, it) for i, it in enumerate(self.task.items)))
        settings = {
            "num_samples": self.num_samples,
            "k": list(self.ks),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "source": self.task.source,
        }
        return BenchmarkResult(self.name, self.ks, self.num_samples, list(records), settings)

    async def __call__(self, client: SamplingClient) -> dict[str, float]:
        """`eval/<name>/pass@k` for each k."""
        return (await self.evaluate(client)).metrics(self.metric_prefix)


def result_paths(run_dir: Path, name: str) -> tuple[Path, Path]:
    """(per-item JSONL, summary JSON) of evaluation `name` in `run_dir`."""
    base = Path(run_dir) / EVAL_DIR
    return base / f"{name}.jsonl", base / f"{name}.json"


def write_results(run_dir: Path, result: BenchmarkResult, *, extra: Mapping[str, Any] | None = None) -> tuple[Path, Path]:
    """Write `eval/<name>.jsonl` (one line per item) and `eval/<name>.json` (the summary)."""
    items_path, summary_path = result_paths(run_dir, result.name)
    items_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(items_path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in result.records))
    summary = {**result.summary(), **(extra or {})}
    atomic_write_text(summary_path, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return items_path, summary_path
