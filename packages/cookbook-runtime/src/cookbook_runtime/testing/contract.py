"""The port-contract suite: behaviour every adapter of a port must show.

Each `*_CHECKS` dict maps a check name to an async function taking the subject
(and, where data is needed, a factory). Adapter test modules parametrize over
them, so every adapter is held to the same contract without depending on pytest
here:

    @pytest.mark.parametrize("check", BLOB_STORE_CHECKS.values(), ids=BLOB_STORE_CHECKS.keys())
    async def test_blob_contract(check, store):
        await check(store)
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from cookbook_runtime.atomic import atomic_write
from cookbook_runtime.errors import BackendError, CookbookError, StorageError
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.ports._protocols import (
    BlobStore,
    DatasetStore,
    EmbeddingClient,
    HubClient,
    MetricsSink,
    ServiceClient,
)
from cookbook_runtime.testing._feedback_contract import FEEDBACK_STORE_CHECKS
from cookbook_runtime.types import AdamParams, Datum, ModelInput, SamplingParams, TensorData

__all__ = [
    "BLOB_STORE_CHECKS",
    "DATASET_STORE_CHECKS",
    "EMBEDDING_CHECKS",
    "FEEDBACK_STORE_CHECKS",
    "HUB_CHECKS",
    "METRICS_SINK_CHECKS",
    "SERVICE_CHECKS",
    "DatasetFactory",
    "ServiceSubject",
]

Check = Callable[..., Awaitable[None]]


async def _raises(exc_type: type[BaseException], awaitable: Awaitable[Any], what: str) -> None:
    try:
        await awaitable
    except exc_type:
        return
    raise AssertionError(f"{what}: expected {exc_type.__name__}")


# -- BlobStore ------------------------------------------------------------------

async def blob_round_trip(store: BlobStore) -> None:
    await store.write("contract/a.bin", b"\x00hello\xff")
    got = await store.read("contract/a.bin")
    assert got == b"\x00hello\xff", f"read back {got!r}"


async def blob_overwrite(store: BlobStore) -> None:
    await store.write("contract/over.txt", b"one")
    await store.write("contract/over.txt", b"two")
    assert await store.read("contract/over.txt") == b"two"


async def blob_exists_and_delete(store: BlobStore) -> None:
    await store.write("contract/del.txt", b"x")
    assert await store.exists("contract/del.txt")
    await store.delete("contract/del.txt")
    assert not await store.exists("contract/del.txt")
    await store.delete("contract/del.txt")  # idempotent


async def blob_list_prefix(store: BlobStore) -> None:
    for key in ("contract/list/b.txt", "contract/list/a.txt", "contract/other/c.txt"):
        await store.write(key, b"1")
    listed = await store.list("contract/list/")
    assert listed == ["contract/list/a.txt", "contract/list/b.txt"], f"listed {listed}"


async def blob_missing_read_raises(store: BlobStore) -> None:
    await _raises(StorageError, store.read("contract/never-written"), "read of a missing key")


async def blob_rejects_bad_keys(store: BlobStore) -> None:
    for bad in ("../escape", "/abs/key", "a/../../b", ""):
        await _raises(StorageError, store.write(bad, b"x"), f"write to {bad!r}")


async def blob_stream(store: BlobStore) -> None:
    payload = bytes(range(256)) * 1000
    await store.write("contract/stream.bin", payload)
    chunks = [c async for c in store.read_stream("contract/stream.bin", chunk_size=4096)]
    assert b"".join(chunks) == payload
    assert len(chunks) > 1, "read_stream returned the object in one chunk"


async def blob_write_file(store: BlobStore) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.bin"
        atomic_write(path, b"file-content")
        await store.write_file("contract/file.bin", path)
    assert await store.read("contract/file.bin") == b"file-content"


BLOB_STORE_CHECKS: dict[str, Check] = {
    f.__name__: f
    for f in (
        blob_round_trip,
        blob_overwrite,
        blob_exists_and_delete,
        blob_list_prefix,
        blob_missing_read_raises,
        blob_rejects_bad_keys,
        blob_stream,
        blob_write_file,
    )
}


# -- DatasetStore ---------------------------------------------------------------

DatasetFactory = Callable[[dict[str, list[dict[str, Any]]]], tuple[DatasetStore, DatasetRef]]
"""`{split: rows} -> (store, ref)`: makes the adapter hold those rows (files, a fake hub, ...)."""

_ROWS = [{"id": i, "text": f"row {i}", "messages": [{"role": "user", "content": f"q{i}"}]} for i in range(20)]


async def dataset_iterates_rows(factory: DatasetFactory) -> None:
    store, ref = factory({"train": _ROWS})
    got = list(store.open(ref))
    assert [r["id"] for r in got] == list(range(20)), f"ids {[r['id'] for r in got]}"
    assert got[3]["messages"] == _ROWS[3]["messages"]


async def dataset_len(factory: DatasetFactory) -> None:
    store, ref = factory({"train": _ROWS})
    assert len(store.open(ref)) == 20


async def dataset_shuffle_is_seeded_permutation(factory: DatasetFactory) -> None:
    store, ref = factory({"train": _ROWS})
    a = [r["id"] for r in store.open(ref).shuffle(7)]
    b = [r["id"] for r in store.open(ref).shuffle(7)]
    c = [r["id"] for r in store.open(ref).shuffle(8)]
    assert a == b, "same seed gave different orders"
    assert sorted(a) == list(range(20)), "shuffle is not a permutation"
    assert a != c, "different seeds gave the same order"


async def dataset_take_skip_select(factory: DatasetFactory) -> None:
    store, ref = factory({"train": _ROWS})
    rows = store.open(ref)
    assert [r["id"] for r in rows.take(3)] == [0, 1, 2]
    assert [r["id"] for r in rows.skip(17)] == [17, 18, 19]
    assert [r["id"] for r in rows.select([5, 1, 9])] == [5, 1, 9]
    assert [r["id"] for r in rows.skip(2).take(2)] == [2, 3]


async def dataset_splits(factory: DatasetFactory) -> None:
    store, ref = factory({"train": _ROWS, "test": _ROWS[:4]})
    assert {"train", "test"} <= set(store.splits(ref))
    assert [r["id"] for r in store.open(ref, "test")] == [0, 1, 2, 3]


async def dataset_missing_split_raises(factory: DatasetFactory) -> None:
    store, ref = factory({"train": _ROWS})
    try:
        list(store.open(ref, "nope"))
    except CookbookError as exc:
        assert "nope" in str(exc), f"error does not name the split: {exc}"
        return
    raise AssertionError("opening a missing split did not raise a CookbookError")


DATASET_STORE_CHECKS: dict[str, Check] = {
    f.__name__: f
    for f in (
        dataset_iterates_rows,
        dataset_len,
        dataset_shuffle_is_seeded_permutation,
        dataset_take_skip_select,
        dataset_splits,
        dataset_missing_split_raises,
    )
}


# -- ServiceClient / TrainingClient / SamplingClient -----------------------------

ServiceSubject = tuple[ServiceClient, str]
"""`(service, base_model)`: a service and a model name it can train."""


def _datum(tokens: Sequence[int]) -> Datum:
    inputs = list(tokens[:-1])
    targets = list(tokens[1:])
    return Datum(
        ModelInput.from_ints(inputs),
        {
            "target_tokens": TensorData.from_list(targets, "int64"),
            "weights": TensorData.from_list([1.0] * len(targets), "float32"),
        },
    )


async def _training_data(service: ServiceClient, model: str) -> list[Datum]:
    tok = service.get_tokenizer(model)
    texts = ["hello world, this is a test", "the quick brown fox jumps"]
    return [_datum(tok.encode(t, add_special_tokens=False)) for t in texts]


async def service_forward_backward_shapes(subject: ServiceSubject) -> None:
    service, model = subject
    client = await service.create_lora_training_client(model, rank=4, seed=0)
    data = await _training_data(service, model)
    out = await (await client.forward_backward(data, "cross_entropy")).result()
    assert len(out.loss_fn_outputs) == len(data)
    for d, o in zip(data, out.loss_fn_outputs, strict=True):
        assert len(o["logprobs"].data) == d.model_input.length, "one logprob per input token"
        assert all(v <= 0.0 + 1e-6 for v in o["logprobs"].data), "logprobs must be <= 0"
    await client.close()


async def service_training_lowers_loss(subject: ServiceSubject) -> None:
    service, model = subject
    client = await service.create_lora_training_client(model, rank=4, seed=0)
    data = await _training_data(service, model)

    def nll(out: Any) -> float:
        return -sum(sum(o["logprobs"].data) for o in out.loss_fn_outputs)

    first = nll(await (await client.forward(data)).result())
    for _ in range(5):
        await client.forward_backward(data, "cross_entropy")
        await client.optim_step(AdamParams(learning_rate=1e-2))
    last = nll(await (await client.forward(data)).result())
    assert last < first, f"loss did not fall: {first} -> {last}"
    await client.close()


async def service_requests_pipeline(subject: ServiceSubject) -> None:
    """Several requests may be queued before any result is awaited."""
    service, model = subject
    client = await service.create_lora_training_client(model, rank=4, seed=0)
    data = await _training_data(service, model)
    h1 = await client.forward_backward(data, "cross_entropy")
    h2 = await client.optim_step(AdamParams(learning_rate=1e-3))
    h3 = await client.forward(data)
    await h3.result()
    await h2.result()
    await h1.result()
    await client.close()


async def service_save_and_load_state(subject: ServiceSubject) -> None:
    service, model = subject
    client = await service.create_lora_training_client(model, rank=4, seed=0)
    data = await _training_data(service, model)
    await client.forward_backward(data, "cross_entropy")
    await client.optim_step(AdamParams(learning_rate=1e-2))
    path = await (await client.save_state("contract")).result()
    before = (await (await client.forward(data)).result()).loss_fn_outputs[0]["logprobs"].data
    restored = await service.create_training_client_from_state(path)
    after = (await (await restored.forward(data)).result()).loss_fn_outputs[0]["logprobs"].data
    assert len(before) == len(after)
    assert all(abs(a - b) < 1e-4 for a, b in zip(before, after, strict=True)), "state did not round-trip"
    await client.close()
    await restored.close()


async def service_sampling(subject: ServiceSubject) -> None:
    service, model = subject
    client = await service.create_lora_training_client(model, rank=4, seed=0)
    sampler = await client.sampling_client("contract-sampler")
    tok = sampler.tokenizer()
    prompt = ModelInput.from_ints(tok.encode("hello", add_special_tokens=False))
    params = SamplingParams(max_tokens=6, temperature=1.0, seed=123)
    a = await sampler.sample(prompt, 2, params)
    b = await sampler.sample(prompt, 2, params)
    assert len(a.sequences) == 2
    for seq in a.sequences:
        assert 1 <= len(seq.tokens) <= 6, f"{len(seq.tokens)} tokens for max_tokens=6"
        assert seq.logprobs is not None and len(seq.logprobs) == len(seq.tokens)
    assert [s.tokens for s in a.sequences] == [s.tokens for s in b.sequences], "seeded sampling differs"
    lps = await sampler.compute_logprobs(prompt)
    assert len(lps) == prompt.length and lps[0] is None
    await sampler.close()
    await sampler.close()  # closing twice is a no-op
    try:
        await sampler.sample(prompt, 1, params)
    except BackendError:
        pass
    else:
        raise AssertionError("a closed sampling client still samples; close() must release it")
    await client.close()


async def service_prompt_logprobs(subject: ServiceSubject) -> None:
    """`sample` returns prompt logprobs (as `compute_logprobs` gives) and top-k rows when asked."""
    service, model = subject
    client = await service.create_lora_training_client(model, rank=4, seed=0)
    sampler = await client.sampling_client("contract-prompt-logprobs")
    ids = sampler.tokenizer().encode("hello there", add_special_tokens=False)
    prompt = ModelInput.from_ints(ids)
    params = SamplingParams(max_tokens=1, temperature=1.0, seed=0)
    plain = await sampler.sample(prompt, 1, params)
    assert plain.prompt_logprobs is None and plain.topk_prompt_logprobs is None, (
        "prompt logprobs came back unasked"
    )
    k = 3
    res = await sampler.sample(prompt, 1, params, include_prompt_logprobs=True, topk_prompt_logprobs=k)
    scored = await sampler.compute_logprobs(prompt)
    got = res.prompt_logprobs
    assert got is not None and len(got) == len(ids) and got[0] is None, f"prompt logprobs {got}"
    for i, (a, b) in enumerate(zip(got[1:], scored[1:], strict=True), start=1):
        assert a is not None and b is not None and abs(a - b) < 1e-4, f"position {i}: {a} vs {b}"
    rows = res.topk_prompt_logprobs
    assert rows is not None and len(rows) == len(ids) and rows[0] is None, f"top-k rows {rows}"
    for i, row in enumerate(rows[1:], start=1):
        assert row is not None and len(row) == k, f"position {i}: {row} is not {k} entries"
        tokens = [t for t, _ in row]
        lps = [lp for _, lp in row]
        assert len(set(tokens)) == k, f"position {i}: repeated tokens {tokens}"
        assert lps == sorted(lps, reverse=True) and lps[0] <= 1e-6, f"position {i}: {lps}"
        for t, lp in row:
            if t == ids[i]:
                assert abs(lp - (got[i] or 0.0)) < 1e-4, f"position {i}: top-k {lp} vs {got[i]}"
    await sampler.close()
    await client.close()


async def service_tokenizer_round_trip(subject: ServiceSubject) -> None:
    service, model = subject
    tok = service.get_tokenizer(model)
    text = "Hello, world! 123"
    assert tok.decode(tok.encode(text, add_special_tokens=False)) == text


SERVICE_CHECKS: dict[str, Check] = {
    f.__name__: f
    for f in (
        service_forward_backward_shapes,
        service_training_lowers_loss,
        service_requests_pipeline,
        service_save_and_load_state,
        service_sampling,
        service_prompt_logprobs,
        service_tokenizer_round_trip,
    )
}


# -- HubClient -------------------------------------------------------------------

async def hub_list_download_snapshot(subject: tuple[HubClient, str, dict[str, bytes]]) -> None:
    """`(hub, repo_id, files)`: the repo must hold exactly `files`."""
    hub, repo_id, files = subject
    assert sorted(await hub.list_files(repo_id)) == sorted(files)
    name = sorted(files)[0]
    path = await hub.download(repo_id, name)
    assert Path(path).read_bytes() == files[name]
    root = Path(await hub.snapshot(repo_id))
    for fname, content in files.items():
        assert (root / fname).read_bytes() == content, f"snapshot lacks {fname}"


async def hub_missing_repo_raises(subject: tuple[HubClient, str, dict[str, bytes]]) -> None:
    hub, _, _ = subject
    await _raises(CookbookError, hub.list_files("cookbook-contract/does-not-exist"), "listing a missing repo")


HUB_CHECKS: dict[str, Check] = {f.__name__: f for f in (hub_list_download_snapshot, hub_missing_repo_raises)}


# -- EmbeddingClient -------------------------------------------------------------

async def embeddings_shape_and_determinism(client: EmbeddingClient) -> None:
    texts = ["a cat sat on the mat", "stock markets fell", "a kitten on a rug"]
    a = await client.embed(texts)
    b = await client.embed(texts)
    assert len(a) == 3 and len({len(v) for v in a}) == 1 and len(a[0]) > 0
    assert all(abs(x - y) < 1e-5 for va, vb in zip(a, b, strict=True) for x, y in zip(va, vb, strict=True))
    assert await client.embed([]) == []


EMBEDDING_CHECKS: dict[str, Check] = {f.__name__: f for f in (embeddings_shape_and_determinism,)}


# -- MetricsSink -----------------------------------------------------------------

async def metrics_sink_run(sink: MetricsSink) -> None:
    """start, a few steps with floats, ints and an eval row, close: nothing raises."""
    sink.start({"learning_rate": 1e-4, "model": {"name": "m"}})
    for step in range(3):
        sink.log_metrics({"train_mean_nll": 1.0 / (step + 1), "num_tokens": 10 * step, "progress": step / 3}, step)
    sink.log_metrics({"test/nll": 0.5, "progress": 1.0}, 3)
    sink.close()


METRICS_SINK_CHECKS: dict[str, Check] = {f.__name__: f for f in (metrics_sink_run,)}

