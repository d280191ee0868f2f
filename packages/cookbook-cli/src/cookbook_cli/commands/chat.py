"""`cookbook sample` (chat with a run) and `cookbook serve` (HTTP server)."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

from cookbook_cli._group import USAGE_EXIT, fail
from cookbook_cli._output import out_console

__all__ = ["sample_run", "serve_local"]


def sample_run(
    run_dir: Path,
    prompt: str,
    *,
    system: str | None,
    max_tokens: int,
    temperature: float,
    manifest: str | None,
) -> None:
    from cookbook_runtime.train.types import SamplingParams

    from cookbook_cli._chat import RunChat

    chat = RunChat(run_dir, manifest=manifest)
    params = SamplingParams(max_tokens=max_tokens, temperature=temperature)
    reply = asyncio.run(chat.ask(prompt, system=system, params=params))
    console = out_console()
    console.print(f"[bold]user:[/bold] {prompt}", markup=True, highlight=False)
    console.print("[bold]assistant:[/bold] ", end="", markup=True)
    console.print(reply.text, markup=False, highlight=False)


def serve_local(
    host: str, port: int, model: str | None, *, model_name: str | None = None, state_dir: Path | None = None
) -> None:
    import typer

    _check_port_free(host, port)  # stdlib only: a bad port is reported even without the extra
    try:
        server = importlib.import_module("cookbook_adapters.server")
        serve = server.serve
    except (ImportError, AttributeError):
        fail("cookbook serve needs the server extra: pip install 'cookbook-adapters[server]'")
        raise typer.Exit(USAGE_EXIT) from None
    from cookbook_runtime.errors import ConfigError

    if state_dir is not None and state_dir.exists() and not state_dir.is_dir():
        raise ConfigError(f"--state-dir {str(state_dir)!r} is a file; pass a directory")
    if model_name is not None and model is None:
        raise ConfigError("--model-name names the model given with --model; pass --model too")
    kwargs: dict[str, object] = {"state_dir": state_dir}
    if model_name is not None:
        kwargs["model_name"] = model_name
    serve(host=host, port=port, model=model, **kwargs)


def _check_port_free(host: str, port: int) -> None:
    """Bind `host:port` once before loading any model, so a busy port or bad host is one line."""
    import socket

    from cookbook_runtime.errors import ConfigError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"--host {host!r} does not resolve ({exc}); use an address such as 127.0.0.1") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick a free port with --port"
            ) from None
