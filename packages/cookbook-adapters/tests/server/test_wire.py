"""The server's protobuf encoding is exactly what the pinned SDK encodes and decodes."""

from __future__ import annotations

from cookbook_adapters.server import _wire as wire
from cookbook_adapters.tinker import _convert as cv
from cookbook_runtime.train.types import (
    Datum,
    EncodedTextChunk,
    ForwardBackwardOutput,
    ImageChunk,
    ModelInput,
    PromptAltTokens,
    SampledSequence,
    SampleResult,
    TensorData,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from tinker import types as tt
from tinker.proto.request_conv import forward_backward_request_to_proto
from tinker.proto.response_conv import (
    deserialize_forward_backward_output,
    deserialize_sample_response,
)

tokens = st.integers(min_value=0, max_value=2**31 - 1)
f32 = st.floats(width=32, allow_nan=False)


def _vector(dtype: str, n: int) -> st.SearchStrategy[TensorData]:
    values = st.lists(
        st.integers(-(2**40), 2**40) if dtype == "int64" else f32, min_size=n, max_size=n
    )
    return values.map(lambda v: TensorData.from_list(v, dtype))  # type: ignore[arg-type]


@st.composite
def datums(draw: st.DrawFn) -> Datum:
    toks = draw(st.lists(tokens, min_size=1, max_size=10))
    n = len(toks)
    inputs = {
        "target_tokens": draw(_vector("int64", n)),
        "weights": draw(_vector("float32", n)),
    }
    if draw(st.booleans()):
        inputs["advantages"] = draw(_vector("float32", n))
    chunks: list[EncodedTextChunk | ImageChunk] = [EncodedTextChunk(tuple(toks))]
    if draw(st.booleans()):
        image = ImageChunk(
            draw(st.binary(max_size=32)),
            draw(st.sampled_from(["png", "jpeg"])),
            draw(st.integers(0, 64)),
        )
        chunks.insert(draw(st.integers(0, 1)), image)
    return Datum(ModelInput(tuple(chunks)), inputs)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(datums(), min_size=1, max_size=4),
    st.sampled_from(["cross_entropy", "importance_sampling", "ppo", "cispo", "dro"]),
    st.dictionaries(
        st.sampled_from(["clip_low_threshold", "clip_high_threshold", "beta"]), f32, max_size=2
    ),
    st.booleans(),
)
def test_forward_backward_request_decodes_what_the_sdk_sends(
    data: list[Datum], loss_fn: str, config: dict[str, float], forward_only: bool
) -> None:
    request = tt.ForwardBackwardRequest(
        forward_backward_input=tt.ForwardBackwardInput(
            data=[cv.datum_to_tinker(d) for d in data],
            loss_fn=loss_fn,
            loss_fn_config=config or None,
        ),
        model_id="s:train:0",
        seq_id=3,
    )
    msg = forward_backward_request_to_proto(request)
    msg.forward_only = forward_only
    model_id, seq_id, got_loss, got_config, got_forward_only, got_data = (
        wire.fwdbwd_request_from_proto(msg.SerializeToString())
    )
    assert (model_id, seq_id, got_loss, got_forward_only) == ("s:train:0", 3, loss_fn, forward_only)
    assert got_config == config
    assert got_data == data


@st.composite
def outputs(draw: st.DrawFn) -> ForwardBackwardOutput:
    lengths = draw(st.lists(st.integers(0, 8), max_size=4))
    records = []
    with_elementwise = draw(st.booleans())
    for n in lengths:
        record = {"logprobs": draw(_vector("float32", n))}
        if with_elementwise:
            record["elementwise_loss"] = draw(_vector("float32", n))
        records.append(record)
    metrics = draw(
        st.dictionaries(st.sampled_from(["loss:sum", "num_tokens:sum", "kl:mean"]), f32, max_size=3)
    )
    return ForwardBackwardOutput(records, metrics)


@settings(max_examples=50, deadline=None)
@given(outputs())
def test_forward_backward_output_is_what_the_sdk_decodes(out: ForwardBackwardOutput) -> None:
    decoded = deserialize_forward_backward_output(wire.fwdbwd_output_to_proto(out))
    assert cv.fwdbwd_output_from_tinker(decoded) == out


@st.composite
def samples(draw: st.DrawFn) -> SampleResult:
    top_row = st.lists(st.tuples(tokens, st.floats(-50.0, 0.0, width=32)), min_size=2, max_size=2)
    seqs = []
    for _ in range(draw(st.integers(1, 3))):
        # The SDK reads empty logprob bytes as "no logprobs", so samples have >= 1 token.
        toks = draw(st.lists(tokens, min_size=1, max_size=6))
        lps = draw(st.one_of(st.none(), st.lists(f32, min_size=len(toks), max_size=len(toks))))
        seq_top = draw(st.one_of(st.none(), st.lists(top_row, min_size=len(toks), max_size=len(toks))))
        seqs.append(SampledSequence(toks, lps, draw(st.sampled_from(["length", "stop"])), seq_top))
    prompt = draw(st.one_of(st.none(), st.lists(st.one_of(st.none(), f32), min_size=1, max_size=6)))
    k = draw(st.integers(1, 4))
    # Real logprobs, never the SDK's empty-cell sentinel (-99999).
    lp = st.floats(-50.0, 0.0, width=32)
    row = st.lists(st.tuples(tokens, lp), min_size=k, max_size=k)
    topk = draw(st.one_of(st.none(), st.lists(st.one_of(st.none(), row), min_size=1, max_size=6)))
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 3)))
    size = shape[0] * shape[1]
    target = draw(st.one_of(st.none(), st.lists(f32, min_size=size, max_size=size)))
    alt = draw(
        st.one_of(
            st.none(),
            st.tuples(st.lists(tokens, min_size=size, max_size=size), st.lists(f32, min_size=size, max_size=size)),
        )
    )
    return SampleResult(
        seqs,
        prompt,
        topk,
        None if target is None else TensorData(tuple(target), "float32", shape),
        None
        if alt is None
        else PromptAltTokens(TensorData(tuple(alt[0]), "int64", shape), TensorData(tuple(alt[1]), "float32", shape)),
    )


@settings(max_examples=50, deadline=None)
@given(samples())
def test_sample_response_is_what_the_sdk_decodes(result: SampleResult) -> None:
    decoded = cv.sample_result_from_tinker(
        deserialize_sample_response(wire.sample_response_to_proto(result))
    )
    assert decoded == result
