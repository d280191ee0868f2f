"""The OpenAI-compatible routes: chat and text completions, models, health, feedback.

Weights are loaded in the app's lifespan, so a server reports itself started only
once every version can answer. Each completion is logged as one inference event
(prompt, completions, version, latency) and the response `id` is that event's id,
the handle `POST /v1/feedback` takes. Errors use OpenAI's error body, so the
`openai` client raises its usual `BadRequestError` / `NotFoundError`.

The local engine samples a whole completion at once; a streamed answer is sent as
OpenAI chunks, one per token-sized piece of text, once the completion is sampled.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from cookbook_runtime.errors import CookbookError, FeedbackEventNotFound
from cookbook_runtime.ports import FeedbackStore, ServiceClient
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cookbook_adapters.deploy._events import EventLog, InferenceRecord
from cookbook_adapters.deploy._plan import DeploymentPlan
from cookbook_adapters.deploy._routing import Router
from cookbook_adapters.deploy._served import Answers, ServedVersion, load_version
from cookbook_adapters.deploy._wire import ChatRequest, CompletionRequest, FeedbackRequest, sse

__all__ = ["EndpointState", "create_endpoint_app"]

logger = logging.getLogger(__name__)


class ApiError(CookbookError):
    """A request the endpoint refuses, with the HTTP status and OpenAI error type to answer."""

    def __init__(self, message: str, *, status: int = 400, kind: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.param = param
        self.code = code


def _error_body(message: str, kind: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class EndpointState:
    """A plan's loaded versions, its router and its event log.

    The service and the feedback store stay the caller's: closing the app closes the
    sampling clients it opened, not them.
    """

    def __init__(self, plan: DeploymentPlan, service: ServiceClient, feedback: FeedbackStore | None) -> None:
        self.plan = plan
        self.service = service
        self.events = EventLog(feedback) if feedback is not None else None
        self.router = Router(plan)
        self.versions: dict[str, ServedVersion] = {}
        self.started_at = int(time.time())
        self.served: dict[str, int] = {v.version: 0 for v in plan.versions()}
        """Requests answered per version since start (what `/health` reports)."""
        self.load_error: BaseException | None = None
        """Why loading the weights failed (the server then never starts), for the caller to report."""

    async def load(self) -> None:
        try:
            for source in self.plan.versions():
                self.versions[source.version] = await load_version(self.service, source)
        except BaseException as exc:
            self.load_error = exc
            await self.close()
            raise

    async def close(self) -> None:
        for served in self.versions.values():
            await served.close()
        self.versions.clear()

    def version_id(self, version: str) -> str:
        return f"{self.plan.model}:{version}"

    def pick(self, model: str, user: str | None) -> ServedVersion:
        """The version answering a request for `model` (the plan's name, or one pinned version)."""
        if model == self.plan.model:
            return self.versions[self.router.pick(user)]
        for label, served in self.versions.items():
            if model == self.version_id(label):
                return served
        names = ", ".join([self.plan.model, *(self.version_id(v) for v in self.versions)])
        raise ApiError(f"model {model!r} is not served here; models: {names}", status=404,
                       param="model", code="model_not_found")


def _usage(answers: Answers) -> dict[str, int]:
    completion = sum(c.completion_tokens for c in answers.choices)
    return {"prompt_tokens": answers.prompt_tokens, "completion_tokens": completion,
            "total_tokens": answers.prompt_tokens + completion}


def create_endpoint_app(state: EndpointState) -> FastAPI:
    """A FastAPI app serving `state`'s plan over the OpenAI API."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await state.load()
        try:
            yield
        finally:
            await state.close()

    app = FastAPI(title="cookbook OpenAI-compatible endpoint", lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(_error_body(str(exc), exc.kind, exc.param, exc.code), status_code=exc.status)

    @app.exception_handler(FeedbackEventNotFound)
    async def _no_event(_: Request, exc: FeedbackEventNotFound) -> JSONResponse:
        return JSONResponse(_error_body(str(exc), "invalid_request_error", "event_id", "event_not_found"),
                            status_code=404)

    @app.exception_handler(CookbookError)
    async def _cookbook_error(_: Request, exc: CookbookError) -> JSONResponse:
        return JSONResponse(_error_body(str(exc), "invalid_request_error"), status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _bad_body(_: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0]
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        where = ".".join(loc) or "body"
        return JSONResponse(_error_body(f"{where}: {err.get('msg')}", "invalid_request_error", where or None),
                            status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _no_route(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = f"this endpoint has no route {request.method} {request.url.path}"
        if exc.status_code not in (404, 405):
            message = str(exc.detail)
        return JSONResponse(_error_body(message, "invalid_request_error"), status_code=exc.status_code)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        plan = state.plan
        return {
            "status": "ok" if len(state.versions) == len(plan.versions()) else "loading",
            "model": plan.model,
            "strategy": plan.strategy,
            "versions": [v.version for v in plan.versions()],
            "weight": plan.weight if plan.strategy == "canary" else None,
            "served": dict(state.served),
        }

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        ids = [state.plan.model, *(state.version_id(v.version) for v in state.plan.versions())]
        return {"object": "list",
                "data": [{"id": i, "object": "model", "created": state.started_at, "owned_by": "cookbook"} for i in ids]}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(body: ChatRequest) -> JSONResponse | StreamingResponse:
        served = state.pick(body.model, body.user)
        started = time.perf_counter()
        messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in body.messages]
        answers = await served.chat(messages, n=body.n, cap=body.token_cap(), temperature=body.temperature,
                                    top_p=body.top_p, seed=body.seed, stop=body.stop_strings())
        event_id = await _log(state, served, "chat", body, answers, started, messages)
        created = int(time.time())
        head = {"id": event_id, "created": created, "model": state.version_id(served.version),
                "system_fingerprint": served.version}
        if body.stream:
            chunks = _chat_chunks(head, served, answers, usage=body.include_usage())
            return StreamingResponse(chunks, media_type="text/event-stream")
        choices = [{"index": i, "message": {"role": "assistant", "content": a.text},
                    "finish_reason": a.finish_reason, "logprobs": None} for i, a in enumerate(answers.choices)]
        return JSONResponse({**head, "object": "chat.completion", "choices": choices, "usage": _usage(answers)},
                            headers={"x-cookbook-version": served.version})

    @app.post("/v1/completions", response_model=None)
    async def completions(body: CompletionRequest) -> JSONResponse | StreamingResponse:
        if not isinstance(body.prompt, str):
            if len(body.prompt) != 1:
                raise ApiError("this endpoint takes one prompt per request; send a string", param="prompt")
            body = body.model_copy(update={"prompt": body.prompt[0]})
        assert isinstance(body.prompt, str)
        served = state.pick(body.model, body.user)
        started = time.perf_counter()
        answers = await served.complete(body.prompt, n=body.n, cap=body.token_cap(), temperature=body.temperature,
                                        top_p=body.top_p, seed=body.seed, stop=body.stop_strings())
        prompt_message = [{"role": "user", "content": body.prompt}]
        event_id = await _log(state, served, "completions", body, answers, started, prompt_message)
        head = {"id": event_id, "created": int(time.time()), "model": state.version_id(served.version),
                "system_fingerprint": served.version}
        prefix = body.prompt if body.echo else ""
        if body.stream:
            return StreamingResponse(_text_chunks(head, served, answers, prefix), media_type="text/event-stream")
        choices = [{"index": i, "text": prefix + a.text, "finish_reason": a.finish_reason, "logprobs": None}
                   for i, a in enumerate(answers.choices)]
        return JSONResponse({**head, "object": "text_completion", "choices": choices, "usage": _usage(answers)},
                            headers={"x-cookbook-version": served.version})

    @app.post("/v1/feedback")
    async def feedback(body: FeedbackRequest) -> dict[str, Any]:
        if state.events is None:
            raise ApiError("this endpoint has no feedback store; deploy it with one to take feedback",
                           status=501, kind="server_error")
        signal_id = await state.events.signal(body)
        return {"id": signal_id, "object": "feedback", "event_id": body.event_id, "kind": body.kind}

    return app


async def _log(state: EndpointState, served: ServedVersion, endpoint: str, body: ChatRequest | CompletionRequest,
               answers: Answers, started: float, messages: list[dict[str, str]]) -> str:
    """Count the request, log its choices as events; return the response id."""
    latency_ms = (time.perf_counter() - started) * 1000.0
    state.served[served.version] = state.served.get(served.version, 0) + 1
    response_id = f"{'chatcmpl' if endpoint == 'chat' else 'cmpl'}-{uuid.uuid4().hex[:24]}"
    if state.events is not None:
        await state.events.log(
            InferenceRecord(
                response_id=response_id,
                model=state.plan.model,
                version=served.version,
                served_as=state.version_id(served.version),
                registry_id=served.source.registry_id,
                endpoint=endpoint,
                messages=messages,
                completions=[a.text for a in answers.choices],
                latency_ms=latency_ms,
                params=body.model_dump(exclude={"messages", "prompt"}, exclude_none=True),
            )
        )
    return response_id


def _chat_chunks(head: dict[str, Any], served: ServedVersion, answers: Answers, *, usage: bool) -> Iterator[str]:
    def chunk(index: int, delta: dict[str, Any], finish: str | None) -> str:
        return sse({**head, "object": "chat.completion.chunk",
                    "choices": [{"index": index, "delta": delta, "finish_reason": finish, "logprobs": None}]})

    for i, answer in enumerate(answers.choices):
        yield chunk(i, {"role": "assistant", "content": ""}, None)
        for piece in served.pieces(answer.text):
            yield chunk(i, {"content": piece}, None)
        yield chunk(i, {}, answer.finish_reason)
    if usage:  # OpenAI's last chunk when `stream_options.include_usage` is set
        yield sse({**head, "object": "chat.completion.chunk", "choices": [], "usage": _usage(answers)})
    yield sse("[DONE]")


def _text_chunks(head: dict[str, Any], served: ServedVersion, answers: Answers, prefix: str) -> Iterator[str]:
    def chunk(index: int, text: str, finish: str | None) -> str:
        return sse({**head, "object": "text_completion",
                    "choices": [{"index": index, "text": text, "finish_reason": finish, "logprobs": None}]})

    for i, answer in enumerate(answers.choices):
        if prefix:
            yield chunk(i, prefix, None)
        for piece in served.pieces(answer.text):
            yield chunk(i, piece, None)
        yield chunk(i, "", answer.finish_reason)
    yield sse("[DONE]")
