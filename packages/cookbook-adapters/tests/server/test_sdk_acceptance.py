"""The unmodified `tinker` SDK completes a whole training session against the server."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import tinker
from cookbook_adapters.server import RunningServer, running_server
from tinker import types


def _datum(tokens: list[int]) -> types.Datum:
    return types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:], "weights": [1.0] * (len(tokens) - 1)},
    )


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The server over its default backend, the local engine, on the built-in tiny model."""
    pytest.importorskip("torch")
    from cookbook_adapters.local import TINY_CHAT, LocalServiceClient

    states: Path = tmp_path_factory.mktemp("server-states")
    with running_server(
        LocalServiceClient(device="cpu", root=states), models=[TINY_CHAT]
    ) as server:
        yield server


@pytest.fixture(params=["fake", "local"])
def backend(request: pytest.FixtureRequest) -> tuple[RunningServer, str]:
    if request.param == "fake":
        return request.getfixturevalue("fake_server"), "fake/model"
    return request.getfixturevalue("local_server"), "cookbook/tiny-chat"


def test_sdk_training_session_end_to_end(backend: tuple[RunningServer, str]) -> None:
    server, model = backend
    service = tinker.ServiceClient(base_url=server.base_url)
    training = service.create_lora_training_client(base_model=model, rank=4).result()
    info = training.get_info()
    assert info.lora_rank == 4 and info.model_data.model_name == model

    tokenizer = training.get_tokenizer()
    text = "hello world, hello tinker"
    tokens = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(tokens) == text
    data = [_datum(tokens)]

    losses = []
    for _ in range(5):
        fwdbwd = training.forward_backward(data, "cross_entropy")
        optim = training.optim_step(types.AdamParams(learning_rate=1e-3))
        out = fwdbwd.result()
        optim.result()
        assert len(out.loss_fn_outputs[0]["logprobs"].tolist()) == len(tokens) - 1
        losses.append(-sum(out.loss_fn_outputs[0]["logprobs"].tolist()))
    assert losses[-1] < losses[0], f"loss did not fall: {losses}"

    sampler = training.save_weights_and_get_sampling_client().result()
    prompt = types.ModelInput.from_ints(tokens)
    sampled = sampler.sample(prompt, 2, types.SamplingParams(max_tokens=5, seed=7)).result()
    assert len(sampled.sequences) == 2
    assert all(1 <= len(s.tokens) <= 5 for s in sampled.sequences)
    assert all(s.sequence_id for s in sampled.sequences)

    logprobs = sampler.compute_logprobs(prompt).result()
    assert len(logprobs) == len(tokens) and logprobs[0] is None
    assert all(v is not None and v <= 0 for v in logprobs[1:])

    path = training.save_state("acceptance").result().path
    assert path.startswith("tinker://")
    before = (
        training.forward(data, "cross_entropy").result().loss_fn_outputs[0]["logprobs"].tolist()
    )
    resumed = service.create_training_client_from_state_with_optimizer(path).result()
    after = resumed.forward(data, "cross_entropy").result().loss_fn_outputs[0]["logprobs"].tolist()
    assert after == before, "resumed weights differ from the saved ones"

    service.close("success").result()


def test_a_closed_sdk_client_leaves_no_socket_open(fake_server: RunningServer) -> None:
    """The SDK fetches /client/config through a pool it never closes; the server closes that link."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ResourceWarning)
        service = tinker.ServiceClient(base_url=fake_server.base_url)
        service.create_lora_training_client(base_model="fake/model", rank=1).result()
        service.close("success").result()
        del service
        gc.collect()
    leaks = [str(w.message) for w in seen if issubclass(w.category, ResourceWarning)]
    assert not leaks, f"sockets left open after ServiceClient.close(): {leaks}"
