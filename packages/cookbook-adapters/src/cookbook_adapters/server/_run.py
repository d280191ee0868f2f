"""Start the server: blocking for `cookbook serve`, in a background thread for tests.

Binds to 127.0.0.1 unless told otherwise: the server has no authentication, so
exposing it beyond this machine must be a deliberate choice.
"""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from cookbook_runtime.errors import BackendError
from cookbook_runtime.ports import ServiceClient

from cookbook_adapters.server._app import create_app
from cookbook_adapters.server._http import publish
from cookbook_adapters.server._state import ServerState

__all__ = ["RunningServer", "running_server", "serve"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "cookbook/tiny-chat"


def _default_backend() -> ServiceClient:
    from cookbook_adapters.local import LocalServiceClient

    backend: ServiceClient = LocalServiceClient()
    return backend


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
) -> None:
    """Serve the Tinker API on `host:port` until interrupted, over `backend` (default: the local engine).

    `model` is the model advertised by `get_server_capabilities` (default `cookbook/tiny-chat`);
    its tokenizer is loaded (and published) before serving, so a bad name fails at once.
    Sessions without a heartbeat for `session_timeout_s` are finished and their models freed.
    """
    models = [model or DEFAULT_MODEL]
    with tempfile.TemporaryDirectory(prefix="cookbook-server-") as tmp:
        state = ServerState(
            backend or _default_backend(),
            Path(tmp),
            models,
            owns_backend=backend is None,
            session_timeout_s=session_timeout_s,
        )
        _announce(state, models)
        logger.info("serving the Tinker API on http://%s:%d (model %s)", host, port, models[0])
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
) -> Iterator[RunningServer]:
    """Serve in a background thread on an ephemeral port; stop it on exit.

    `models` (when given) are advertised and their tokenizers published at start.
    """
    with tempfile.TemporaryDirectory(prefix="cookbook-server-") as tmp:
        state = ServerState(
            backend or _default_backend(),
            Path(tmp),
            models or [DEFAULT_MODEL],
            owns_backend=backend is None,
            session_timeout_s=session_timeout_s,
        )
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
