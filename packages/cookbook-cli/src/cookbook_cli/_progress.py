"""A rich progress bar fed by the runtime's progress reports.

Training loops call `ctx.report_progress(Progress(stage, step, total, metrics))` once
per step; the CLI passes `ProgressBar.update` as the run's progress listener
(`Runtime.arun_spec(..., progress=bar.update)`), and the bar shows one task per stage
while its `with` block runs: a bar, step/total, the loss, and the time left.

While it runs, the progress bars of `datasets` and `huggingface_hub` (tqdm, drawn
over ours when the hf adapter prepares a dataset) are off, unless the user's
environment says otherwise (`HF_DATASETS_DISABLE_PROGRESS_BARS=0`).
"""

from __future__ import annotations

import os
import sys
import warnings
from types import TracebackType
from typing import TYPE_CHECKING, Any

from cookbook_runtime.framework import Progress

from cookbook_cli._output import err_console, format_value

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

__all__ = ["LIBRARY_BAR_SWITCHES", "ProgressBar", "loss_of"]

LIBRARY_BAR_SWITCHES = {
    "HF_DATASETS_DISABLE_PROGRESS_BARS": ("datasets", "datasets.utils.tqdm"),
    "HF_HUB_DISABLE_PROGRESS_BARS": ("huggingface_hub", "huggingface_hub.utils.tqdm"),
}
"""Environment switch -> (library, module with `disable_progress_bars`/`enable_progress_bars`)."""

_LOSS_KEYS = ("loss", "train_mean_nll", "loss:mean", "loss:sum", "test/nll")


def loss_of(metrics: Any) -> str:
    """The loss to show for a step ('' when the step reported none)."""
    for key in _LOSS_KEYS:
        if key in metrics:
            return f"loss {format_value(metrics[key])}"
    return ""


class _LibraryBarsOff:
    """Turns the libraries' own bars off: by environment before they are imported, by call after."""

    def __init__(self) -> None:
        self._set_env: list[str] = []
        self._disabled: list[object] = []

    def __enter__(self) -> None:
        for env, (library, module_name) in LIBRARY_BAR_SWITCHES.items():
            if env in os.environ:  # the user's explicit choice wins
                continue
            os.environ[env] = "1"  # read when the library is first imported
            self._set_env.append(env)
            module = sys.modules.get(module_name) if library in sys.modules else None
            if module is not None:  # already imported: its flag is set; flip it now
                module.disable_progress_bars()
                self._disabled.append(module)

    def __exit__(self, *exc: object) -> None:
        for env in self._set_env:
            os.environ.pop(env, None)
        for module in self._disabled:
            with warnings.catch_warnings():
                # huggingface_hub froze HF_HUB_DISABLE_PROGRESS_BARS at import if it was imported
                # under an earlier bar of ours; it then declines (and warns) to turn bars back on.
                warnings.filterwarnings("ignore", "Cannot enable progress bars", UserWarning)
                module.enable_progress_bars()  # type: ignore[attr-defined]
        self._set_env.clear()
        self._disabled.clear()


class ProgressBar:
    """Render runtime progress while the block runs; a no-op once it exits."""

    def __init__(self, console: Console | None = None, *, enabled: bool = True) -> None:
        self._console = console or err_console()
        self._enabled = enabled
        self._bar: RichProgress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._library_bars = _LibraryBarsOff()
        self._active = False

    def __enter__(self) -> ProgressBar:
        if self._enabled:
            self._active = True
            self._library_bars.__enter__()
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
        if not self._active:
            return
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
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if self._active:
            self._active = False
            self._library_bars.__exit__()
