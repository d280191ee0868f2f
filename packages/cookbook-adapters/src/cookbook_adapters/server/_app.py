"""The HTTP routes of the pinned SDK's wire protocol, over a runtime `ServiceClient`.

Requests that do work answer at once with a future (`{"request_id": ...}`) once the
work is queued; the SDK then polls `retrieve_future`, which waits a bounded time
and answers `try_again` rather than holding a connection open. Every error is a
4xx (or a failed future) with a one-line message: the SDK retries 5xx for
minutes, so the server never uses them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, get_args

import pydantic
import zstandard
from cookbook_runtime.errors import ConfigError, CookbookError
from cookbook_runtime.train.types import ForwardBackwardOutput, LossName, OptimStepOutput
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from tinker import types as tt

from cookbook_adapters.server import _wire as wire
from cookbook_adapters.server._hf_cache import publish_tokenizer
from cookbook_adapters.server._state import (
    FutureResult,
    ModelRecord,
    NotFound,
    SamplerRecord,
    ServerState,
    error_category,
)
from cookbook_adapters.server._tokenizer_dir import export_tokenizer

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

_PROTO = "application/x-protobuf"
_LOSSES: tuple[str, ...] = get_args(LossName)
_RETRIEVE_WAIT_S = 20.0
_CLIENT_CONFIG: dict[str, Any] = {
    "pjwt_auth_enabled": False,
    "use_pyqwest_transport": False,
    "parallel_fwdbwd_chunks": False,
    "proto_compress_fwdbwd": False,
    "sample_use_retrieve_futures": False,
    "custom_loss_server_side": False,
    "sample_join_sampling_session": False,
}


def _future(request_id: str, **extra: Any) -> dict[str, Any]:
    return {"request_id": request_id, **extra}


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise wire.WireError(f"{request.url.path}: body is not JSON") from exc
    if not isinstance(body, dict):
        raise wire.WireError(f"{request.url.path}: body must be a JSON object")
    return body


def _parse(model: type[pydantic.BaseModel], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise wire.WireError(f"{model.__name__}: {where}: {first['msg']}") from None


def _publish(base_model: str, tokenizer_dir: str) -> None:
    """Best effort: a model whose tokenizer cannot be cached still trains and samples."""
    try:
        publish_tokenizer(base_model, tokenizer_dir)
    except OSError:
        logger.warning("could not publish the tokenizer of %s to the HF cache", base_model, exc_info=True)


def create_app(state: ServerState) -> FastAPI:
    """A FastAPI app serving the Tinker API from `state`'s backend."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await state.close()

    app = FastAPI(title="cookbook Tinker-compatible server", lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.middleware("http")
    async def _request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers["x-request-id"] = f"http-{uuid.uuid4().hex[:16]}"
        return response

    @app.exception_handler(CookbookError)
    async def _cookbook_error(_: Request, exc: CookbookError) -> JSONResponse:
        status = 404 if isinstance(exc, NotFound) else 400
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("request %s failed", request.url.path, exc_info=exc)
        return JSONResponse({"detail": f"{type(exc).__name__}: {exc}"}, status_code=400)

    # -- service ---------------------------------------------------------------

    @app.get("/api/v1/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    @app.post("/api/v1/client/config")
    async def client_config() -> dict[str, Any]:
        return dict(_CLIENT_CONFIG)

    @app.post("/api/v1/client/dynamic_config")
    async def client_dynamic_config() -> dict[str, Any]:
        return {"refresh_interval_sec": 300, "sample_cancel_enabled": False}

    @app.get("/api/v1/get_server_capabilities")
    async def capabilities() -> dict[str, Any]:
        return {
            "supported_models": [
                {"model_name": m, "trainable": True, "sampleable": True} for m in state.supported_models
            ]
        }

    @app.post("/api/v1/telemetry")
    async def telemetry() -> dict[str, Any]:
        return {"status": "accepted"}

    @app.post("/api/v1/create_session")
    async def create_session(request: Request) -> dict[str, Any]:
        _parse(tt.CreateSessionRequest, await _json(request))
        return {"type": "create_session", "session_id": state.new_session()}

    @app.post("/api/v1/session_heartbeat")
    async def session_heartbeat(request: Request) -> dict[str, Any]:
        body = _parse(tt.SessionHeartbeatRequest, await _json(request))
        state.heartbeat(body.session_id)
        return {"type": "session_heartbeat"}

    @app.post("/api/v1/sessions/{session_id}/finish")
    async def finish_session(session_id: str) -> Response:
        await state.finish_session(session_id)
        return Response(content=b"null", media_type="application/json")

    # -- futures ---------------------------------------------------------------

    @app.post("/api/v1/retrieve_future")
    async def retrieve_future(request: Request) -> Response:
        body = _parse(tt.FutureRetrieveRequest, await _json(request))
        try:
            result = await state.retrieve(body.request_id, _RETRIEVE_WAIT_S)
        except NotFound:
            raise
        except Exception as exc:
            message = str(exc) or type(exc).__name__
            return JSONResponse({"error": message, "category": error_category(exc)})
        if result is None:
            return JSONResponse({"type": "try_again", "request_id": body.request_id, "queue_state": "active"})
        if result.proto is not None:
            return Response(content=result.proto, media_type=_PROTO)
        return JSONResponse(result.json)

    # -- models ----------------------------------------------------------------

    async def _register(record: ModelRecord) -> None:
        state.add_model(record)

    def _checkpoint_name(requested: str | None, prefix: str) -> str:
        if requested is None:
            return state.next_name(prefix)
        if not requested or "/" in requested:
            raise ConfigError(f"checkpoint name {requested!r} must be non-empty and contain no '/'")
        return requested

    @app.post("/api/v1/create_model")
    async def create_model(request: Request) -> dict[str, Any]:
        body = _parse(tt.CreateModelRequest, await _json(request))
        if body.session_id not in state.sessions:
            raise NotFound(f"unknown session {body.session_id!r}: create a session first")
        if body.optimizer_config.type != "adamw":
            raise ConfigError(f"optimizer {body.optimizer_config.type!r} is not supported: use adamw")
        model_id = f"{body.session_id}:train:{body.model_seq_id}"
        lora = body.lora_config
        rank = lora.rank if lora is not None else 0

        async def work() -> FutureResult:
            client = await state.backend.create_lora_training_client(
                body.base_model,
                rank=rank,
                seed=lora.seed if lora is not None else None,
                train_mlp=lora.train_mlp if lora is not None else True,
                train_attn=lora.train_attn if lora is not None else True,
                train_unembed=lora.train_unembed if lora is not None else True,
            )
            await _register(ModelRecord(model_id, body.session_id, body.base_model, rank, client))
            return FutureResult(json={"model_id": model_id, "type": "create_model"})

        return _future(state.submit(work), model_id=model_id)

    @app.post("/api/v1/get_info")
    async def get_info(request: Request) -> dict[str, Any]:
        body = _parse(tt.GetInfoRequest, await _json(request))
        record = state.model(body.model_id)
        if record.tokenizer_dir is None:
            record.tokenizer_dir = export_tokenizer(
                record.client.tokenizer(), state.tokenizer_root, record.base_model
            )
            _publish(record.base_model, record.tokenizer_dir)
        return {
            "type": "get_info",
            "model_id": record.model_id,
            "model_data": {"model_name": record.base_model, "tokenizer_id": record.tokenizer_dir},
            "is_lora": record.rank > 0,
            "lora_rank": record.rank,
            "model_name": record.base_model,
        }

    @app.post("/api/v1/forward_backward")
    async def forward_backward(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if request.headers.get("content-encoding", "").lower() == "zstd":
            raw = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
        model_id, _seq, loss_fn, config, forward_only, data = wire.fwdbwd_request_from_proto(raw)
        record = state.model(model_id)
        if loss_fn not in _LOSSES:
            error = ConfigError(f"loss_fn {loss_fn!r} is not supported: use one of {', '.join(_LOSSES)}")
            return _future(state.fail(error), model_id=model_id)
        try:
            if forward_only:
                handle = await record.client.forward(data, loss_fn)  # type: ignore[arg-type]
            else:
                handle = await record.client.forward_backward(data, loss_fn, config or None)  # type: ignore[arg-type]
        except Exception as exc:
            return _future(state.fail(exc), model_id=model_id)

        async def work() -> FutureResult:
            out: ForwardBackwardOutput = await handle.result()
            return FutureResult(proto=wire.fwdbwd_output_to_proto(out))

        return _future(state.submit(work), model_id=model_id)

    @app.post("/api/v1/optim_step")
    async def optim_step(request: Request) -> dict[str, Any]:
        body = await _json(request)
        record = state.model(str(body.get("model_id")))
        params = wire.adam_params_from_wire(body)
        handle = await record.client.optim_step(params)

        async def work() -> FutureResult:
            out: OptimStepOutput = await handle.result()
            return FutureResult(json={"metrics": dict(out.metrics)})

        return _future(state.submit(work), model_id=record.model_id)

    @app.post("/api/v1/save_weights")
    async def save_weights(request: Request) -> dict[str, Any]:
        body = _parse(tt.SaveWeightsRequest, await _json(request))
        record = state.model(body.model_id)
        name = _checkpoint_name(body.path, "state")
        handle = await record.client.save_state(name)

        async def work() -> FutureResult:
            backend_path: str = await handle.result()
            path = state.remember_path(record, "weights", name, backend_path)
            return FutureResult(json={"path": path, "type": "save_weights"})

        return _future(state.submit(work), model_id=record.model_id)

    @app.post("/api/v1/save_weights_for_sampler")
    async def save_weights_for_sampler(request: Request) -> dict[str, Any]:
        body = _parse(tt.SaveWeightsForSamplerRequest, await _json(request))
        record = state.model(body.model_id)
        name = _checkpoint_name(body.path, "sampler")
        handle = await record.client.save_weights_for_sampler(name)

        async def work() -> FutureResult:
            backend_path: str = await handle.result()
            path = state.remember_path(record, "sampler_weights", name, backend_path)
            if body.path is not None:
                return FutureResult(json={"path": path, "type": "save_weights_for_sampler"})
            sampler = await state.backend.create_sampling_client(model_path=backend_path)
            sampler_id = f"{record.session_id}:sample:{state.next_name('s')}"
            state.samplers[sampler_id] = SamplerRecord(
                sampler_id, record.session_id, record.base_model, path, sampler
            )
            return FutureResult(json={"sampling_session_id": sampler_id, "type": "save_weights_for_sampler"})

        return _future(state.submit(work), model_id=record.model_id)

    @app.post("/api/v1/load_weights")
    async def load_weights(request: Request) -> dict[str, Any]:
        body = _parse(tt.LoadWeightsRequest, await _json(request))
        saved = state.resolve_path(body.path)
        if body.session_id is None:
            record = state.model(str(body.model_id))
            handle = await record.client.load_state(saved.backend_path, with_optimizer=body.optimizer)

            async def load() -> FutureResult:
                await handle.result()
                return FutureResult(json={"path": body.path, "model_id": record.model_id, "type": "load_weights"})

            return _future(state.submit(load), model_id=record.model_id)
        if body.session_id not in state.sessions:
            raise NotFound(f"unknown session {body.session_id!r}: create a session first")
        model_id = f"{body.session_id}:train:{body.model_seq_id}"

        async def create() -> FutureResult:
            client = await state.backend.create_training_client_from_state(
                saved.backend_path, with_optimizer=body.optimizer
            )
            info = await client.info()
            base_model = body.base_model or saved.base_model or info.base_model
            await _register(
                ModelRecord(model_id, str(body.session_id), base_model, saved.rank or info.lora_rank, client)
            )
            return FutureResult(json={"path": body.path, "model_id": model_id, "type": "load_weights"})

        return _future(state.submit(create), model_id=model_id)

    # -- training runs (REST) ----------------------------------------------------

    @app.get("/api/v1/training_runs/{run_id}")
    async def get_training_run(run_id: str) -> dict[str, Any]:
        return state.run(run_id).to_json()

    @app.get("/api/v1/training_runs/{run_id}/checkpoints")
    async def list_checkpoints(run_id: str) -> dict[str, Any]:
        return {"checkpoints": list(state.run(run_id).checkpoints.values())}

    @app.delete("/api/v1/training_runs/{run_id}/checkpoints/{checkpoint_id:path}")
    async def delete_checkpoint(run_id: str, checkpoint_id: str) -> Response:
        state.forget_checkpoint(run_id, checkpoint_id)
        return Response(content=b"null", media_type="application/json")

    # -- sampling --------------------------------------------------------------

    @app.post("/api/v1/create_sampling_session")
    async def create_sampling_session(request: Request) -> dict[str, Any]:
        body = _parse(tt.CreateSamplingSessionRequest, await _json(request))
        if body.session_id not in state.sessions:
            raise NotFound(f"unknown session {body.session_id!r}: create a session first")
        if body.model_path is not None:
            saved = state.resolve_path(body.model_path)
            client = await state.backend.create_sampling_client(model_path=saved.backend_path)
            base_model = body.base_model or saved.base_model
        elif body.base_model is not None:
            client = await state.backend.create_sampling_client(base_model=body.base_model)
            base_model = body.base_model
            _publish(base_model, export_tokenizer(client.tokenizer(), state.tokenizer_root, base_model))
        else:
            raise ConfigError("create_sampling_session needs base_model or model_path")
        sampler_id = f"{body.session_id}:sample:{body.sampling_session_seq_id}"
        state.samplers[sampler_id] = SamplerRecord(sampler_id, body.session_id, base_model, body.model_path, client)
        return {"type": "create_sampling_session", "sampling_session_id": sampler_id}

    @app.post("/api/v1/join_sampling_session")
    async def join_sampling_session(request: Request) -> dict[str, Any]:
        body = _parse(tt.JoinSamplingSessionRequest, await _json(request))
        record = state.sampler(body.sampling_session_id)
        return {"type": "join_sampling_session", "client_counter": next(record.clones)}

    @app.get("/api/v1/samplers/{sampler_id}")
    async def get_sampler(sampler_id: str) -> dict[str, Any]:
        record = state.sampler(sampler_id)
        return {"sampler_id": record.sampler_id, "base_model": record.base_model, "model_path": record.model_path}

    @app.post("/api/v1/asample")
    async def asample(request: Request) -> dict[str, Any]:
        body = _parse(tt.SampleRequest, await _json(request))
        if body.sampling_session_id is None:
            raise ConfigError("asample needs a sampling_session_id: create a sampling session first")
        record = state.sampler(body.sampling_session_id)
        prompt = wire.model_input_from_wire(body.prompt)
        params = wire.sampling_params_from_wire(body.sampling_params)
        want_prompt_logprobs = bool(body.prompt_logprobs)
        if body.topk_prompt_logprobs or body.topk_sample_logprobs or body.prompt_alt_tokens_k:
            raise ConfigError("top-k logprobs and prompt_alt_tokens are not supported by this server")
        if body.target_prompt_logprobs is not None:
            raise ConfigError("target_prompt_logprobs is not supported by this server")

        async def work() -> FutureResult:
            result = await record.client.sample(prompt, body.num_samples, params)
            prompt_lps: list[float | None] | None = None
            if want_prompt_logprobs:
                prompt_lps = list(await record.client.compute_logprobs(prompt))
                if body.prompt_logprobs_last_n is not None:
                    keep = len(prompt_lps) - body.prompt_logprobs_last_n
                    prompt_lps = [None if i < keep else v for i, v in enumerate(prompt_lps)]
            return FutureResult(proto=wire.sample_response_to_proto(result, prompt_lps))

        request_id = state.submit(work)
        ids = [f"{request_id}:{i}" for i in range(body.num_samples)]
        return _future(request_id, sample_sequence_ids=ids)

    return app
