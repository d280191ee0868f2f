"""Start the endpoint: blocking for `cookbook deploy`, in a background thread for tests and stages.

Binds to 127.0.0.1 unless told otherwise: the endpoint has no authentication.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from cookbook_runtime.errors import BackendError, CookbookError
from cookbook_runtime.ports import FeedbackStore, ServiceClient

from cookbook_adapters.deploy._app import EndpointState, create_endpoint_app
from cookbook_adapters.deploy._plan import DeploymentPlan

__all__ = ["RunningEndpoint", "bind", "running_endpoint", "serve_endpoint"]

logger = logging.getLogger(__name__)


def _config(state: EndpointState, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(create_endpoint_app(state), host=host, port=port, log_level="warning",
                          access_log=False, lifespan="on")


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on `host:port` (0: an ephemeral port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise BackendError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick a free port") from None
    return sock


def serve_endpoint(
    plan: DeploymentPlan,
    service: ServiceClient,
    *,
    feedback: FeedbackStore | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    sock: socket.socket | None = None,
) -> None:
    """Serve `plan` until interrupted (or until the process is told to stop)."""
    state = EndpointState(plan, service, feedback)
    sock = sock or bind(host, port)
    logger.info("serving %s (%s) on http://%s:%d/v1", plan.model, plan.strategy, host, sock.getsockname()[1])
    try:
        uvicorn.Server(_config(state, host, int(sock.getsockname()[1]))).run(sockets=[sock])
    except KeyboardInterrupt:
        logger.info("endpoint stopped")
    finally:
        sock.close()


@dataclass(frozen=True)
class RunningEndpoint:
    """An endpoint started by `running_endpoint`: its URLs and state (for assertions)."""

    base_url: str
    state: EndpointState

    @property
    def api_url(self) -> str:
        """What the `openai` client takes as `base_url`."""
        return f"{self.base_url}/v1"


@contextmanager
def running_endpoint(
    plan: DeploymentPlan,
    service: ServiceClient,
    *,
    feedback: FeedbackStore | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    start_timeout_s: float = 120.0,
) -> Iterator[RunningEndpoint]:
    """Serve `plan` in a background thread (weights loaded before this yields); stop it on exit."""
    state = EndpointState(plan, service, feedback)
    with bind(host, port) as sock:
        bound = int(sock.getsockname()[1])
        server = uvicorn.Server(_config(state, host, bound))
        def serve() -> None:
            try:
                server.run(sockets=[sock])
            except SystemExit:  # uvicorn exits when startup (loading the weights) fails: see load_error
                logger.debug("endpoint thread stopped: startup failed")

        thread = threading.Thread(target=serve, daemon=True, name="cookbook-endpoint")
        thread.start()
        try:
            deadline = time.monotonic() + start_timeout_s
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    cause = state.load_error
                    if isinstance(cause, CookbookError):
                        raise cause
                    why = f": {type(cause).__name__}: {cause}" if cause is not None else ""
                    raise BackendError(f"the endpoint for {plan.model!r} did not start on {host}:{bound}{why}")
                time.sleep(0.02)
            yield RunningEndpoint(f"http://{host}:{bound}", state)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
