"""The `cookbook` command line: discover, configure, run and inspect recipes.

This module only declares commands; each command imports its implementation (and
with it pydantic, the runtime, rich tables, matplotlib, torch...) when it runs, so
`cookbook --help` stays fast.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cookbook_cli import __version__, _state
from cookbook_cli._group import CookbookGroup

__all__ = ["IfExists", "app", "main"]

app = typer.Typer(
    name="cookbook",
    cls=CookbookGroup,
    help="Post-train language models with cookbook recipes, locally or on Tinker.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # tracebacks could show locals holding secrets
    rich_markup_mode=None,  # plain help: rich help formatting costs ~0.3 s of imports
    context_settings={"help_option_names": ["-h", "--help"]},
)


class IfExists(StrEnum):
    """What `cookbook run` does when the run directory already exists."""

    resume = "resume"
    fail = "fail"
    overwrite = "overwrite"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cookbook {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More logging (-vv for debug); show tracebacks.")
    ] = 0,
    quiet: Annotated[int, typer.Option("--quiet", "-q", count=True, help="Less output: errors only.")] = 0,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Post-train language models with cookbook recipes, locally or on Tinker."""
    _state.configure_logging(verbose, quiet)


# -- shell completion of names (imports the runtime only when a shell asks) -------------
def _complete_recipe(incomplete: str) -> list[str]:
    from cookbook_runtime.runtime import recipe_names

    return [name for name in recipe_names() if name.startswith(incomplete)]


def _complete_manifest(incomplete: str) -> list[str]:
    from cookbook_runtime.ports import available_manifests

    return [name for name in available_manifests() if name.startswith(incomplete)]


