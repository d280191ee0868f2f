"""`cookbook runs` and `cookbook plot`: read run directories back."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import ConfigError, CookbookError

from cookbook_cli._output import format_value, out_console
from cookbook_cli._runs import find_runs, headline_metrics, require_run_dir, summarize

__all__ = ["list_runs", "plot_runs"]

_DEFAULT_METRICS = ("train_mean_nll", "loss", "test/nll", "reward")


def list_runs(root: Path) -> None:
    from rich.table import Table

    paths = find_runs(root)
    console = out_console()
    if not paths:
        console.print(f"no runs under {root}")
        return
    table = Table(show_header=True, header_style="bold")
    for column in ("run", "experiment", "status", "steps", "last metrics"):
        table.add_column(column)
    for path in paths:
        shown = str(path.relative_to(root)) if path != root else str(path)
        try:
            s = summarize(path)
        except CookbookError as exc:
            if path == root:
                raise
            table.add_row(shown, "", "damaged", "", " ".join(str(exc).split())[:120])
            continue
        metrics = "  ".join(f"{k}={format_value(v)}" for k, v in headline_metrics(s.last_metrics).items())
        table.add_row(shown, s.experiment, s.status, str(s.steps), metrics)
    console.print(table)


def _default_metric(rows: list[dict[str, Any]]) -> str:
    keys = {k for row in rows for k in row}
    for key in _DEFAULT_METRICS:
        if key in keys:
            return key
    raise ConfigError("no loss metric found in metrics.jsonl; pick one with --metric NAME")


def _plottable(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_output(output: Path) -> None:
    """Refuse an output path that is a directory or lies below a file, before drawing anything."""
    if output.is_dir():
        raise ConfigError(f"--output {str(output)!r} is a directory; name a .png file inside it")
    if output.suffix.lower() != ".png":
        raise ConfigError(f"--output {str(output)!r} must be a .png file")
    for parent in output.parents:
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"--output {str(output)!r} is below {str(parent)!r}, which is a file")


def _expand(patterns: list[str], known: list[str]) -> list[str]:
    """Metric names; a pattern with `*` (e.g. `eval/*`) stands for every matching metric."""
    from fnmatch import fnmatchcase

    out: list[str] = []
    for pattern in patterns:
        if "*" not in pattern:
            out.append(pattern)
            continue
        matched = [k for k in known if fnmatchcase(k, pattern) and k != "step"]
        if not matched:
            raise ConfigError(f"no metric matches --metric {pattern!r}; known: {', '.join(known)}")
        out.extend(m for m in matched if m not in out)
    return out


_SPARKS = "▁▂▃▄▅▆▇█"


def _sparkline(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    if hi == lo:
        return _SPARKS[0] * len(values)
    return "".join(_SPARKS[round((v - lo) / (hi - lo) * (len(_SPARKS) - 1))] for v in values)


def _points(rows: list[dict[str, Any]], metric: str) -> list[tuple[Any, Any]]:
    return [
        (row.get("step", n), row[metric])
        for n, row in enumerate(rows)
        if _plottable(row.get(metric)) and _plottable(row.get("step", n))
    ]


def _text_table(summaries: list[Any], metrics: list[str]) -> None:
    """Per metric and run: points, first/last/min/max and a sparkline over steps (last 60 points)."""
    from rich.table import Table

    table = Table(show_header=True, header_style="bold")
    for column in ("metric", "run", "points", "first", "last", "min", "max", "curve"):
        table.add_column(column)
    for metric in metrics:
        for s in summaries:
            points = _points(s.metrics, metric)
            if not points:
                continue
            ys = [float(y) for _, y in points]
            table.add_row(
                metric, str(s.path), str(len(ys)), format_value(ys[0]), format_value(ys[-1]),
                format_value(min(ys)), format_value(max(ys)), _sparkline(ys[-60:]),
            )
    out_console().print(table)


def plot_runs(run_dirs: list[Path], metrics: list[str], output: Path, *, text: bool = False) -> None:
    """One chart per metric, one line per run; metadata lists the series drawn. `text` prints a table instead."""
    summaries = [summarize(require_run_dir(p).path) for p in run_dirs]
    all_rows = [row for s in summaries for row in s.metrics]
    if not all_rows:
        raise ConfigError("the runs have no metrics.jsonl rows to plot yet")
    known = sorted({k for row in all_rows for k in row})
    metrics = _expand(metrics, known) if metrics else [_default_metric(all_rows)]
    for metric in metrics:
        if metric not in known:
            from cookbook_runtime.errors import UnknownNameError

            raise UnknownNameError("metric", metric, known)
        if not any(_plottable(row.get(metric)) for row in all_rows):
            raise ConfigError(f"metric {metric!r} has no finite numeric values to plot; pick another with --metric")
    if text:
        _text_table(summaries, metrics)
        return
    _check_output(output)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(metrics), 1, figsize=(8, 3.2 * len(metrics)), squeeze=False)
    series: list[str] = []
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes[:, 0], metrics, strict=True):
        for i, s in enumerate(summaries):
            points = _points(s.metrics, metric)
            if not points:
                continue
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, label=str(s.path), color=colors[i % len(colors)], linewidth=1.8)
            series.append(f"{s.path}:{metric}")
        ax.set_title(metric)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize="small")
    fig.tight_layout()
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(output, format="png", dpi=100, metadata={"Description": json.dumps({"series": series})})
    except OSError as exc:
        raise ConfigError(f"cannot write --output {str(output)!r} ({exc.strerror or exc}); choose another path") from None
    finally:
        plt.close(fig)
    out_console().print(f"wrote {output} ({len(series)} series)")
