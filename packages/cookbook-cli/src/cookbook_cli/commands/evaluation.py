"""`cookbook eval`: score a run or checkpoint on a benchmark task, alone or beside others."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from cookbook_runtime.errors import ConfigError
from pydantic import ValidationError

from cookbook_cli._output import out_console

__all__ = ["EvalRequest", "eval_command", "summary_line"]


@dataclass(frozen=True)
class EvalRequest:
    target: str
    task: str
    limit: int | None
    ks: list[int]
    samples: int | None
    temperature: float
    max_tokens: int
    seed: int
    compare: list[str]
    manifest: str | None
    model: str | None
    renderer: str | None
    write: bool


def summary_line(result: Any, k: int) -> str:
    """`pass@k: 0.NN (c/n)`: for pass@1 the counts are correct/total samples, else solved/total items."""
    if k == 1:
        counts = f"{result.correct_samples}/{result.total_samples}"
    else:
        counts = f"{result.solved_items}/{result.num_items} solved in {result.num_samples}"
    return f"pass@{k}: {result.pass_at(k):.2f} ({counts})"


def _settings(req: EvalRequest) -> Any:
    from cookbook_runtime.train.stages import TaskEvalSettings

    ks = sorted(set(req.ks or [1]))
    samples = req.samples if req.samples is not None else max(ks)
    if max(ks) > samples:
        raise ConfigError(f"--k {max(ks)} needs at least that many samples per item; --samples is {samples}")
    try:
        return TaskEvalSettings(
            task=req.task, limit=req.limit, num_samples=samples, k=ks, temperature=req.temperature,
            max_tokens=req.max_tokens, seed=req.seed,
        )
    except ValidationError as exc:
        raise ConfigError(f"eval options: {exc.errors()[0]['msg']}") from None


def eval_command(req: EvalRequest) -> None:
    from cookbook_runtime.train.eval import check_task

    from cookbook_cli._eval import evaluate_target, resolve_target

    settings = _settings(req)
    check_task(settings.task)  # an unknown task is one line before any weights load
    labels = [req.target, *req.compare]
    targets = [resolve_target(t, manifest=req.manifest, model=req.model, renderer=req.renderer) for t in labels]
    results = []
    for target in targets:
        results.append(asyncio.run(evaluate_target(target, settings, write=req.write)))
    console = out_console()
    if len(results) == 1:
        result, written = results[0]
        console.print(f"task {result.name}: {result.num_items} items x {result.num_samples} samples", highlight=False)
        for k in result.ks:
            console.print(summary_line(result, k), highlight=False)
        for score, value in result.scores.items():
            console.print(f"{score}: {value:.4g}", highlight=False)
        if written is not None:
            console.print(f"wrote {written} and {written.with_suffix('.jsonl')}", highlight=False)
        return
    _compare_table(labels, [r for r, _ in results])


def _compare_table(labels: list[str], results: list[Any]) -> None:
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", title=f"task {results[0].name}")
    table.add_column("metric")
    for label in labels:
        table.add_column(label, justify="right")
    for label in labels[1:]:
        table.add_column(f"delta ({label} - {labels[0]})", justify="right")
    base = results[0]
    for k in base.ks:
        values = [r.pass_at(k) for r in results]
        deltas = [f"{v - values[0]:+.2f}" for v in values[1:]]
        table.add_row(f"pass@{k}", *(f"{v:.2f}" for v in values), *deltas)
    for score in base.scores:
        scores = [r.scores.get(score, float("nan")) for r in results]
        table.add_row(score, *(f"{v:.4g}" for v in scores), *(f"{v - scores[0]:+.4g}" for v in scores[1:]))
    counts = [f"{r.correct_samples}/{r.total_samples}" for r in results]
    table.add_row("correct samples", *counts, *([""] * (len(results) - 1)))
    out_console().print(table)
    for label, r in zip(labels, results, strict=True):
        out_console().print(f"{label}: {summary_line(r, base.ks[0])}", highlight=False)
