"""The HTTP routes of the pinned SDK's wire protocol, over a runtime `ServiceClient`.

Requests that do work answer at once with a future (`{"request_id": ...}`) once the
work is queued; the SDK then polls `retrieve_future`, which waits a bounded time
and answers `try_again` rather than holding a connection open. Every error is a
4xx (or a failed future) with a one-line message: the SDK retries 5xx for
minutes, so the server never uses them.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from cookbook_runtime.errors import CookbookError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from tinker import types as tt

from cookbook_adapters.server._external_routes import external_router
from cookbook_adapters.server._http import PROTO, parse, read_json
from cookbook_adapters.server._rest_routes import rest_router
from cookbook_adapters.server._sampling_routes import sampling_router
from cookbook_adapters.server._state import NotFound, ServerState, error_category
from cookbook_adapters.server._training_routes import training_router

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

_RETRIEVE_WAIT_S = 20.0
_CLIENT_CONFIG: dict[str, Any] = {
    "pjwt_auth_enabled": False,
    "use_pyqwest_transport": False,
    "parallel_fwdbwd_chunks": False,  # one turn per chunk: requests arrive in seq_id order (_training_routes)
    "proto_compress_fwdbwd": False,
    "sample_use_retrieve_futures": False,
    "custom_loss_server_side": False,
    "sample_join_sampling_session": False,
}


async def _reap_forever(state: ServerState) -> None:
    """Finish sessions whose client stopped sending heartbeats, freeing their models."""
    interval = min(30.0, max(0.05, state.session_timeout_s / 4))
    while True:
        await asyncio.sleep(interval)
        try:
            await state.reap_idle_sessions()
        except Exception:  # a failing close must not stop the reaper
            logger.warning("reaping idle sessions failed", exc_info=True)


def create_app(state: ServerState) -> FastAPI:
    """A FastAPI app serving the Tinker API from `state`'s backend."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        reaper = asyncio.get_running_loop().create_task(_reap_forever(state))
        try:
            yield
        finally:
            reaper.cancel()
            await state.close()

    app = FastAPI(
        title="cookbook Tinker-compatible server", lifespan=lifespan, docs_url=None, redoc_url=None
    )

    @app.middleware("http")
    async def _request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers["x-request-id"] = f"http-{uuid.uuid4().hex[:16]}"
        return response

    @app.exception_handler(CookbookError)
    async def _cookbook_error(_: Request, exc: CookbookError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFound) else 400
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _no_route(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Only routing raises these here (route errors are CookbookErrors): a path or method
        # this server lacks. One warning line names it, so a missing endpoint is easy to spot.
        if exc.status_code not in (404, 405):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        logger.warning("no route for %s %s; answering 404", request.method, request.url.path)
        return JSONResponse(
            {"detail": f"this server has no route {request.method} {request.url.path}"},
            status_code=404,
        )

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, _: ClientDisconnect) -> Response:
        # A client that goes away mid-request (killed, timed out) is routine, not a server fault;
        # work it already queued finishes and is dropped later. Nobody reads this reply.
        logger.info("client left during %s %s", request.method, request.url.path)
        return Response(status_code=499)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("request %s failed", request.url.path, exc_info=exc)
        return JSONResponse({"detail": f"{type(exc).__name__}: {exc}"}, status_code=400)

    # -- service ---------------------------------------------------------------

    @app.get("/api/v1/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    @app.post("/api/v1/client/config")
    async def client_config(response: Response) -> dict[str, Any]:
        # The SDK asks this once per ServiceClient through a connection pool it never closes;
        # closing the connection here keeps that socket from lingering in the caller.
        response.headers["Connection"] = "close"
        return dict(_CLIENT_CONFIG)

    @app.post("/api/v1/client/dynamic_config")
    async def client_dynamic_config() -> dict[str, Any]:
        return {"refresh_interval_sec": 300, "sample_cancel_enabled": False}

    @app.get("/api/v1/get_server_capabilities")
    async def capabilities() -> dict[str, Any]:
        return {
            "supported_models": [
                {"model_name": m, "trainable": True, "sampleable": True}
                for m in state.supported_models
            ]
        }

    @app.post("/api/v1/telemetry")
    async def telemetry() -> dict[str, Any]:
        return {"status": "accepted"}

    @app.post("/api/v1/create_session")
    async def create_session(request: Request) -> dict[str, Any]:
        parse(tt.CreateSessionRequest, await read_json(request))
        return {"type": "create_session", "session_id": state.new_session()}

    @app.post("/api/v1/session_heartbeat")
    async def session_heartbeat(request: Request) -> dict[str, Any]:
        body = parse(tt.SessionHeartbeatRequest, await read_json(request))
        state.heartbeat(body.session_id)
        return {"type": "session_heartbeat"}

    @app.post("/api/v1/sessions/{session_id}/finish")
    async def finish_session(session_id: str) -> Response:
        await state.finish_session(session_id)
        return Response(content=b"null", media_type="application/json")

    # -- futures ---------------------------------------------------------------

    @app.post("/api/v1/retrieve_future")
    async def retrievefuture(request: Request) -> Response:
        body = parse(tt.FutureRetrieveRequest, await read_json(request))
        try:
            result = await state.retrieve(body.request_id, _RETRIEVE_WAIT_S)
        except NotFound:
            raise
        except Exception as exc:
            message = str(exc) or type(exc).__name__
            return JSONResponse({"error": message, "category": error_category(exc)})
        if result is None:
            return JSONResponse(
                {"type": "try_again", "request_id": body.request_id, "queue_state": "active"}
            )
        if result.proto is not None:
            return Response(content=result.proto, media_type=PROTO)
        return JSONResponse(result.json)

    app.include_router(training_router(state))
    app.include_router(sampling_router(state))
    app.include_router(rest_router(state))
    app.include_router(external_router(state))
    return app
