"""Runtime <-> `tinker.types` conversions lose nothing (float32 values stay exact)."""

from __future__ import annotations

from cookbook_adapters.tinker import _convert as cv
from cookbook_runtime.train.types import (
    AdamParams,
    Datum,
    EncodedTextChunk,
    ForwardBackwardOutput,
    ImageChunk,
    ModelInput,
    PromptAltTokens,
    SampledSequence,
    SampleResult,
    SamplingParams,
    TensorData,
)
from hypothesis import given, settings
from hypothesis import strategies as st

ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
tokens = st.integers(min_value=0, max_value=2**31 - 1)
f32 = st.floats(width=32, allow_nan=False)


@st.composite
def tensors(draw: st.DrawFn) -> TensorData:
    dtype = draw(st.sampled_from(["int64", "float32"]))
    rows = draw(st.integers(0, 4))
    cols = draw(st.integers(1, 4))
    two_d = draw(st.booleans())
    n = rows * cols if two_d else rows
    values = draw(st.lists(ints if dtype == "int64" else f32, min_size=n, max_size=n))
    data = tuple(int(v) for v in values) if dtype == "int64" else tuple(float(v) for v in values)
    return TensorData(data, dtype, (rows, cols) if two_d else (rows,))


chunks = st.one_of(
    st.lists(tokens, max_size=8).map(lambda t: EncodedTextChunk(tuple(t))),
    st.builds(
        ImageChunk,
        data=st.binary(max_size=16),
        format=st.sampled_from(["png", "jpeg"]),
        expected_tokens=st.integers(0, 1000),
    ),
)
model_inputs = st.lists(chunks, max_size=4).map(lambda cs: ModelInput(tuple(cs)))
names = st.sampled_from(["target_tokens", "weights", "logprobs", "advantages", "mask"])
datums = st.builds(
    Datum, model_input=model_inputs, loss_fn_inputs=st.dictionaries(names, tensors(), max_size=4)
)


@settings(max_examples=60, deadline=None)
@given(tensors())
def test_tensor_round_trip(tensor: TensorData) -> None:
    assert cv.tensor_from_tinker(cv.tensor_to_tinker(tensor)) == tensor


@settings(max_examples=60, deadline=None)
@given(datums)
def test_datum_round_trip(datum: Datum) -> None:
    back = cv.datum_from_tinker(cv.datum_to_tinker(datum))
    assert back.model_input == datum.model_input
    assert dict(back.loss_fn_inputs) == dict(datum.loss_fn_inputs)


@settings(max_examples=40, deadline=None)
@given(
    st.builds(
        AdamParams,
        learning_rate=st.floats(0, 10),
        beta1=st.floats(0, 0.999),
        beta2=st.floats(0, 0.999),
        eps=st.floats(1e-20, 1),
        weight_decay=st.floats(0, 1),
        grad_clip_norm=st.floats(0, 100),
    )
)
def test_adam_params_round_trip(params: AdamParams) -> None:
    assert cv.adam_params_from_tinker(cv.adam_params_to_tinker(params)) == params


stops = st.one_of(
    st.none(),
    st.lists(st.text(min_size=1, max_size=5), max_size=3),
    st.lists(tokens, min_size=1, max_size=3),
)


@settings(max_examples=60, deadline=None)
@given(
    st.builds(
        SamplingParams,
        max_tokens=st.one_of(st.none(), st.integers(1, 4096)),
        temperature=st.floats(0, 2),
        top_p=st.floats(0.01, 1),
        top_k=st.integers(-1, 100),
        stop=stops,
        seed=st.one_of(st.none(), st.integers(0, 2**31)),
    )
)
def test_sampling_params_round_trip(params: SamplingParams) -> None:
    assert cv.sampling_params_from_tinker(cv.sampling_params_to_tinker(params)) == params


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.dictionaries(names, tensors(), max_size=3), max_size=4),
    st.dictionaries(st.text(min_size=1, max_size=12), st.floats(allow_nan=False), max_size=4),
)
def test_forward_backward_output_round_trip(
    outputs: list[dict[str, TensorData]], metrics: dict[str, float]
) -> None:
    out = ForwardBackwardOutput(outputs, metrics)
    assert cv.fwdbwd_output_from_tinker(cv.fwdbwd_output_to_tinker(out)) == out


sequences = st.builds(
    SampledSequence,
    tokens=st.lists(tokens, max_size=8),
    logprobs=st.none(),
    stop_reason=st.sampled_from(["length", "stop"]),
)


@st.composite
def sample_results(draw: st.DrawFn) -> SampleResult:
    top_row = st.lists(st.tuples(tokens, st.floats(-50.0, 0.0, width=32)), min_size=2, max_size=2)
    seqs = []
    for seq in draw(st.lists(sequences, max_size=4)):
        with_lps = draw(st.booleans())
        lps = draw(
            st.lists(
                f32.filter(lambda v: v <= 0), min_size=len(seq.tokens), max_size=len(seq.tokens)
            )
        )
        n = len(seq.tokens)
        seq_top = draw(st.one_of(st.none(), st.lists(top_row, min_size=n, max_size=n)))
        seqs.append(SampledSequence(seq.tokens, lps if with_lps else None, seq.stop_reason, seq_top))
    prompt = draw(st.one_of(st.none(), st.lists(st.one_of(st.none(), f32), max_size=6)))
    k = draw(st.integers(1, 4))
    # Real logprobs, never the SDK's empty-cell sentinel (-99999).
    row = st.lists(st.tuples(tokens, st.floats(-50.0, 0.0, width=32)), min_size=k, max_size=k)
    topk = draw(st.one_of(st.none(), st.lists(st.one_of(st.none(), row), max_size=6)))
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


@settings(max_examples=60, deadline=None)
@given(sample_results())
def test_sample_result_round_trip(result: SampleResult) -> None:
    assert cv.sample_result_from_tinker(cv.sample_result_to_tinker(result)) == result