# -- shared options --------------------------------------------------------------------
RecipeArg = Annotated[
    str, typer.Argument(help="Recipe name (see 'cookbook recipes').", autocompletion=_complete_recipe)
]
ManifestOpt = Annotated[
    str,
    typer.Option(
        "--manifest",
        "-m",
        help="Port wiring: a manifest name (local, tinker, test, yours) or a .toml file.",
        autocompletion=_complete_manifest,
    ),
]
OverridesArg = Annotated[
    list[str] | None,
    typer.Argument(help="Config overrides as key=value; dots for nested fields (training.learning_rate=1e-4).",
                   show_default=False),
]
ConfigOpt = Annotated[
    Path | None, typer.Option(
        "--config", "-c",
        help="Config file (TOML, YAML or JSON); overrides win over it. Mappings merge into the recipe's "
        "defaults key by key; an empty one ({}) replaces the default.",
    )
]
PortOpt = Annotated[
    list[str] | None, typer.Option("--port", "-p", help="Wire a port to an adapter: PORT=ADAPTER (repeatable).")
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Validate, print the resolved spec and port wiring; run nothing.")
]
IfExistsOpt = Annotated[
    IfExists, typer.Option("--if-exists", help="When the run directory exists: resume it, fail, or overwrite it.")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Answer yes to confirmations (for scripts).")]


# -- discovery ---------------------------------------------------------------------------
@app.command()
def recipes() -> None:
    """List the installed recipes: name, kind and description."""
    from cookbook_cli.commands.catalog import list_recipes

    list_recipes()


@app.command()
def describe(
    recipe: RecipeArg,
    manifest: ManifestOpt = "local",
    as_json: Annotated[bool, typer.Option("--json", help="Print the config's JSON Schema instead.")] = False,
) -> None:
    """Show every config field of a recipe with its type, default and description."""
    from cookbook_cli.commands.catalog import describe_recipe

    describe_recipe(recipe, manifest=manifest, as_json=as_json)


@app.command()
def manifests() -> None:
    """List built-in and user manifests with their port wiring."""
    from cookbook_cli.commands.catalog import list_manifests

    list_manifests()


# -- specs and runs ----------------------------------------------------------------------
@app.command()
def spec(
    recipe: RecipeArg,
    overrides: OverridesArg = None,
    config: ConfigOpt = None,
    manifest: ManifestOpt = "local",
) -> None:
    """Print the experiment spec (JSON) a recipe builds; save it with '> exp.json'."""
    from cookbook_cli.commands.running import print_spec

    print_spec(recipe, overrides or [], config_file=config, manifest=manifest)


@app.command("run-spec")
def run_spec(
    spec_file: Annotated[Path, typer.Argument(help="An experiment spec written by 'cookbook spec'.")],
    manifest: Annotated[
        str | None, typer.Option("--manifest", "-m", help="Use this manifest instead of the spec's.")
    ] = None,
    port: PortOpt = None,
    dry_run: DryRunOpt = False,
    if_exists: IfExistsOpt = IfExists.resume,
    yes: YesOpt = False,
) -> None:
    """Run an experiment spec file."""
    from cookbook_cli.commands.running import RunOptions, run_spec_file

    run_spec_file(
        spec_file,
        manifest=manifest,
        options=RunOptions(ports=port or [], dry_run=dry_run, if_exists=if_exists.value, yes=yes),
    )


@app.command()
def run(
    recipe: RecipeArg,
    overrides: OverridesArg = None,
    config: ConfigOpt = None,
    manifest: ManifestOpt = "local",
    port: PortOpt = None,
    dry_run: DryRunOpt = False,
    if_exists: IfExistsOpt = IfExists.resume,
    yes: YesOpt = False,
) -> None:
    """Run a recipe: configure it, train, and print where the results are."""
    from cookbook_cli.commands.running import RunOptions, run_recipe

    run_recipe(
        recipe,
        overrides or [],
        config_file=config,
        manifest=manifest,
        options=RunOptions(ports=port or [], dry_run=dry_run, if_exists=if_exists.value, yes=yes),
    )


# -- inspection ----------------------------------------------------------------------------
@app.command()
def runs(
    directory: Annotated[Path, typer.Argument(help="Folder holding run directories.")] = Path("runs"),
) -> None:
    """List runs with their status, steps done and last metrics."""
    from cookbook_cli.commands.results import list_runs

    list_runs(directory)


@app.command()
def plot(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run directories to overlay.")],
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            help="Metric to plot (repeatable; '*' patterns such as 'eval/*' or 'test/*'; default: the training loss).",
        ),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="PNG file to write.")] = Path("metrics.png"),
    text: Annotated[
        bool, typer.Option("--text", help="Print a table with a sparkline per metric instead of writing a PNG.")
    ] = False,
) -> None:
    """Plot metrics.jsonl of one or more runs as line charts in a PNG (or a text table with --text)."""
    from cookbook_cli.commands.results import plot_runs

    plot_runs(run_dirs, metric or [], output, text=text)


def _complete_task(incomplete: str) -> list[str]:
    from cookbook_runtime.train.eval import evaluator_kind_names, task_names

    names = [*task_names(), *(f"{kind}:" for kind in evaluator_kind_names())]
    return [name for name in names if name.startswith(incomplete)]


