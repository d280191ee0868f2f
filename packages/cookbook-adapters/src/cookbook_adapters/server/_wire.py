"""Translate between the Tinker wire format (protobuf and JSON) and runtime types.

The pinned SDK sends `forward_backward` as a protobuf body and expects
`ForwardBackwardOutput` and `SampleResponse` back as protobuf; every other body is
JSON. Only this module knows the byte layouts, so the routes stay about behaviour.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import pydantic
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.train.types import (
    AdamParams,
    Datum,
    EncodedTextChunk,
    ForwardBackwardOutput,
    ImageChunk,
    ModelInput,
    ModelInputChunk,
    SampleResult,
    SamplingParams,
    TensorData,
)
from tinker import types as tt
from tinker.proto import tinker_public_pb2 as pb

__all__ = [
    "CsrLayout",
    "adam_params_from_wire",
    "fwdbwd_output_to_proto",
    "fwdbwd_request_from_proto",
    "keep_last_prompt_positions",
    "model_input_from_wire",
    "sample_response_to_proto",
    "sampling_params_from_wire",
    "target_ids_from_wire",
]

_NUMPY_BY_PROTO: dict[int, Any] = {
    pb.DTYPE_FLOAT32: np.float32,
    pb.DTYPE_INT64: np.int64,
    pb.DTYPE_INT32: np.int32,
}


TensorDtype: TypeAlias = Literal["int64", "float32"]


_TOPK_EMPTY_LOGPROB = -99999.0
"""What the SDK reads as an empty top-k cell (with token id 0)."""


class WireError(ConfigError):
    """A request body does not follow the Tinker wire format."""


def _tensor_from_proto(msg: pb.Tensor) -> TensorData:
    np_dtype = _NUMPY_BY_PROTO.get(msg.dtype)
    if np_dtype is None:
        raise WireError(f"unsupported tensor dtype {msg.dtype}: send float32 or int64")
    dtype: TensorDtype = "float32" if msg.dtype == pb.DTYPE_FLOAT32 else "int64"
    shape = tuple(int(s) for s in msg.shape)
    if msg.HasField("sparse_csr"):
        csr = msg.sparse_csr
        values = np.frombuffer(csr.values, dtype=np_dtype)
        crow = np.frombuffer(csr.crow_indices, dtype=np.int64)
        cols = np.frombuffer(csr.col_indices, dtype=np.int64)
        if len(shape) != 2:
            raise WireError(f"a sparse CSR tensor needs a 2-D shape, got {list(shape)}")
        dense = np.zeros(shape, dtype=np_dtype)
        for row in range(shape[0]):
            start, end = int(crow[row]), int(crow[row + 1])
            dense[row, cols[start:end]] = values[start:end]
        flat = dense.reshape(-1)
    else:
        flat = np.frombuffer(msg.dense, dtype=np_dtype)
        if not shape:
            shape = (int(flat.size),)
    data: tuple[float, ...] | tuple[int, ...]
    data = (
        tuple(float(v) for v in flat.tolist())
        if dtype == "float32"
        else tuple(int(v) for v in flat.tolist())
    )
    return TensorData(data, dtype, shape)


def _chunk_from_proto(msg: pb.Chunk) -> ModelInputChunk:
    kind = msg.WhichOneof("chunk")
    if kind == "encoded_text":
        return EncodedTextChunk(
            tuple(int(t) for t in np.frombuffer(msg.encoded_text.tokens, dtype=np.int32))
        )
    if kind == "image":
        fmt = msg.image.format
        if fmt not in ("png", "jpeg"):
            raise WireError(f"image chunk format {fmt!r} is not supported: use png or jpeg")
        expected = msg.image.expected_tokens if msg.image.HasField("expected_tokens") else 0
        return ImageChunk(bytes(msg.image.data), fmt, int(expected))  # type: ignore[arg-type]
    raise WireError(f"model input chunk of kind {kind!r} is not supported by this server")


def fwdbwd_request_from_proto(
    body: bytes,
) -> tuple[str, int, str, dict[str, float], bool, list[Datum]]:
    """`(model_id, seq_id, loss_fn, loss_fn_config, forward_only, data)` of a forward_backward body."""
    msg = pb.ForwardBackwardRequest()
    try:
        msg.ParseFromString(body)
    except Exception as exc:  # protobuf raises DecodeError, a plain Exception subclass
        raise WireError(
            f"forward_backward body is not a ForwardBackwardRequest protobuf: {exc}"
        ) from exc
    config: dict[str, float] = {k: float(v) for k, v in msg.loss_fn_config.items()}
    for key, value in msg.loss_fn_config_v2.items():
        if value.WhichOneof("value") == "text":
            raise WireError(f"loss_fn_config[{key!r}] is text; this server takes numbers only")
        config[key] = float(value.number)
    data = [
        Datum(
            ModelInput(tuple(_chunk_from_proto(c) for c in d.model_input)),
            {name: _tensor_from_proto(t) for name, t in d.loss_fn_inputs.items()},
        )
        for d in msg.data
    ]
    return msg.model_id, int(msg.seq_id), msg.loss_fn, config, bool(msg.forward_only), data


def fwdbwd_output_to_proto(out: ForwardBackwardOutput) -> bytes:
    """Encode outputs as one `ArrayRecord` of per-field batched tensors (the layout the SDK decodes)."""
    record = pb.ArrayRecord(type_tag="ArrayRecord", num_datums=len(out.loss_fn_outputs))
    names = sorted({name for o in out.loss_fn_outputs for name in o})
    for name in names:
        tensors = [o[name] for o in out.loss_fn_outputs]
        is_float = tensors[0].dtype == "float32"
        np_dtype = np.float32 if is_float else np.int64
        arrays = [np.asarray(t.data, dtype=np_dtype) for t in tensors]
        offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([a.nbytes for a in arrays])
        batched = record.fields[name]
        batched.dtype = pb.DTYPE_FLOAT32 if is_float else pb.DTYPE_INT64
        batched.data = b"".join(a.tobytes() for a in arrays)
        batched.offsets = offsets.tobytes()
        batched.trailing_shape.extend(tensors[0].shape[1:])
    msg = pb.ForwardBackwardOutput(loss_fn_output_type="ArrayRecord", metrics=dict(out.metrics))
    if out.loss_fn_outputs:
        msg.loss_fn_outputs.append(record)
    encoded: bytes = msg.SerializeToString()
    return encoded


@dataclass(frozen=True)
class CsrLayout:
    """Where a sparse CSR request tensor's listed cells are; the response is laid out the same way."""

    crow_indices: tuple[int, ...]
    col_indices: tuple[int, ...]

    def cells(self) -> list[tuple[int, int]]:
        """`(row, col)` of each listed value, in storage order."""
        return [
            (row, self.col_indices[n])
            for row in range(len(self.crow_indices) - 1)
            for n in range(self.crow_indices[row], self.crow_indices[row + 1])
        ]


