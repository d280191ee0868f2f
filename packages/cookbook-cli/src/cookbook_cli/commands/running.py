"""`cookbook spec`, `run` and `run-spec`: configure a recipe, validate, run, report."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import RunDir, check_resumable, inspect_run_dir
from cookbook_runtime.ir import Experiment
from cookbook_runtime.runtime import Recipe, RunResult, Runtime, get_recipe, redact
from cookbook_runtime.user_files import load_json
from pydantic import BaseModel, ValidationError

from cookbook_cli import _state
from cookbook_cli._group import USAGE_EXIT, fail
from cookbook_cli._inputs import build_config_values, deep_merge, parse_port_overrides
from cookbook_cli._output import (
    bindings_table,
    err_console,
    format_value,
    out_console,
    print_json,
    validation_message,
)
from cookbook_cli._runs import headline_metrics, summarize

__all__ = ["RunOptions", "print_spec", "run_dir_of", "run_recipe", "run_spec_file"]


@dataclass(frozen=True)
class RunOptions:
    """How to run: port overrides, dry run, and what to do with an existing run directory."""

    ports: list[str] = field(default_factory=list)
    dry_run: bool = False
    if_exists: str = "resume"
    yes: bool = False


def _configure(
    recipe: Recipe, runtime: Runtime, overrides: list[str], config_file: Path | None
) -> BaseModel:
    """The recipe's validated config: manifest defaults < config file < overrides."""
    values = build_config_values(recipe.Config, overrides, config_file)
    merged = deep_merge(recipe.defaults_for(runtime.profile()), values)
    try:  # validated here first so that a bad secret value is never echoed back
        recipe.Config.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, prefix=f"recipe {recipe.name!r}: ")) from None
    return runtime.config(recipe, merged)


def print_spec(name: str, overrides: list[str], *, config_file: Path | None, manifest: str) -> None:
    recipe = get_recipe(name)
    runtime = Runtime(manifest)
    spec = runtime.build_spec(recipe, _configure(recipe, runtime, overrides, config_file))
    print_json(spec.model_dump(mode="json"))


def run_dir_of(spec: Experiment) -> Path:
    """Where the runtime puts this run (the spec's log path, else runs/<id>)."""
    if spec.outputs.log_path:
        return Path(spec.outputs.log_path).expanduser()
    return Path("runs") / spec.id


def _prepare_run_dir(path: Path, spec: Experiment, if_exists: str, yes: bool) -> None:
    """Check --if-exists against the run directory; the runtime deletes nothing until its checks pass.

    Only a directory carrying the run marker counts as an existing run; any other
    non-empty path is refused by `inspect_run_dir` whatever --if-exists says.
    """
    if inspect_run_dir(path) != "run":
        return
    if if_exists == "resume":
        check_resumable(RunDir(path), spec)  # the runtime checks again; the note must not precede an error
        if _state.verbosity() >= 0:
            err_console().print(f"resuming run in {path}", highlight=False)
        return
    if if_exists == "fail":
        raise ConfigError(
            f"run directory {str(path)!r} already exists; pass --if-exists resume or overwrite, "
            "or choose another log_path"
        )
    if not yes:
        import typer

        if not sys.stdin.isatty():
            fail(f"refusing to delete {str(path)!r} without confirmation; pass --yes to overwrite it")
            raise typer.Exit(USAGE_EXIT)
        if not typer.confirm(f"Delete {path} and start over?", default=False):
            raise typer.Abort()


def _dry_run(runtime: Runtime, spec: Experiment) -> None:
    planned = runtime.validate(spec)
    print_json(spec.model_dump(mode="json"))
    console = err_console()
    console.print(bindings_table(runtime.bindings(spec.backend), title=f"ports (manifest '{spec.backend.manifest}')"))
    stages = ", ".join(p.spec.key for p in planned)
    console.print(f"dry run: {len(planned)} stage(s) valid ({stages}); nothing was run", highlight=False)


_HELD_OUT = (  # a stage's `first_test_<key>` / `final_test_<key>` outputs (CONVENTIONS.md); percent or difference
    ("reward", "reward", False),  # rl_train
    ("pair_accuracy", "pair accuracy", False),  # dpo_train
    ("accuracy", "reward accuracy", False),  # reward_model_train
    ("teacher_kl", "teacher KL", True),  # distill_on_policy, distill_off_policy
)


def _change(first: float, final: float, relative: bool) -> str:
    if relative:
        return f"{(final - first) / first * 100 if first else 0.0:+.0f}%"
    return f"{final - first:+.3f}"