@app.command("eval")
def eval_(
    target: Annotated[
        str, typer.Argument(help="A run directory, a sampler checkpoint path (with --model), or base:MODEL.")
    ],
    task: Annotated[
        str,
        typer.Option("--task", "-t", help="Eval task: a shipped name (tiny_chat, arithmetic), a .jsonl file, or "
                     "inspect:MODULE:TASK / inspect:FILE.py[@TASK] (needs cookbook-adapters[inspect]).",
                     autocompletion=_complete_task),
    ],
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Evaluate only the first N items.")] = None,
    k: Annotated[
        list[int] | None, typer.Option("--k", "-k", min=1, help="Report pass@K (repeatable; default 1).")
    ] = None,
    samples: Annotated[
        int | None, typer.Option("--samples", min=1, help="Samples per item (default: the largest K).")
    ] = None,
    temperature: Annotated[
        float | None, typer.Option("--temperature", min=0.0, help="0 is greedy (default: 0 for one sample, else 1).")
    ] = None,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="Cap on each reply's tokens.")] = 64,
    seed: Annotated[int, typer.Option("--seed", help="Base seed; item i samples with seed + i.")] = 0,
    compare: Annotated[
        list[str] | None, typer.Option("--compare", help="Another run or checkpoint to evaluate beside it (repeatable).")
    ] = None,
    manifest: Annotated[
        str | None, typer.Option("--manifest", "-m", help="Manifest (default: the run's, else local).")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Base model of a checkpoint path.")] = None,
    renderer: Annotated[str | None, typer.Option("--renderer", help="Renderer (default: the run's or the model's).")] = None,
    no_write: Annotated[bool, typer.Option("--no-write", help="Do not write eval/<task>.json into the run.")] = False,
) -> None:
    """Score a run (or checkpoint) on an eval task: pass@k, per-item results in RUN/eval/."""
    from cookbook_cli.commands.evaluation import EvalRequest, eval_command

    ks = k or [1]
    samples_n = samples if samples is not None else max(ks)
    eval_command(
        EvalRequest(
            target=target,
            task=task,
            limit=limit,
            ks=ks,
            samples=samples,
            temperature=temperature if temperature is not None else (0.0 if samples_n == 1 else 1.0),
            max_tokens=max_tokens,
            seed=seed,
            compare=compare or [],
            manifest=manifest,
            model=model,
            renderer=renderer,
            write=not no_write,
        )
    )


@app.command()
def sample(
    run_dir: Annotated[Path, typer.Argument(help="Run directory with a checkpoint.")],
    prompt: Annotated[str, typer.Argument(help="What to ask the model.")],
    system: Annotated[str | None, typer.Option("--system", help="Optional system message.")] = None,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="Cap on generated tokens.")] = 128,
    temperature: Annotated[float, typer.Option("--temperature", min=0.0, help="0 samples greedily.")] = 0.0,
    manifest: Annotated[
        str | None, typer.Option("--manifest", "-m", help="Use this manifest instead of the run's.")
    ] = None,
) -> None:
    """Chat with a run's last checkpoint through its renderer."""
    from cookbook_cli.commands.chat import sample_run

    sample_run(run_dir, prompt, system=system, max_tokens=max_tokens, temperature=temperature, manifest=manifest)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")] = 8000,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="Base model to serve: an HF model directory, an HF cache name (default: the tiny model)."
        ),
    ] = None,
    model_name: Annotated[
        str | None,
        typer.Option(
            "--model-name",
            help="Serve --model under this name (e.g. Qwen/Qwen3-8B for a local copy), as clients will ask for it.",
        ),
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            help="Where runs, checkpoints and their tinker:// paths are kept across restarts "
            "(default: ~/.local/share/cookbook/server, or under $XDG_DATA_HOME).",
        ),
    ] = None,
) -> None:
    """Serve the local engine over a Tinker-compatible HTTP API."""
    from cookbook_cli.commands.chat import serve_local

    serve_local(host, port, model, model_name=model_name, state_dir=state_dir)


@app.command()
def deploy(
    target: Annotated[
        str,
        typer.Argument(help="A registered model (NAME, NAME:VERSION, NAME:STAGE), a run directory or a sampler folder."),
    ],
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")] = 8000,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on (no authentication).")] = "127.0.0.1",
    canary: Annotated[
        str | None, typer.Option("--canary", help="Another version (NAME:VERSION) taking --weight of the traffic.")
    ] = None,
    weight: Annotated[float, typer.Option("--weight", help="Share of requests the canary serves (0..1).")] = 0.1,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the canary split.")] = 0,
    name: Annotated[str | None, typer.Option("--name", help="Model name clients send (default: the model's).")] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Base model of a sampler folder (default: read from it).")
    ] = None,
    manifest: ManifestOpt = "local",
    no_feedback: Annotated[
        bool, typer.Option("--no-feedback", help="Do not log requests to the manifest's feedback store.")
    ] = False,
    stop: Annotated[
        bool, typer.Option("--stop", help="Stop the endpoint a run's deploy stage started (TARGET is the run).")
    ] = False,
) -> None:
    """Serve a model on an OpenAI-compatible endpoint (/v1/chat/completions, /v1/completions)."""
    if stop:
        from cookbook_cli.commands.deploy import stop_command

        stop_command(Path(target), manifest)
        return
    from cookbook_cli.commands.deploy import DeployRequest, deploy_command

    deploy_command(
        DeployRequest(
            target=target, host=host, port=port, canary=canary, weight=weight, seed=seed, name=name,
            base_model=model, manifest=manifest, log_feedback=not no_feedback,
        )
    )