def target_ids_from_wire(tensor: tt.TensorData) -> tuple[TensorData, CsrLayout | None]:
    """`target_prompt_logprobs` as dense int64 ids (-1 in unlisted sparse cells) and its CSR layout."""
    shape = list(tensor.shape or [])
    if tensor.dtype != "int64" or len(shape) != 2:
        raise WireError(
            f"target_prompt_logprobs is {tensor.dtype} of shape {shape}; "
            "send an int64 tensor of token ids, [len(prompt) - 1, K]"
        )
    rows, width = int(shape[0]), int(shape[1])
    values = [int(v) for v in tensor.data]
    if tensor.sparse_crow_indices is None:
        if len(values) != rows * width:
            raise WireError(f"target_prompt_logprobs has {len(values)} values for shape {shape}")
        return TensorData(tuple(values), "int64", (rows, width)), None
    crow = [int(v) for v in tensor.sparse_crow_indices]
    cols = [int(v) for v in tensor.sparse_col_indices or []]
    if (
        len(crow) != rows + 1
        or crow[0] != 0
        or crow[-1] != len(values)
        or len(cols) != len(values)
        or any(b < a for a, b in itertools.pairwise(crow))
        or any(not 0 <= c < width for c in cols)
    ):
        raise WireError(
            f"target_prompt_logprobs is not a valid CSR tensor of shape {shape} "
            f"({len(crow)} row pointers, {len(cols)} columns, {len(values)} values)"
        )
    layout = CsrLayout(tuple(crow), tuple(cols))
    dense = np.full((rows, width), -1, dtype=np.int64)
    for (row, col), value in zip(layout.cells(), values, strict=True):
        dense[row, col] = value
    return TensorData(tuple(int(v) for v in dense.reshape(-1)), "int64", (rows, width)), layout


def _float_tensor_to_proto(tensor: TensorData, layout: CsrLayout | None = None) -> pb.Tensor:
    """Dense float32 bytes, or (given a request's layout) the same CSR cells of it."""
    array = np.asarray(tensor.data, dtype=np.float32).reshape(tensor.shape)
    msg = pb.Tensor(dtype=pb.DTYPE_FLOAT32, shape=list(tensor.shape))
    if layout is None:
        msg.dense = array.tobytes()
        return msg
    listed = np.asarray([array[r, c] for r, c in layout.cells()], dtype=np.float32)
    msg.sparse_csr.values = listed.tobytes()
    msg.sparse_csr.crow_indices = np.asarray(layout.crow_indices, dtype=np.int64).tobytes()
    msg.sparse_csr.col_indices = np.asarray(layout.col_indices, dtype=np.int64).tobytes()
    return msg


def _int_tensor_to_proto(tensor: TensorData) -> pb.Tensor:
    return pb.Tensor(
        dtype=pb.DTYPE_INT64,
        shape=list(tensor.shape),
        dense=np.asarray(tensor.data, dtype=np.int64).tobytes(),
    )


