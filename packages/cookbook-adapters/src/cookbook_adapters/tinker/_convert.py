"""Lossless conversions between runtime training types and `tinker.types`.

The runtime types were shaped after Tinker's, so each conversion is a field-by-field
copy; the only narrowing is float32 tensors, which both sides store as float32 on
the wire (runtime floats that are not float32-representable are rounded once).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias

import numpy as np
from cookbook_runtime.train.types import (
    AdamParams,
    Datum,
    EncodedTextChunk,
    ForwardBackwardOutput,
    ImageChunk,
    ModelInput,
    ModelInputChunk,
    OptimStepOutput,
    PromptAltTokens,
    SampledSequence,
    SampleResult,
    SamplingParams,
    TensorData,
)
from tinker import types as tt
from tinker.types.topk_logprobs import MASK_LOGPROB, TopkLogprobs

__all__ = [
    "adam_params_from_tinker",
    "adam_params_to_tinker",
    "datum_from_tinker",
    "datum_to_tinker",
    "fwdbwd_output_from_tinker",
    "fwdbwd_output_to_tinker",
    "model_input_from_tinker",
    "model_input_to_tinker",
    "optim_output_from_tinker",
    "sample_result_from_tinker",
    "sample_result_to_tinker",
    "sampling_params_from_tinker",
    "sampling_params_to_tinker",
    "tensor_from_tinker",
    "tensor_to_tinker",
]

TensorDtype: TypeAlias = Literal["int64", "float32"]


def tensor_to_tinker(tensor: TensorData) -> tt.TensorData:
    np_dtype = np.float32 if tensor.dtype == "float32" else np.int64
    array = np.asarray(tensor.data, dtype=np_dtype).reshape(tensor.shape)
    return tt.TensorData(data=array, dtype=tensor.dtype, shape=list(tensor.shape))


def tensor_from_tinker(tensor: tt.TensorData) -> TensorData:
    dtype: TensorDtype = tensor.dtype
    array = tensor.to_numpy()
    shape = tuple(int(s) for s in array.shape)
    flat = array.reshape(-1).tolist()
    data: tuple[float, ...] | tuple[int, ...]
    data = tuple(float(v) for v in flat) if dtype == "float32" else tuple(int(v) for v in flat)
    return TensorData(data, dtype, shape)


def _chunk_to_tinker(chunk: ModelInputChunk) -> tt.ModelInputChunk:
    if isinstance(chunk, EncodedTextChunk):
        return tt.EncodedTextChunk(tokens=list(chunk.tokens))
    return tt.ImageChunk(
        data=chunk.data, format=chunk.format, expected_tokens=chunk.expected_tokens
    )


def _chunk_from_tinker(chunk: Any) -> ModelInputChunk:
    if isinstance(chunk, tt.EncodedTextChunk):
        return EncodedTextChunk(tuple(int(t) for t in chunk.tokens))
    if isinstance(chunk, tt.ImageChunk):
        return ImageChunk(bytes(chunk.data), chunk.format, int(chunk.expected_tokens or 0))
    raise TypeError(f"model input chunk {type(chunk).__name__} has no runtime equivalent")


def model_input_to_tinker(model_input: ModelInput) -> tt.ModelInput:
    return tt.ModelInput(chunks=[_chunk_to_tinker(c) for c in model_input.chunks])


def model_input_from_tinker(model_input: tt.ModelInput) -> ModelInput:
    return ModelInput(tuple(_chunk_from_tinker(c) for c in model_input.chunks))


def datum_to_tinker(datum: Datum) -> tt.Datum:
    return tt.Datum(
        model_input=model_input_to_tinker(datum.model_input),
        loss_fn_inputs={name: tensor_to_tinker(t) for name, t in datum.loss_fn_inputs.items()},
    )


def datum_from_tinker(datum: tt.Datum) -> Datum:
    return Datum(
        model_input_from_tinker(datum.model_input),
        {name: tensor_from_tinker(t) for name, t in datum.loss_fn_inputs.items()},
    )


def adam_params_to_tinker(params: AdamParams) -> tt.AdamParams:
    return tt.AdamParams(**params.model_dump())


def adam_params_from_tinker(params: tt.AdamParams) -> AdamParams:
    return AdamParams(**{name: getattr(params, name) for name in AdamParams.model_fields})


def sampling_params_to_tinker(params: SamplingParams) -> tt.SamplingParams:
    stop = list(params.stop) if params.stop is not None else None
    return tt.SamplingParams(
        max_tokens=params.max_tokens,
        seed=params.seed,
        stop=stop,
        temperature=params.temperature,
        top_k=params.top_k,
        top_p=params.top_p,
    )


def sampling_params_from_tinker(params: tt.SamplingParams) -> SamplingParams:
    stop: Any = [params.stop] if isinstance(params.stop, str) else params.stop
    return SamplingParams(
        max_tokens=params.max_tokens,
        temperature=params.temperature,
        top_p=params.top_p,
        top_k=params.top_k,
        stop=list(stop) if stop is not None else None,
        seed=params.seed,
    )


def fwdbwd_output_from_tinker(out: tt.ForwardBackwardOutput) -> ForwardBackwardOutput:
    return ForwardBackwardOutput(
        [
            {name: tensor_from_tinker(t) for name, t in record.items()}
            for record in out.loss_fn_outputs
        ],
        {name: float(v) for name, v in out.metrics.items()},
    )


def fwdbwd_output_to_tinker(out: ForwardBackwardOutput) -> tt.ForwardBackwardOutput:
    return tt.ForwardBackwardOutput(
        loss_fn_output_type="ArrayRecord",
        loss_fn_outputs=[
            {name: tensor_to_tinker(t) for name, t in record.items()}
            for record in out.loss_fn_outputs
        ],
        metrics=dict(out.metrics),
    )


def optim_output_from_tinker(out: tt.OptimStepResponse) -> OptimStepOutput:
    return OptimStepOutput({name: float(v) for name, v in (out.metrics or {}).items()})


def _topk_from_tinker(
    rows: Sequence[Sequence[tuple[int, float]] | None] | None,
) -> list[list[tuple[int, float]] | None] | None:
    if rows is None:
        return None
    return [None if row is None else [(int(t), float(lp)) for t, lp in row] for row in rows]


def sample_result_from_tinker(response: tt.SampleResponse) -> SampleResult:
    sequences = [
        SampledSequence(
            [int(t) for t in seq.tokens],
            None if seq.logprobs is None else [float(v) for v in seq.logprobs],
            seq.stop_reason,
            _topk_from_tinker(seq.topk_logprobs),
        )
        for seq in response.sequences
    ]
    prompt = response.prompt_logprobs
    target = response.target_prompt_logprobs
    alt = response.prompt_alt_tokens
    return SampleResult(
        sequences,
        None if prompt is None else [None if v is None else float(v) for v in prompt],
        _topk_from_tinker(response.topk_prompt_logprobs),
        None if target is None else tensor_from_tinker(target),
        None
        if alt is None
        else PromptAltTokens(tensor_from_tinker(alt.tokens), tensor_from_tinker(alt.logprobs)),
    )


def _topk_to_tinker(rows: Sequence[Sequence[tuple[int, float]] | None]) -> TopkLogprobs:
    """Dense matrices; empty cells hold the SDK's sentinel (token 0, logprob -99999)."""
    k = max((len(r) for r in rows if r is not None), default=1)
    ids = np.zeros((len(rows), k), dtype=np.int32)
    lps = np.full((len(rows), k), MASK_LOGPROB, dtype=np.float32)
    for i, row in enumerate(rows):
        for j, (tok, lp) in enumerate(row or ()):
            ids[i, j] = tok
            lps[i, j] = lp
    return TopkLogprobs(token_ids=ids, logprobs=lps)