# -- the model registry -------------------------------------------------------------------
models_app = typer.Typer(
    name="models",
    help="Registered model versions: list, show, promote, lineage, compare.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(models_app)

ModelSpecArg = Annotated[str, typer.Argument(help="NAME, NAME:VERSION or NAME:STAGE (e.g. chat:3, chat:production).")]
RegistryManifestOpt = Annotated[
    str, typer.Option("--manifest", "-m", help="Manifest whose 'registry' port is read (default: local).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@models_app.command("list")
def models_list(
    name: Annotated[str | None, typer.Argument(help="Only this model's versions.")] = None,
    stage: Annotated[
        str | None, typer.Option("--stage", help="Only versions in this stage (experiment, staging, production, archived).")
    ] = None,
    as_json: JsonOpt = False,
    manifest: RegistryManifestOpt = "local",
    port: PortOpt = None,
) -> None:
    """List registered versions: stage, base model, lineage and headline metrics."""
    from cookbook_cli.commands.models import list_models

    list_models(name, stage=stage, as_json=as_json, manifest=manifest, ports=port or [])


@models_app.command("show")
def models_show(
    model: ModelSpecArg, as_json: JsonOpt = False, manifest: RegistryManifestOpt = "local", port: PortOpt = None
) -> None:
    """Show one version: metrics, artifacts (sha256, size), stage history and deployments."""
    from cookbook_cli.commands.models import show_model

    show_model(model, as_json=as_json, manifest=manifest, ports=port or [])


@models_app.command("promote")
def models_promote(
    model: Annotated[str, typer.Argument(help="NAME:VERSION or NAME:STAGE to move.")],
    to: Annotated[str, typer.Option("--to", help="Stage to move to: staging, production or archived.")],
    reason: Annotated[str, typer.Option("--reason", help="Note kept in the version's history.")] = "",
    manifest: RegistryManifestOpt = "local",
    port: PortOpt = None,
) -> None:
    """Move a version to another stage (production archives the previous production version)."""
    from cookbook_cli.commands.models import promote_model

    promote_model(model, to, reason=reason, manifest=manifest, ports=port or [])


@models_app.command("lineage")
def models_lineage(
    model: ModelSpecArg, as_json: JsonOpt = False, manifest: RegistryManifestOpt = "local", port: PortOpt = None
) -> None:
    """Show where a version came from (its ancestors) and what was trained from it."""
    from cookbook_cli.commands.models import show_lineage

    show_lineage(model, as_json=as_json, manifest=manifest, ports=port or [])


@models_app.command("compare")
def models_compare(
    a: Annotated[str, typer.Argument(help="First version, NAME:VERSION or NAME:STAGE.")],
    b: Annotated[str, typer.Argument(help="Second version.")],
    as_json: JsonOpt = False,
    manifest: RegistryManifestOpt = "local",
    port: PortOpt = None,
) -> None:
    """Compare two versions: metrics side by side, config changes, whether the weights differ."""
    from cookbook_cli.commands.models import compare_versions

    compare_versions(a, b, as_json=as_json, manifest=manifest, ports=port or [])


def main() -> None:
    """Console-script entry point.

    After Ctrl-C the run is already recorded as interrupted (and resumable), so the
    process leaves at once with 130: tearing down torch and the rest of a training
    interpreter (and waiting for an in-flight step) would take seconds more.
    """
    try:
        app(prog_name="cookbook")
    except SystemExit as exc:
        if exc.code == _INTERRUPTED_EXIT:
            import os
            import sys

            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(_INTERRUPTED_EXIT)
        raise


_INTERRUPTED_EXIT = 130  # as cookbook_cli._group.INTERRUPTED_EXIT, without importing it here
