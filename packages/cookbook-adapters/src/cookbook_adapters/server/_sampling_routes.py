"""Sampling routes: sampling sessions and `asample` (which also serves `compute_logprobs`)."""

from __future__ import annotations

from typing import Any

from cookbook_runtime.errors import ConfigError
from fastapi import APIRouter, Request
from tinker import types as tt

from cookbook_adapters.server import _wire as wire
from cookbook_adapters.server._http import future, parse, publish, read_json
from cookbook_adapters.server._state import FutureResult, NotFound, SamplerRecord, ServerState

__all__ = ["sampling_router"]


def sampling_router(state: ServerState) -> APIRouter:
    """Routes that create sampling sessions and sample from them."""
    router = APIRouter()

    @router.post("/api/v1/create_sampling_session")
    async def create_sampling_session(request: Request) -> dict[str, Any]:
        body = parse(tt.CreateSamplingSessionRequest, await read_json(request))
        if body.session_id not in state.sessions:
            raise NotFound(f"unknown session {body.session_id!r}: create a session first")
        if body.model_path is not None:
            saved = state.resolve_path(body.model_path)
            client = await state.backend.create_sampling_client(model_path=saved.backend_path)
            base_model = body.base_model or saved.base_model
        elif body.base_model is not None:
            client = await state.backend.create_sampling_client(base_model=body.base_model)
            base_model = body.base_model
            publish(client.tokenizer(), state.tokenizer_root, base_model)
        else:
            raise ConfigError("create_sampling_session needs base_model or model_path")
        sampler_id = f"{body.session_id}:sample:{body.sampling_session_seq_id}"
        state.samplers[sampler_id] = SamplerRecord(
            sampler_id, body.session_id, base_model, body.model_path, client
        )
        return {"type": "create_sampling_session", "sampling_session_id": sampler_id}

    @router.post("/api/v1/join_sampling_session")
    async def join_sampling_session(request: Request) -> dict[str, Any]:
        body = parse(tt.JoinSamplingSessionRequest, await read_json(request))
        record = state.sampler(body.sampling_session_id)
        return {"type": "join_sampling_session", "client_counter": next(record.clones)}

    @router.get("/api/v1/samplers/{sampler_id}")
    async def get_sampler(sampler_id: str) -> dict[str, Any]:
        record = state.sampler(sampler_id)
        return {
            "sampler_id": record.sampler_id,
            "base_model": record.base_model,
            "model_path": record.model_path,
        }

    @router.post("/api/v1/asample")
    async def asample(request: Request) -> dict[str, Any]:
        body = parse(tt.SampleRequest, await read_json(request))
        if body.sampling_session_id is None:
            raise ConfigError(
                "asample needs a sampling_session_id: create a sampling session first"
            )
        record = state.sampler(body.sampling_session_id)
        prompt = wire.model_input_from_wire(body.prompt)
        params = wire.sampling_params_from_wire(body.sampling_params)
        want_prompt_logprobs = bool(body.prompt_logprobs)
        topk = int(body.topk_prompt_logprobs or 0)
        topk_sample = int(body.topk_sample_logprobs or 0)
        alt_k = int(body.prompt_alt_tokens_k or 0)
        for name, value in (
            ("topk_prompt_logprobs", topk),
            ("topk_sample_logprobs", topk_sample),
            ("prompt_alt_tokens_k", alt_k),
        ):
            if value < 0:
                raise ConfigError(f"{name} is {value}; use 0 (off) or k > 0")
        targets, layout = (
            (None, None)
            if body.target_prompt_logprobs is None
            else wire.target_ids_from_wire(body.target_prompt_logprobs)
        )
        if targets is not None and targets.shape[0] != prompt.length - 1:
            raise ConfigError(
                f"target_prompt_logprobs has {targets.shape[0]} rows for a prompt of "
                f"{prompt.length} tokens; send len(prompt) - 1 = {prompt.length - 1} rows"
            )

        async def work() -> FutureResult:
            result = await record.client.sample(
                prompt,
                body.num_samples,
                params,
                include_prompt_logprobs=want_prompt_logprobs,
                topk_prompt_logprobs=topk,
                topk_sample_logprobs=topk_sample,
                target_prompt_logprobs=targets,
                prompt_alt_tokens_k=alt_k,
            )
            if body.prompt_logprobs_last_n is not None:
                result = wire.keep_last_prompt_positions(result, body.prompt_logprobs_last_n)
            return FutureResult(proto=wire.sample_response_to_proto(result, layout))

        request_id = state.submit(work)
        ids = [f"{request_id}:{i}" for i in range(body.num_samples)]
        return future(request_id, sample_sequence_ids=ids)

    return router
