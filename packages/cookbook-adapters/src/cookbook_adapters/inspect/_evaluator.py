"""`InspectEvaluator`: an inspect-ai task as a sampling-client evaluator.

Each call runs the task with inspect's `eval_async` against a `cookbook/<name>`
model over the given sampling client (so a loop's current weights, local or
remote), with `limit` samples, `epochs` repeats of each (the n of pass@k), and
the temperature, reply cap and seed as the model's `GenerateConfig` (a task's own
config wins where it sets one, as inspect merges them). It returns the
task's own metrics as `eval/<task>/<metric>` (`eval/<task>/<scorer>/<metric>`
when the task has several scorers) and `eval/<task>/pass@k` from the first
scorer's per-epoch values (a value of 1, or inspect's `C`, counts as correct), so
the same numbers go to a loop's metrics, the `evaluate` stage's `eval/<task>.json`
and `cookbook eval`'s table.

Inspect's log goes under `<work_dir>/eval/inspect/` (a run directory), else a
fresh temporary directory, never `~/.inspect` or the working directory, and its
own files (traces, sample buffer) under that directory's `.inspect/`; nothing
is shown on the console unless the host already chose an inspect display. Inspect
allows one `eval_async` at a time per process, so evaluations queue on a lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cookbook_runtime.errors import BackendError
from cookbook_runtime.ports import SamplingClient
from cookbook_runtime.train.eval import EVAL_DIR, BenchmarkResult, check_k
from inspect_ai import eval_async
from inspect_ai.log import EvalLog
from inspect_ai.model import GenerateConfig
from inspect_ai.scorer import value_to_float

from cookbook_adapters.inspect._provider import cookbook_model
from cookbook_adapters.inspect._tasks import load_inspect_task, task_name

if TYPE_CHECKING:
    from cookbook_runtime.train.renderers import Renderer

__all__ = ["FACTORY", "INSPECT_LOG_SUBDIR", "InspectEvaluator", "InspectTaskFactory"]

logger = logging.getLogger(__name__)

INSPECT_LOG_SUBDIR = f"{EVAL_DIR}/inspect"

_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    if loop not in _locks:
        _locks[loop] = asyncio.Lock()
    return _locks[loop]


def _quiet_display() -> None:
    """Inspect's console display off, unless the host process chose one already."""
    from inspect_ai.util._display import display_type_initialized, init_display_type

    if not display_type_initialized():
        init_display_type("none")


