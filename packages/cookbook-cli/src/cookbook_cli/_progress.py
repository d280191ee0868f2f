"""A rich progress bar fed by the runtime's progress reports.

Training loops call `ctx.report_progress(Progress(stage, step, total, metrics))` once
per step; the CLI passes `ProgressBar.update` as the run's progress listener
(`Runtime.arun_spec(..., progress=bar.update)`), and the bar shows one task per stage
while its `with` block runs: a bar, step/total, the loss, and the time left.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from cookbook_runtime.framework import Progress

from cookbook_cli._output import err_console, format_value

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

__all__ = ["ProgressBar", "loss_of"]

_LOSS_KEYS = ("loss", "train_mean_nll", "loss:mean", "loss:sum", "test/nll")


def loss_of(metrics: Any) -> str:
    """The loss to show for a step ('' when the step reported none)."""
    for key in _LOSS_KEYS:
        if key in metrics:
            return f"loss {format_value(metrics[key])}"
    return ""


class ProgressBar:
    """Render runtime progress while the block runs; a no-op once it exits."""

    def __init__(self, console: Console | None = None, *, enabled: bool = True) -> None:
        self._console = console or err_console()
        self._enabled = enabled
        self._bar: RichProgress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressBar:
        if not self._enabled:
            return self
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[loss]}"),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=self._console,
            transient=False,
        )
        self._bar.start()
        return self

    def update(self, progress: Progress) -> None:
        """Show one progress report (called by the runtime, from the run's thread)."""
        bar = self._bar
        if bar is None:
            return
        task = self._tasks.get(progress.stage)
        if task is None:
            task = bar.add_task(progress.stage, total=progress.total, loss="")
            self._tasks[progress.stage] = task
        loss = loss_of(progress.metrics)
        fields: dict[str, Any] = {"loss": loss} if loss else {}
        bar.update(task, completed=progress.step, total=progress.total, **fields)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
