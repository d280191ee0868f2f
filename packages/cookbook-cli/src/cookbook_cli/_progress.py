"""A rich progress bar fed by the runtime's progress reports.

Training loops call `report_progress(Progress(stage, step, total, metrics))` once per
step; `ProgressBar` listens for the duration of a `with` block and shows one task
per stage: a bar, step/total, the loss, and the time left.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from cookbook_runtime.framework import Progress, add_progress_listener

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
        self._remove: Any = None

    def __enter__(self) -> ProgressBar:
        if self._enabled:
            self._remove = add_progress_listener(self.update)
        return self

    def _start(self) -> RichProgress:
        """Draw the bar on the first report, so a run that fails its checks prints nothing but its error."""
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
        return self._bar

    def update(self, progress: Progress) -> None:
        """Show one progress report (called by the runtime, from the run's thread)."""
        bar = self._bar or self._start()
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
        if self._remove is not None:
            self._remove()
            self._remove = None
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