def _held_out_changes(
    nll: list[float], outputs: dict[str, dict[str, Any]], envs: dict[str, Any] | None = None
) -> list[tuple[str, float, float, str]]:
    """(what, before, after, change) of every held-out score a run measured at its start and end.

    The held-out NLL from metrics.jsonl first, then each stage's first/final pair in pipeline order.
    `envs` (stage key -> its `env` option) names an RL reward for what gave it: an env's reward,
    or a reward model's score (rlhf), which can rise by reward hacking.
    """
    envs = envs or {}
    rows: list[tuple[str, float, float, str]] = []
    if len(nll) >= 2 and nll[0] > 0:
        rows.append(("NLL", nll[0], nll[-1], _change(nll[0], nll[-1], True)))
    for key, out in outputs.items():
        for name, label, relative in _HELD_OUT:
            first, final = out.get(f"first_test_{name}"), out.get(f"final_test_{name}")
            if isinstance(first, int | float) and isinstance(final, int | float):
                if name == "reward" and envs.get(key) == "reward_model":
                    label = "reward-model score"
                rows.append((f"{label} ({key})", float(first), float(final), _change(first, final, relative)))
    return rows


def _report(result: RunResult) -> None:
    console = out_console()
    nll: list[float] = []
    if result.run_dir is not None:
        console.print(f"[bold]run directory:[/bold] {result.run_dir}", highlight=False)
        summary = summarize(result.run_dir)
        shown = headline_metrics(summary.last_metrics, limit=6)
        if shown:
            text = "  ".join(f"{k}={format_value(v)}" for k, v in shown.items())
            console.print(f"[bold]last metrics[/bold] (step {summary.steps}): {text}", highlight=False)
        nll = [float(m["test/nll"]) for m in summary.metrics if isinstance(m.get("test/nll"), int | float)]
    envs = {s.key: s.options.get("env") for s in result.experiment.pipeline}
    changes = _held_out_changes(nll, result.outputs, envs)
    if changes:
        console.print("[bold]held-out, before -> after:[/bold]", highlight=False)
        width = max(len(what) for what, *_ in changes)
        before = [f"{first:.3f}" for _, first, _, _ in changes]
        before_width = max(map(len, before))
        for (what, _, final, change), first in zip(changes, before, strict=True):
            console.print(
                f"  {what:<{width}}  {first:>{before_width}} -> {final:.3f} ({change})", highlight=False, markup=False
            )
    names = {s.key: s.name for s in result.experiment.pipeline}
    for key, outputs in result.outputs.items():
        if names.get(key) == "evaluate_exact_match" and isinstance(outputs.get("total"), int):
            console.print(
                f"[bold]held-out exact match:[/bold] {float(outputs['exact_match']):.2f} "
                f"({outputs['correct']}/{outputs['total']})",
                highlight=False,
            )
    for key, outputs in result.outputs.items():
        if names.get(key) == "evaluate" and isinstance(outputs.get("total_samples"), int):
            first_k, value = next(iter(dict(outputs.get("pass_at_k") or {"1": float("nan")}).items()))
            console.print(
                f"[bold]eval {outputs.get('task')}[/bold] ({key}): pass@{first_k}: {float(value):.2f} "
                f"({outputs['correct_samples']}/{outputs['total_samples']} samples correct)",
                highlight=False,
            )
    for key, outputs in result.outputs.items():
        # A `sample` stage's outputs, or any stage returning the same shape (CONVENTIONS.md).
        if "completion" not in outputs or (names.get(key) != "sample" and "prompt" not in outputs):
            continue
        out: dict[str, Any] = redact(dict(outputs))
        console.print(f"[bold]prompt:[/bold] {out.get('prompt', '')}", highlight=False, markup=True)
        console.print("[bold]answer:[/bold] ", end="", markup=True)
        console.print(str(out["completion"]), markup=False, highlight=False)


def _execute(runtime: Runtime, spec: Experiment, config: BaseModel | None, options: RunOptions) -> None:
    if options.dry_run:
        _dry_run(runtime, spec)
        return
    runtime.validate(spec)
    _prepare_run_dir(run_dir_of(spec), spec, options.if_exists, options.yes)
    from cookbook_cli._progress import ProgressBar

    with ProgressBar(enabled=_state.verbosity() >= 0) as bar:
        result = asyncio.run(
            runtime.arun_spec(spec, config=config, if_exists=options.if_exists, progress=bar.update)  # type: ignore[arg-type]
        )
    _report(result)


def run_recipe(
    name: str, overrides: list[str], *, config_file: Path | None, manifest: str, options: RunOptions
) -> None:
    recipe = get_recipe(name)
    runtime = Runtime(manifest, overrides=parse_port_overrides(options.ports))
    config = _configure(recipe, runtime, overrides, config_file)
    spec = runtime.build_spec(recipe, config)
    _execute(runtime, spec, config, options)


def run_spec_file(path: Path, *, manifest: str | None, options: RunOptions) -> None:
    raw = load_json(path, "spec file", hint="write one with 'cookbook spec RECIPE > exp.json'")
    try:
        spec = Experiment.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, prefix=f"spec file {str(path)!r}: ")) from None
    if manifest is not None:
        spec = spec.model_copy(update={"backend": spec.backend.model_copy(update={"manifest": manifest})})
    runtime = Runtime(spec.backend.manifest, overrides=parse_port_overrides(options.ports))
    _execute(runtime, runtime.bind(spec), None, options)
