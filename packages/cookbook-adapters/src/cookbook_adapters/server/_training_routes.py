"""Training routes: models, forward/backward, optimizer steps, saving and loading.

Each route queues its work on the model's runtime client before replying, so the
client's submission order is the order the SDK sent the requests in.

Why the requests' `seq_id` is not checked: the pinned SDK (tinker 0.38) delivers one
training client's requests in `seq_id` order. Each request reserves its id when it
is made and sends its POST inside `_take_turn(id)`, whose counter moves on only
after the previous request's POST has been answered; with `parallel_fwdbwd_chunks`
off (this server's `/client/config`, in `_app.py`), the chunks of one
forward_backward take a turn each as well. A request is therefore queued here
before the next one is even sent, and arrival order is `seq_id` order. What this
does not cover: a POST the SDK retries after losing the reply to one that was
queued would run twice (no dedup by `seq_id`); turning `parallel_fwdbwd_chunks` on
would need ordering by `seq_id` here, since its chunks arrive together.
"""

from __future__ import annotations

import asyncio
from typing import Any, get_args

import zstandard
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.train.types import ForwardBackwardOutput, LossName, OptimStepOutput
from fastapi import APIRouter, Request
from tinker import types as tt

from cookbook_adapters.server import _wire as wire
from cookbook_adapters.server._http import future, parse, publish, read_json
from cookbook_adapters.server._state import (
    FutureResult,
    LoraTargets,
    ModelRecord,
    NotFound,
    SamplerRecord,
    ServerState,
    expiry,
)

__all__ = ["training_router"]

_LOSSES: tuple[str, ...] = get_args(LossName)