@contextlib.contextmanager
def _contained(log_dir: Path) -> Iterator[None]:
    """Inspect's own files (traces, sample buffer, viewer state) under `log_dir/.inspect`, its logging undone.

    Inspect keeps those under the user data dir (`$XDG_DATA_HOME/inspect_ai`), which
    is pointed into the log directory for the eval's duration; and its first eval
    puts a handler on the root logger and resets the root level, which are put back
    afterwards (its own `inspect_ai` logger keeps its handler).
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    previous = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(log_dir / ".inspect")
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("XDG_DATA_HOME", None)
        else:
            os.environ["XDG_DATA_HOME"] = previous
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


_to_float = value_to_float()


def _correct(value: Any) -> bool:
    if isinstance(value, list | dict):
        return False
    return _to_float(value) >= 1.0


class InspectEvaluator:
    """A sampling-client evaluator running one inspect task."""

    kind: ClassVar[str] = "sampling"

    def __init__(
        self,
        task: str,
        renderer: Renderer,
        *,
        limit: int | None = None,
        epochs: int = 1,
        ks: Sequence[int] = (1,),
        temperature: float = 0.0,
        max_tokens: int = 64,
        seed: int = 0,
        name: str | None = None,
        log_dir: Path | None = None,
        max_connections: int = 32,
        metric_prefix: str | None = None,
    ) -> None:
        check_k(list(ks), epochs)
        self.task = task
        self.renderer = renderer
        self.limit = limit
        self.epochs = epochs
        self.ks = tuple(sorted(set(ks)))
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self.name = name or task_name(load_inspect_task(task))
        self.log_dir = log_dir
        self.max_connections = max_connections
        self.metric_prefix = metric_prefix

    def _log_dir(self) -> Path:
        if self.log_dir is None:
            self.log_dir = Path(tempfile.mkdtemp(prefix="cookbook-inspect-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return self.log_dir

    def _config(self) -> GenerateConfig:
        return GenerateConfig(
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            seed=self.seed,
            max_connections=self.max_connections,
        )

    async def run(self, client: SamplingClient) -> EvalLog:
        """Run the task once on `client`'s weights; the inspect log (status success, else `BackendError`)."""
        task = load_inspect_task(self.task)
        model = cookbook_model(client, self.renderer, name=self.name, config=self._config())
        _quiet_display()
        log_dir = self._log_dir()
        async with _lock():
            with _contained(log_dir):
                logs = await eval_async(
                    task,
                    model=model,
                    limit=self.limit,
                    epochs=self.epochs,
                    log_dir=str(log_dir),
                    log_format="json",
                    log_realtime=False,
                    score_display=False,
                    fail_on_error=True,
                    retry_on_error=0,
                    ctl_server=False,  # no control socket: nothing to steer, and nothing listening
                    metadata={"cookbook_task": self.task},
                )
        log = logs[0]
        if log.status != "success":
            reason = log.error.message if log.error is not None else log.status
            raise BackendError(f"inspect task {self.task!r} did not finish ({reason}); its log: {log.location}")
        return log

    def _result(self, log: EvalLog) -> BenchmarkResult:
        by_id: dict[str, dict[str, Any]] = {}
        for sample in log.samples or []:
            record = by_id.setdefault(
                str(sample.id),
                {"id": str(sample.id), "prompt": _prompt(sample.input), "references": _targets(sample.target),
                 "grader": "", "epochs": [], "completions": [], "scores": [], "correct": []},
            )
            sample_scores = sample.scores or {}
            first = next(iter(sample_scores.values()), None)
            record["grader"] = next(iter(sample_scores), "")
            record["epochs"].append(sample.epoch)
            record["completions"].append(sample.output.completion)
            record["scores"].append(first.value if first is not None else None)
            record["correct"].append(_correct(first.value) if first is not None else False)
        records = []
        for record in by_id.values():
            order = sorted(range(len(record["epochs"])), key=lambda i: record["epochs"][i])
            for key in ("epochs", "completions", "scores", "correct"):
                record[key] = [record[key][i] for i in order]
            record["num_correct"] = sum(record["correct"])
            records.append(record)
        if any(len(r["epochs"]) != self.epochs for r in records):
            raise BackendError(f"inspect task {self.task!r} logged an incomplete set of epochs; its log: {log.location}")
        score_sets = log.results.scores if log.results is not None else []
        several = len(score_sets) > 1
        scores = {
            (f"{s.name}/{m}" if several else m): float(metric.value)
            for s in score_sets
            for m, metric in s.metrics.items()
        }
        settings = {
            "num_samples": self.epochs,
            "k": list(self.ks),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "source": f"inspect:{self.task}",
            "inspect_log": str(log.location),
        }
        return BenchmarkResult(self.name, self.ks, self.epochs, records, settings, scores)

    async def evaluate(self, client: SamplingClient) -> BenchmarkResult:
        """Run the task; per-sample records (one completion per epoch), pass@k and the task's metrics."""
        return self._result(await self.run(client))

    async def __call__(self, client: SamplingClient) -> dict[str, float]:
        """`eval/<name>/<metric>` for each of the task's metrics and `eval/<name>/pass@k` for each k."""
        return (await self.evaluate(client)).metrics(self.metric_prefix)


def _prompt(value: Any) -> str:
    if isinstance(value, str):
        return value
    last = value[-1] if value else None
    return str(last.text) if last is not None else ""


def _targets(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


class InspectTaskFactory:
    """The `inspect` evaluator kind: task references `inspect:MODULE:TASK` and `inspect:FILE.py[@TASK]`."""

    def check(self, ref: str) -> str:
        """Load the task (a missing module, file or task is a `ConfigError`); its name."""
        return task_name(load_inspect_task(ref))

    def build(
        self,
        ref: str,
        renderer: Renderer,
        *,
        limit: int | None,
        num_samples: int,
        ks: list[int],
        temperature: float,
        max_tokens: int,
        seed: int,
        name: str | None,
        work_dir: Path | None,
    ) -> InspectEvaluator:
        """An `InspectEvaluator`; `num_samples` become inspect epochs, logs go under `work_dir/eval/inspect`."""
        return InspectEvaluator(
            ref,
            renderer,
            limit=limit,
            epochs=num_samples,
            ks=ks,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
            name=name,
            log_dir=work_dir / INSPECT_LOG_SUBDIR if work_dir is not None else None,
        )


FACTORY = InspectTaskFactory()