def sample_response_to_proto(result: SampleResult, target_layout: CsrLayout | None = None) -> bytes:
    """Encode a `SampleResult` as a `SampleResponse`: sequences (with their top-k rows), prompt
    logprobs (NaN where absent), top-k prompt rows, target logprobs (laid out as the request's
    target ids were) and prompt alternatives."""
    msg = pb.SampleResponse()
    for seq in result.sequences:
        out = msg.sequences.add()
        out.stop_reason = (
            pb.STOP_REASON_STOP if seq.stop_reason == "stop" else pb.STOP_REASON_LENGTH
        )
        out.tokens = np.asarray(seq.tokens, dtype=np.int32).tobytes()
        if seq.logprobs is not None:
            out.logprobs = np.asarray(seq.logprobs, dtype=np.float32).tobytes()
        if seq.topk_logprobs is not None:
            out.topk_sampled_logprobs.CopyFrom(_topk_to_proto(seq.topk_logprobs))
    if result.prompt_logprobs is not None:
        values = [math.nan if v is None else float(v) for v in result.prompt_logprobs]
        msg.prompt_logprobs = np.asarray(values, dtype=np.float32).tobytes()
    if result.topk_prompt_logprobs is not None:
        msg.topk_prompt_logprobs.CopyFrom(_topk_to_proto(result.topk_prompt_logprobs))
    if result.target_prompt_logprobs is not None:
        msg.target_prompt_logprobs.CopyFrom(
            _float_tensor_to_proto(result.target_prompt_logprobs, target_layout)
        )
    if result.prompt_alt_tokens is not None:
        msg.prompt_alt_tokens.tokens.CopyFrom(_int_tensor_to_proto(result.prompt_alt_tokens.tokens))
        msg.prompt_alt_tokens.logprobs.CopyFrom(
            _float_tensor_to_proto(result.prompt_alt_tokens.logprobs)
        )
    encoded: bytes = msg.SerializeToString()
    return encoded


def _topk_to_proto(rows: Sequence[Sequence[tuple[int, float]] | None]) -> pb.TopkLogprobs:
    """Dense `[positions, k]` matrices; empty cells (and rows that are None) hold the SDK's sentinel."""
    k = max((len(r) for r in rows if r is not None), default=1)  # k=0 would read back as []
    ids = np.zeros((len(rows), k), dtype=np.int32)
    lps = np.full((len(rows), k), _TOPK_EMPTY_LOGPROB, dtype=np.float32)
    for i, row in enumerate(rows):
        for j, (tok, lp) in enumerate(row or ()):
            ids[i, j] = tok
            lps[i, j] = lp
    return pb.TopkLogprobs(token_ids=ids.tobytes(), logprobs=lps.tobytes(), k=k, length=len(rows))


def keep_last_prompt_positions(result: SampleResult, last_n: int) -> SampleResult:
    """`prompt_logprobs_last_n`: None at every prompt position but the last `last_n`
    (of the prompt logprobs and top-k rows; target logprobs and alternatives are kept whole)."""

    def cut(values: list[Any] | None) -> list[Any] | None:
        if values is None:
            return None
        keep = len(values) - last_n
        return [None if i < keep else v for i, v in enumerate(values)]

    return dataclasses.replace(
        result,
        prompt_logprobs=cut(result.prompt_logprobs),
        topk_prompt_logprobs=cut(result.topk_prompt_logprobs),
    )


def model_input_from_wire(model_input: tt.ModelInput) -> ModelInput:
    """A runtime `ModelInput` from the SDK's JSON-decoded one."""
    chunks: list[ModelInputChunk] = []
    for chunk in model_input.chunks:
        if isinstance(chunk, tt.EncodedTextChunk):
            chunks.append(EncodedTextChunk(tuple(int(t) for t in chunk.tokens)))
        elif isinstance(chunk, tt.ImageChunk):
            chunks.append(
                ImageChunk(bytes(chunk.data), chunk.format, int(chunk.expected_tokens or 0))
            )
        else:
            raise WireError(
                f"model input chunk {type(chunk).__name__} is not supported by this server"
            )
    return ModelInput(tuple(chunks))


def sampling_params_from_wire(params: tt.SamplingParams) -> SamplingParams:
    """Runtime sampling parameters; a single stop string becomes a one-element list."""
    stop: list[str] | list[int] | None
    if params.stop is None:
        stop = None
    elif isinstance(params.stop, str):
        stop = [params.stop]
    else:
        stop = list(params.stop)  # type: ignore[assignment]
    return SamplingParams(
        max_tokens=params.max_tokens,
        temperature=params.temperature,
        top_p=params.top_p,
        top_k=params.top_k,
        stop=stop,
        seed=params.seed,
    )


def adam_params_from_wire(body: Mapping[str, Any]) -> AdamParams:
    """The Adam parameters of an optim_step body (`adam_params`, or a non-Adam family refused)."""
    params = body.get("adam_params")
    if params is None:
        other = body.get("optimizer_params") or {}
        raise WireError(
            f"optimizer {other.get('type', 'unknown')!r} is not supported: send adam_params"
        )
    fields = {k: params[k] for k in AdamParams.model_fields if k in params}
    try:
        return AdamParams(**fields)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise WireError(f"adam_params.{where}: {first['msg']}") from None