def training_router(state: ServerState) -> APIRouter:
    """Routes that create and drive training clients."""
    router = APIRouter()

    # -- models ----------------------------------------------------------------

    def _checkpoint_name(requested: str | None, prefix: str) -> str:
        if requested is None:
            return state.next_name(prefix)
        if not requested or "/" in requested:
            raise ConfigError(f"checkpoint name {requested!r} must be non-empty and contain no '/'")
        return requested

    @router.post("/api/v1/create_model")
    async def create_model(request: Request) -> dict[str, Any]:
        body = parse(tt.CreateModelRequest, await read_json(request))
        if body.session_id not in state.sessions:
            raise NotFound(f"unknown session {body.session_id!r}: create a session first")
        if body.optimizer_config.type != "adamw":
            raise ConfigError(
                f"optimizer {body.optimizer_config.type!r} is not supported: use adamw"
            )
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
            state.add_model(
                ModelRecord(model_id, body.session_id, body.base_model, rank, client),
                user_metadata=body.user_metadata,
                lora_targets=LoraTargets(
                    mlp=lora.train_mlp, attn=lora.train_attn, unembed=lora.train_unembed
                )
                if lora is not None
                else None,
            )
            return FutureResult(json={"model_id": model_id, "type": "create_model"})

        return future(state.submit(work), model_id=model_id)

    @router.post("/api/v1/get_info")
    async def get_info(request: Request) -> dict[str, Any]:
        body = parse(tt.GetInfoRequest, await read_json(request))
        record = state.model(body.model_id)
        if record.tokenizer_dir is None:
            record.tokenizer_dir = (
                publish(record.client.tokenizer(), state.tokenizer_root, record.base_model) or ""
            )
        return {
            "type": "get_info",
            "model_id": record.model_id,
            "model_data": {
                "model_name": record.base_model,
                "tokenizer_id": record.tokenizer_dir or None,
            },
            "is_lora": record.rank > 0,
            "lora_rank": record.rank,
            "model_name": record.base_model,
        }

    @router.post("/api/v1/forward_backward")
    async def forward_backward(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if request.headers.get("content-encoding", "").lower() == "zstd":
            raw = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
        model_id, _seq, loss_fn, config, forward_only, data = wire.fwdbwd_request_from_proto(raw)
        record = state.model(model_id)
        if loss_fn not in _LOSSES:
            error = ConfigError(
                f"loss_fn {loss_fn!r} is not supported: use one of {', '.join(_LOSSES)}"
            )
            return future(state.fail(error), model_id=model_id)
        try:
            if forward_only:
                handle = await record.client.forward(data, loss_fn)  # type: ignore[arg-type]
            else:
                handle = await record.client.forward_backward(data, loss_fn, config or None)  # type: ignore[arg-type]
        except Exception as exc:
            return future(state.fail(exc), model_id=model_id)

        async def work() -> FutureResult:
            out: ForwardBackwardOutput = await handle.result()
            return FutureResult(proto=wire.fwdbwd_output_to_proto(out))

        return future(state.submit(work), model_id=model_id)

    @router.post("/api/v1/optim_step")
    async def optim_step(request: Request) -> dict[str, Any]:
        body = await read_json(request)
        record = state.model(str(body.get("model_id")))
        params = wire.adam_params_from_wire(body)
        handle = await record.client.optim_step(params)

        async def work() -> FutureResult:
            out: OptimStepOutput = await handle.result()
            return FutureResult(json={"metrics": dict(out.metrics)})

        return future(state.submit(work), model_id=record.model_id)

    @router.post("/api/v1/save_weights")
    async def save_weights(request: Request) -> dict[str, Any]:
        body = parse(tt.SaveWeightsRequest, await read_json(request))
        record = state.model(body.model_id)
        name = _checkpoint_name(body.path, "state")
        expires_at = expiry(body.ttl_seconds)
        handle = await record.client.save_state(name)

        async def work() -> FutureResult:
            backend_path: str = await handle.result()
            path = state.remember_path(
                record,
                "weights",
                name,
                backend_path,
                expires_at=expires_at,
                user_metadata=body.user_metadata,
            )
            return FutureResult(json={"path": path, "type": "save_weights"})

        return future(state.submit(work), model_id=record.model_id)

    @router.post("/api/v1/save_weights_for_sampler")
    async def save_weights_for_sampler(request: Request) -> dict[str, Any]:
        body = parse(tt.SaveWeightsForSamplerRequest, await read_json(request))
        record = state.model(body.model_id)
        if body.path is None:  # save_weights_and_get_sampling_client: a snapshot, no files
            sampler_id = (
                f"{record.session_id}:sample:{state.next_name('s')}"  # named at submit time
            )
            snapshot = asyncio.ensure_future(record.client.sampling_client())
            await asyncio.sleep(0)  # let it take its place in the model's queue before replying

            async def snapshot_work() -> FutureResult:
                sampler = await snapshot
                state.samplers[sampler_id] = SamplerRecord(
                    sampler_id, record.session_id, record.base_model, None, sampler
                )
                return FutureResult(
                    json={"sampling_session_id": sampler_id, "type": "save_weights_for_sampler"}
                )

            return future(state.submit(snapshot_work), model_id=record.model_id)
        name = _checkpoint_name(body.path, "sampler")
        expires_at = expiry(body.ttl_seconds)
        handle = await record.client.save_weights_for_sampler(name)

        async def work() -> FutureResult:
            backend_path: str = await handle.result()
            path = state.remember_path(
                record,
                "sampler_weights",
                name,
                backend_path,
                expires_at=expires_at,
                user_metadata=body.user_metadata,
            )
            return FutureResult(json={"path": path, "type": "save_weights_for_sampler"})

        return future(state.submit(work), model_id=record.model_id)

    @router.post("/api/v1/load_weights")
    async def load_weights(request: Request) -> dict[str, Any]:
        body = parse(tt.LoadWeightsRequest, await read_json(request))
        saved = state.resolve_path(body.path)
        if body.session_id is None:
            record = state.model(str(body.model_id))
            handle = await record.client.load_state(
                saved.backend_path, with_optimizer=body.optimizer
            )

            async def load() -> FutureResult:
                await handle.result()
                return FutureResult(
                    json={"path": body.path, "model_id": record.model_id, "type": "load_weights"}
                )

            return future(state.submit(load), model_id=record.model_id)
        if body.session_id not in state.sessions:
            raise NotFound(f"unknown session {body.session_id!r}: create a session first")
        model_id = f"{body.session_id}:train:{body.model_seq_id}"
        source = state.run_of_path(body.path) if body.path.startswith("tinker://") else None

        async def create() -> FutureResult:
            client = await state.backend.create_training_client_from_state(
                saved.backend_path, with_optimizer=body.optimizer
            )
            info = await client.info()
            base_model = body.base_model or saved.base_model or info.base_model
            state.add_model(
                ModelRecord(
                    model_id, str(body.session_id), base_model, saved.rank or info.lora_rank, client
                ),
                user_metadata=body.user_metadata,
                lora_targets=source.lora_targets if source is not None else None,
            )
            return FutureResult(
                json={"path": body.path, "model_id": model_id, "type": "load_weights"}
            )

        return future(state.submit(create), model_id=model_id)

    return router
