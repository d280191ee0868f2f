"""Start the server: blocking for `cookbook serve`, in a background thread for tests.

Binds to 127.0.0.1 unless told otherwise: the server has no authentication, so
exposing it beyond this machine must be a deliberate choice.

A state directory holds what must survive a restart: `server.db` (sessions, runs,
checkpoints and their `tinker://` paths, see `_store`) and, for the default local
backend, `checkpoints/` (the saved files), and `exports/` (external weights exports,
made by `save_weights_external`). `serve` always has one (default
`$COOKBOOK_DATA_DIR/server`, else `$XDG_DATA_HOME/cookbook/server`, else
`~/.local/share/cookbook/server`); `running_server` keeps state in memory unless given one.
One server at a time may use a state directory.
"""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from cookbook_runtime.errors import BackendError, ConfigError
from cookbook_runtime.ports import ServiceClient

from cookbook_adapters._data_dir import cookbook_data_dir
from cookbook_adapters.server._app import create_app
from cookbook_adapters.server._http import publish
from cookbook_adapters.server._state import ServerState
from cookbook_adapters.server._store import Store, sweep_unrecorded

__all__ = ["RunningServer", "default_state_dir", "running_server", "serve"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "cookbook/tiny-chat"


_DB = "server.db"
_CHECKPOINTS = "checkpoints"
_EXPORTS = "exports"
_LOCK = "server.lock"


def default_state_dir() -> Path:
    """`$COOKBOOK_DATA_DIR/server`, else `$XDG_DATA_HOME/cookbook/server`, else `~/.local/share/cookbook/server`."""
    return cookbook_data_dir() / "server"


def _default_backend(checkpoint_root: Path | None, aliases: dict[str, str]) -> ServiceClient:
    from cookbook_adapters.local import LocalServiceClient

    backend: ServiceClient = LocalServiceClient(root=checkpoint_root, models=aliases)
    return backend


def _lock(state_dir: Path, stack: ExitStack) -> None:
    """Hold `state_dir` for this process (released on exit, even after SIGKILL)."""
    try:
        import fcntl
    except ImportError:  # no advisory locks on this platform: one server per directory is on the user
        return
    handle = stack.enter_context((state_dir / _LOCK).open("a"))
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise ConfigError(
            f"another server is using state directory {str(state_dir)!r}; "
            "stop it or pass another --state-dir"
        ) from None


def _open_state(
    stack: ExitStack,
    backend: ServiceClient | None,
    models: list[str],
    state_dir: Path | None,
    session_timeout_s: float,
    aliases: dict[str, str] | None = None,
) -> ServerState:
    """The server's state over `backend` (default: the local engine), durable under `state_dir`.

    Each of `models` is resolved (its tokenizer loaded) before anything is written,
    so a bad model name or directory fails with nothing created.
    """
    if state_dir is not None:
        state_dir = state_dir.expanduser()
    checkpoint_root = (state_dir / _CHECKPOINTS).resolve() if state_dir is not None else None
    owns_backend = backend is None
    if backend is None:
        backend = _default_backend(checkpoint_root, aliases or {})
    for model in models:
        backend.get_tokenizer(model)
    tokenizers = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cookbook-server-")))
    store: Store | None = None
    export_root: Path | None = None
    if state_dir is not None:
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create state directory {str(state_dir)!r} ({exc.strerror or exc}); "
                "pass a writable --state-dir"
            ) from None
        _lock(state_dir, stack)
        store = Store(state_dir / _DB)
        export_root = (state_dir / _EXPORTS).resolve()
    state = ServerState(
        backend,
        tokenizers,
        models,
        owns_backend=owns_backend,
        session_timeout_s=session_timeout_s,
        store=store,
        export_root=export_root,
    )
    if export_root is not None:  # exports a killed server never recorded, and staging leftovers
        sweep_unrecorded(export_root, [saved.backend_path for saved in state.paths.values()])
    if owns_backend and checkpoint_root is not None:
        # Files of saves a killed server never recorded: no client was given their paths.
        recorded = [saved.backend_path for saved in state.paths.values()]
        sweep_unrecorded(checkpoint_root, recorded)
    return state


def _announce(state: ServerState, models: list[str]) -> None:
    """Load each named model's tokenizer now (an unknown model fails at start, not at first use)
    and publish it, so SDK clients resolve the name offline before any training client exists."""
    for model in models:
        publish(state.backend.get_tokenizer(model), state.tokenizer_root, model)


def _config(state: ServerState, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(state),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    model: str | None = None,
    *,
    backend: ServiceClient | None = None,
    session_timeout_s: float = 600.0,
    state_dir: Path | None = None,
    model_name: str | None = None,
) -> None:
    """Serve the Tinker API on `host:port` until interrupted, over `backend` (default: the local engine).

    `model` is the model advertised by `get_server_capabilities` (default `cookbook/tiny-chat`);
    its tokenizer is loaded (and published) before serving, so a bad name fails at once.
    Sessions without a heartbeat for `session_timeout_s` are finished and their models freed.
    Runs and checkpoints are kept under `state_dir` (default `default_state_dir()`).
    `model_name` serves `model` (a local HF model directory or HF cache name) under that
    name, so SDK code that knows models by name (tinker-cookbook's renderer lookup)
    finds it; it needs the default local backend.
    """
    aliases: dict[str, str] = {}
    models = [model or DEFAULT_MODEL]
    if model_name is not None:
        if backend is not None:
            raise ConfigError("model_name needs the default local backend; map names in your backend")
        if not model_name.strip() or model_name != model_name.strip():
            raise ConfigError(f"model name {model_name!r} must be non-empty, without outer spaces")
        aliases = {model_name: models[0]}
        models = [model_name]
    with ExitStack() as stack:
        state_dir = state_dir or default_state_dir()
        state = _open_state(stack, backend, models, state_dir, session_timeout_s, aliases)
        _announce(state, models)
        logger.info(
            "serving the Tinker API on http://%s:%d (model %s, state in %s)",
            host,
            port,
            models[0],
            state_dir,
        )
        try:
            uvicorn.Server(_config(state, host, port)).run()
        except KeyboardInterrupt:  # uvicorn re-raises the interrupt after a graceful shutdown
            logger.info("server stopped")


@dataclass(frozen=True)
class RunningServer:
    """A server started by `running_server`: its base URL and state (for assertions)."""

    base_url: str
    state: ServerState


@contextmanager
def running_server(
    backend: ServiceClient | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    models: list[str] | None = None,
    start_timeout_s: float = 30.0,
    session_timeout_s: float = 600.0,
    state_dir: Path | None = None,
) -> Iterator[RunningServer]:
    """Serve in a background thread on an ephemeral port; stop it on exit.

    `models` (when given) are advertised and their tokenizers published at start.
    State is kept in memory unless `state_dir` is given.
    """
    with ExitStack() as stack:
        state = _open_state(stack, backend, models or [DEFAULT_MODEL], state_dir, session_timeout_s)
        if models:
            _announce(state, models)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            bound_port = int(sock.getsockname()[1])
            server = uvicorn.Server(_config(state, host, bound_port))
            thread = threading.Thread(
                target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="cookbook-server"
            )
            thread.start()
            try:
                deadline = time.monotonic() + start_timeout_s
                while not server.started:
                    if not thread.is_alive() or time.monotonic() > deadline:
                        raise BackendError(
                            f"the Tinker-compatible server did not start on {host}:{bound_port}"
                        )
                    time.sleep(0.02)
                yield RunningServer(f"http://{host}:{bound_port}", state)
            finally:
                server.should_exit = True
                thread.join(timeout=30)