def sample_result_to_tinker(
    result: SampleResult, sequence_ids: Sequence[str] | None = None
) -> tt.SampleResponse:
    ids = (
        list(sequence_ids)
        if sequence_ids is not None
        else [str(i) for i in range(len(result.sequences))]
    )
    sequences = [
        tt.SampledSequence(
            stop_reason=seq.stop_reason,
            sequence_id=seq_id,
            tokens_np=np.asarray(seq.tokens, dtype=np.int32),
            logprobs_np=None
            if seq.logprobs is None
            else np.asarray(seq.logprobs, dtype=np.float32),
            topk_logprobs_np=None if seq.topk_logprobs is None else _topk_to_tinker(seq.topk_logprobs),
        )
        for seq, seq_id in zip(result.sequences, ids, strict=True)
    ]
    prompt_np = None
    if result.prompt_logprobs is not None:
        prompt_np = np.asarray(
            [np.nan if v is None else v for v in result.prompt_logprobs], dtype=np.float32
        )
    topk = result.topk_prompt_logprobs
    target = result.target_prompt_logprobs
    alt = result.prompt_alt_tokens
    return tt.SampleResponse(
        sequences=sequences,
        prompt_logprobs_np=prompt_np,
        topk_prompt_logprobs_np=None if topk is None else _topk_to_tinker(topk),
        target_prompt_logprobs=None if target is None else tensor_to_tinker(target),
        prompt_alt_tokens=None
        if alt is None
        else tt.PromptAltTokens(
            tokens=tensor_to_tinker(alt.tokens), logprobs=tensor_to_tinker(alt.logprobs)
        ),
    )


def loss_fn_config_to_tinker(config: Mapping[str, float] | None) -> dict[str, float | str] | None:
    return None if config is None else {k: float(v) for k, v in config.items()}
