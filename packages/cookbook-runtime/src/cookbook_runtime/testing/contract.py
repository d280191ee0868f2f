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

import hashlib
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from cookbook_runtime.atomic import atomic_write
from cookbook_runtime.errors import (
    BackendError,
    ConfigError,
    CookbookError,
    StorageError,
    UnknownNameError,
)
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.ports._model_types import (
    ArtifactSource,
    DeploymentDraft,
    HealthCheck,
    Registration,
    TrafficSplit,
    VersionRef,
    config_hash,
)
from cookbook_runtime.ports._protocols import (
    BlobStore,
    DatasetStore,
    EmbeddingClient,
    HubClient,
    MetricsSink,
    ModelRegistry,
    ServiceClient,
)
from cookbook_runtime.ports._row_order import shuffled_order
from cookbook_runtime.testing._feedback_contract import FEEDBACK_STORE_CHECKS
from cookbook_runtime.types import AdamParams, Datum, ModelInput, SamplingParams, TensorData

__all__ = [
    "BLOB_STORE_CHECKS",
    "DATASET_STORE_CHECKS",
    "EMBEDDING_CHECKS",
    "FEEDBACK_STORE_CHECKS",
    "HUB_CHECKS",
    "METRICS_SINK_CHECKS",
    "REGISTRY_CHECKS",
    "SERVICE_CHECKS",
    "DatasetFactory",
    "RegistrySubject",
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


async def dataset_shuffle_follows_runtime_order(factory: DatasetFactory) -> None:
    """`shuffle(seed)` is `shuffled_order(seed, len)` on every store, so stores agree row for row."""
    store, ref = factory({"train": _ROWS})
    rows = store.open(ref)
    try:
        len(rows)
    except TypeError:  # a stream: the port lets a view with no length shuffle approximately
        return
    for seed in (0, 7, 12345):
        got = [r["id"] for r in rows.shuffle(seed)]
        assert got == list(shuffled_order(seed, 20)), f"seed {seed}: order {got}"
    view = [r["id"] for r in rows.skip(3).shuffle(5)]
    assert view == [3 + i for i in shuffled_order(5, 17)], f"skip(3).shuffle(5): order {view}"
    held_out = [r["id"] for r in rows.shuffle(1).take(4)]
    assert held_out == list(shuffled_order(1, 20)[:4]), f"shuffle(1).take(4): {held_out}"


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
        dataset_shuffle_follows_runtime_order,
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


async def service_sample_logprob_extras(subject: ServiceSubject) -> None:
    """Top-k sample logprobs, target prompt logprobs and prompt alternatives agree with the other logprobs."""
    service, model = subject
    client = await service.create_lora_training_client(model, rank=4, seed=0)
    sampler = await client.sampling_client("contract-logprob-extras")
    ids = sampler.tokenizer().encode("hello there", add_special_tokens=False)
    prompt = ModelInput.from_ints(ids)
    rows = len(ids) - 1
    params = SamplingParams(max_tokens=4, temperature=0.0, seed=5)
    plain = await sampler.sample(prompt, 1, params)
    assert plain.target_prompt_logprobs is None and plain.prompt_alt_tokens is None, "extras came back unasked"
    assert all(s.topk_logprobs is None for s in plain.sequences), "top-k sample logprobs came back unasked"

    k = 3
    res = await sampler.sample(prompt, 2, params, topk_sample_logprobs=k)
    for seq in res.sequences:
        top = seq.topk_logprobs
        assert top is not None and len(top) == len(seq.tokens), f"top-k rows {top} for {seq.tokens}"
        assert seq.logprobs is not None
        for i, row in enumerate(top):
            assert row is not None and len(row) == k, f"position {i}: {row} is not {k} entries"
            lps = [lp for _, lp in row]
            assert lps == sorted(lps, reverse=True) and len({t for t, _ in row}) == k, f"position {i}: {row}"
            # greedy: the sampled token is the most likely one, at its reported logprob
            assert row[0][0] == seq.tokens[i], f"position {i}: greedy token {seq.tokens[i]} vs top {row}"
            assert abs(row[0][1] - seq.logprobs[i]) < 1e-4, f"position {i}: {row[0]} vs {seq.logprobs[i]}"

    scored = await sampler.compute_logprobs(prompt)
    cells = [ids[i + 1] if j == 0 else (-1 if i % 2 else ids[0]) for i in range(rows) for j in range(2)]
    target = TensorData(tuple(cells), "int64", (rows, 2))
    res = await sampler.sample(prompt, 1, params, target_prompt_logprobs=target)
    got = res.target_prompt_logprobs
    assert got is not None and got.dtype == "float32" and got.shape == (rows, 2), f"target logprobs {got}"
    for i in range(rows):
        own, other = got.data[2 * i], got.data[2 * i + 1]
        assert abs(own - (scored[i + 1] or 0.0)) < 1e-4, f"row {i}: {own} vs compute_logprobs {scored[i + 1]}"
        if i % 2:
            assert other == 0.0, f"row {i}: a -1 cell came back {other}, not 0.0"
        else:
            assert other <= 1e-6, f"row {i}: logprob {other} of token {ids[0]} is positive"

    alt_params = SamplingParams(max_tokens=1, temperature=1.0, seed=17)
    a = await sampler.sample(prompt, 1, alt_params, prompt_alt_tokens_k=4)
    b = await sampler.sample(prompt, 1, alt_params, prompt_alt_tokens_k=4)
    assert a.prompt_alt_tokens is not None and b.prompt_alt_tokens is not None, "no prompt_alt_tokens"
    alt = a.prompt_alt_tokens
    assert alt.tokens.shape == (rows, 4) and alt.logprobs.shape == (rows, 4), f"alt shapes {alt}"
    assert alt.tokens.dtype == "int64" and alt.logprobs.dtype == "float32"
    assert alt.tokens.data == b.prompt_alt_tokens.tokens.data, "seeded prompt_alt_tokens differ"
    check = await sampler.sample(prompt, 1, alt_params, target_prompt_logprobs=alt.tokens)
    assert check.target_prompt_logprobs is not None
    for cell, (x, y) in enumerate(zip(alt.logprobs.data, check.target_prompt_logprobs.data, strict=True)):
        assert abs(x - y) < 1e-4, f"cell {cell} (token {alt.tokens.data[cell]}): alt {x} vs target {y}"
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
        service_sample_logprob_extras,
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



# -- ModelRegistry --------------------------------------------------------------

RegistrySubject = tuple[ModelRegistry, BlobStore]
"""A fresh, empty registry and the blob store it keeps artifacts in."""


def _artifact_dirs(tmp: Path, tag: str) -> tuple[Path, Path]:
    """A checkpoint folder (two files, one nested) and a single config file, contents varying with `tag`."""
    folder = tmp / f"ckpt-{tag}"
    atomic_write(folder / "weights.bin", f"weights {tag}".encode() * 100)
    atomic_write(folder / "sub" / "meta.json", f'{{"tag": "{tag}"}}'.encode())
    config = tmp / f"config-{tag}.json"
    atomic_write(config, b'{"lr": 0.001}')
    return folder, config


def _registration(tmp: Path, tag: str = "a", **fields: Any) -> Registration:
    folder, config = _artifact_dirs(tmp, tag)
    base: dict[str, Any] = {
        "name": "m",
        "base_model": "base/model",
        "recipe": "sft",
        "config": {"learning_rate": 1e-3, "tag": tag, "model": {"rank": 8}},
        "metrics": {"test/nll": 1.5},
        "artifacts": [
            ArtifactSource(name="checkpoint", kind="checkpoint", path=str(folder)),
            ArtifactSource(name="config", kind="config", path=str(config)),
        ],
    }
    return Registration.model_validate({**base, **fields})


async def registry_register_and_get(subject: RegistrySubject) -> None:
    """A first registration is version 1 in 'experiment', with each file's sha256 and size."""
    registry, _ = subject
    with tempfile.TemporaryDirectory() as tmp:
        mv = await registry.register(_registration(Path(tmp)))
        weights = (Path(tmp) / "ckpt-a" / "weights.bin").read_bytes()
    assert (mv.name, mv.version, mv.stage) == ("m", 1, "experiment"), f"registered {mv.ref} in {mv.stage}"
    ckpt = mv.artifact("checkpoint")
    assert ckpt.directory and [f.path for f in ckpt.files] == ["sub/meta.json", "weights.bin"], ckpt.files
    wfile = next(f for f in ckpt.files if f.path == "weights.bin")
    assert wfile.sha256 == hashlib.sha256(weights).hexdigest() and wfile.size_bytes == len(weights), wfile
    assert ckpt.size_bytes == sum(f.size_bytes for f in ckpt.files)
    cfg = mv.artifact("config")
    assert not cfg.directory and cfg.files[0].path == "config-a.json", cfg
    assert cfg.sha256 == hashlib.sha256(b'{"lr": 0.001}').hexdigest()
    assert await registry.get("m") == mv and await registry.get("m", 1) == mv
    assert mv.config_hash == config_hash(mv.config) and mv.metrics == {"test/nll": 1.5}


async def registry_versions_count_up(subject: RegistrySubject) -> None:
    """Different weights make new versions 1, 2, 3; get(name) is the newest; list is in order."""
    registry, _ = subject
    with tempfile.TemporaryDirectory() as tmp:
        for tag in ("a", "b", "c"):
            await registry.register(_registration(Path(tmp), tag))
    assert (await registry.get("m")).version == 3
    assert [v.version for v in await registry.list("m")] == [1, 2, 3]


async def registry_register_is_idempotent(subject: RegistrySubject) -> None:
    """The same config hash and weights return the existing version; a change in either is a new one."""
    registry, blobs = subject
    with tempfile.TemporaryDirectory() as tmp:
        first = await registry.register(_registration(Path(tmp)))
        keys = await blobs.list()
        again = await registry.register(_registration(Path(tmp), metrics={"test/nll": 9.0}))
        assert again == first, f"re-registration gave {again.ref}, expected {first.ref} unchanged"
        assert await blobs.list() == keys, "re-registration wrote blobs"
        other_config = await registry.register(_registration(Path(tmp), config={"learning_rate": 2e-3}))
        retrained = _registration(Path(tmp))
        atomic_write(Path(tmp) / "ckpt-a" / "weights.bin", b"retrained")
        other_weights = await registry.register(retrained)
    assert [other_config.version, other_weights.version] == [2, 3], (other_config.ref, other_weights.ref)
    assert len(await registry.list("m")) == 3


async def registry_unknown_names_raise(subject: RegistrySubject) -> None:
    """Unknown models, versions and parents are `UnknownNameError`s; a bad parent writes nothing."""
    registry, blobs = subject
    await _raises(UnknownNameError, registry.get("nope"), "get of an unknown model")
    with tempfile.TemporaryDirectory() as tmp:
        await registry.register(_registration(Path(tmp)))
        await _raises(UnknownNameError, registry.get("m", 7), "get of an unknown version")
        await _raises(UnknownNameError, registry.promote("m", 7, "staging"), "promote of an unknown version")
        keys = await blobs.list()
        bad = _registration(Path(tmp), "z", parent=VersionRef(name="m", version=5), lineage="dpo_trained_from")
        await _raises(UnknownNameError, registry.register(bad), "register with an unknown parent")
    assert await blobs.list() == keys, "a refused registration wrote blobs"
    assert len(await registry.list()) == 1


async def registry_fetch_round_trip(subject: RegistrySubject) -> None:
    """Fetched artifacts hold the registered bytes (folder and single file); a tampered blob is refused."""
    registry, blobs = subject
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        mv = await registry.register(_registration(root))
        out = await registry.fetch_artifact("m", 1, "checkpoint", root / "out")
        assert out == root / "out", out
        for rel in ("weights.bin", "sub/meta.json"):
            assert (out / rel).read_bytes() == (root / "ckpt-a" / rel).read_bytes(), rel
        single = await registry.fetch_artifact("m", 1, "config", root / "out2")
        assert single == root / "out2" / "config-a.json" and single.read_bytes() == b'{"lr": 0.001}', single
        key = f"{mv.artifact('config').key}/config-a.json"
        await blobs.write(key, b"tampered")
        await _raises(StorageError, registry.fetch_artifact("m", 1, "config", root / "out3"), "fetch of a tampered blob")
        await _raises(ConfigError, registry.fetch_artifact("m", 1, "nope", root / "out4"), "fetch of an unknown artifact")


async def registry_add_artifacts(subject: RegistrySubject) -> None:
    """Exports join an existing version (fetchable, identity unchanged); re-adding is a no-op, a clash an error."""
    registry, _ = subject
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        mv = await registry.register(_registration(root))
        merged = root / "merged"
        atomic_write(merged / "model.safetensors", b"merged weights")
        export = ArtifactSource(name="merged", kind="merged", path=str(merged))
        added = await registry.add_artifacts("m", 1, [export])
        assert [a.name for a in added.artifacts] == ["checkpoint", "config", "merged"], added.artifacts
        assert (added.config_hash, added.weights_sha256) == (mv.config_hash, mv.weights_sha256)
        assert await registry.add_artifacts("m", 1, [export]) == added, "re-adding the same export changed the version"
        out = await registry.fetch_artifact("m", 1, "merged", root / "out")
        assert (out / "model.safetensors").read_bytes() == b"merged weights"
        atomic_write(merged / "model.safetensors", b"other weights")
        await _raises(ConfigError, registry.add_artifacts("m", 1, [export]), "adding a different artifact under a used name")
        assert (await registry.get("m", 1)).artifacts == added.artifacts
        assert (await registry.register(_registration(root))).version == 1, "exports broke idempotent registration"


async def registry_external_artifacts(subject: RegistrySubject) -> None:
    """A uri artifact is kept as a reference (nothing copied); fetching it is a `ConfigError`."""
    registry, blobs = subject
    reg = Registration(
        name="remote",
        base_model="Qwen/Qwen3-8B",
        config={"x": 1},
        artifacts=(ArtifactSource(name="sampler", kind="sampler", uri="tinker://run-1/sampler_weights/final"),),
    )
    mv = await registry.register(reg)
    art = mv.artifact("sampler")
    assert art.storage == "external" and art.uri == "tinker://run-1/sampler_weights/final" and art.size_bytes == 0
    assert await blobs.list() == [], "an external artifact was copied"
    assert (await registry.register(reg)).version == 1, "re-registering the same uri made a new version"
    with tempfile.TemporaryDirectory() as tmp:
        await _raises(ConfigError, registry.fetch_artifact("remote", 1, "sampler", Path(tmp)), "fetch of a uri")


async def registry_stage_lifecycle(subject: RegistrySubject) -> None:
    """experiment -> staging -> production; a new production version archives the old; no moving back."""
    registry, _ = subject
    with tempfile.TemporaryDirectory() as tmp:
        for tag in ("a", "b"):
            await registry.register(_registration(Path(tmp), tag))
    assert (await registry.promote("m", 1, "staging", reason="looks good")).stage == "staging"
    assert (await registry.promote("m", 1, "production")).stage == "production"
    assert (await registry.get("m", "production")).version == 1
    await _raises(ConfigError, registry.promote("m", 1, "staging"), "production -> staging")
    await _raises(ConfigError, registry.promote("m", 1, "production"), "production -> production")
    assert (await registry.promote("m", 2, "production")).stage == "production"  # skipping staging is fine
    old = await registry.get("m", 1)
    assert old.stage == "archived", f"previous production version is {old.stage}"
    assert [(c.from_stage, c.to_stage, c.accepted) for c in old.history] == [
        ("experiment", "staging", True),
        ("staging", "production", True),
        ("production", "archived", True),
    ], old.history
    assert old.history[0].reason == "looks good" and "m:2" in old.history[-1].reason
    assert [v.version for v in await registry.list("m", stage="production")] == [2]
    await _raises(ConfigError, registry.promote("m", 1, "experiment"), "archived -> experiment")
    assert (await registry.promote("m", 1, "staging")).stage == "staging"
    await _raises(ConfigError, registry.get("m", "experiment"), "get of an empty stage")


async def registry_refused_promotion_is_recorded(subject: RegistrySubject) -> None:
    """`refuse_promotion` adds a not-accepted history entry and leaves the stage alone."""
    registry, _ = subject
    with tempfile.TemporaryDirectory() as tmp:
        await registry.register(_registration(Path(tmp)))
    mv = await registry.refuse_promotion("m", 1, "staging", reason="test/nll 1.5 > max 1.0")
    assert mv.stage == "experiment" and (await registry.get("m", 1)).stage == "experiment"
    entry = (await registry.get("m", 1)).history[-1]
    assert (entry.to_stage, entry.accepted, entry.reason) == ("staging", False, "test/nll 1.5 > max 1.0"), entry


async def registry_lineage(subject: RegistrySubject) -> None:
    """Ancestors nearest first; descendants breadth first, across models."""
    registry, _ = subject
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        await registry.register(_registration(root, "a"))
        v1 = VersionRef(name="m", version=1)
        await registry.register(_registration(root, "b", parent=v1, lineage="dpo_trained_from"))
        v2 = VersionRef(name="m", version=2)
        await registry.register(_registration(root, "c", name="small", parent=v2, lineage="distilled_from"))
        await registry.register(_registration(root, "d", parent=v2, lineage="rl_trained_from"))
    lin = await registry.lineage("m", 2)
    assert [(str(e.child), str(e.parent), e.kind) for e in lin.ancestors] == [("m:2", "m:1", "dpo_trained_from")]
    got = {(str(e.child), str(e.parent), e.kind) for e in lin.descendants}
    assert got == {("small:1", "m:2", "distilled_from"), ("m:3", "m:2", "rl_trained_from")}, got
    deep = await registry.lineage("small", 1)
    assert [str(e.parent) for e in deep.ancestors] == ["m:2", "m:1"] and deep.descendants == ()
    top = await registry.lineage("m", 1)
    assert top.ancestors == () and len(top.descendants) == 3, top
    assert (await registry.get("small", 1)).parent == v2


async def registry_compare_and_metrics(subject: RegistrySubject) -> None:
    """compare gives b - a per metric, the config keys that differ and whether weights match."""
    registry, _ = subject
    with tempfile.TemporaryDirectory() as tmp:
        await registry.register(_registration(Path(tmp), "a"))
        await registry.register(_registration(Path(tmp), "b", metrics={"test/nll": 1.0, "acc": 0.5}))
    updated = await registry.set_metrics("m", 1, {"eval/pass@1": 0.25})
    assert updated.metrics == {"test/nll": 1.5, "eval/pass@1": 0.25}, updated.metrics
    cmp = await registry.compare(VersionRef(name="m", version=1), VersionRef(name="m", version=2))
    assert cmp.metrics["test/nll"].delta == -0.5 and cmp.metrics["acc"].a is None, cmp.metrics
    assert cmp.config_changes == {"tag": ("a", "b")}, cmp.config_changes
    assert not cmp.same_weights


async def registry_list_models(subject: RegistrySubject) -> None:
    """list() spans every model by name then version; an unknown name is an error."""
    registry, _ = subject
    with tempfile.TemporaryDirectory() as tmp:
        await registry.register(_registration(Path(tmp), "a", name="zeta"))
        await registry.register(_registration(Path(tmp), "b", name="alpha"))
        await registry.register(_registration(Path(tmp), "c", name="alpha"))
    assert [str(v.ref) for v in await registry.list()] == ["alpha:1", "alpha:2", "zeta:1"]
    await registry.promote("alpha", 2, "staging")
    assert [str(v.ref) for v in await registry.list(stage="staging")] == ["alpha:2"]
    await _raises(UnknownNameError, registry.list("nope"), "list of an unknown model")


async def registry_deployments(subject: RegistrySubject) -> None:
    """Record, update and list deployments; one active deployment per target; versions must exist."""
    registry, _ = subject
    with tempfile.TemporaryDirectory() as tmp:
        for tag in ("a", "b"):
            await registry.register(_registration(Path(tmp), tag))
    first = await registry.record_deployment(
        DeploymentDraft(name="m", target="local", traffic=(TrafficSplit(version=1, weight=1.0),), status="active")
    )
    assert first.version == 1 and first.status == "active" and first.strategy == "replace"
    canary = await registry.record_deployment(
        DeploymentDraft(
            name="m",
            target="local",
            strategy="canary",
            traffic=(TrafficSplit(version=1, weight=0.9), TrafficSplit(version=2, weight=0.1)),
        )
    )
    assert canary.status == "pending" and canary.version == 1
    health = HealthCheck(ok=True, at=first.created_at, detail="GET /v1/models 200", latency_ms=3.0)
    live = await registry.update_deployment(canary.id, status="active", endpoint="http://127.0.0.1:9", health=health)
    assert live.health == health and live.endpoint == "http://127.0.0.1:9"
    assert (await registry.get_deployment(first.id)).status == "terminated", "old active deployment still active"
    shifted = await registry.update_deployment(
        canary.id, traffic=[TrafficSplit(version=1, weight=0.5), TrafficSplit(version=2, weight=0.5)]
    )
    assert [t.weight for t in shifted.traffic] == [0.5, 0.5] and shifted.status == "active"
    assert [d.id for d in await registry.list_deployments("m")] == [first.id, canary.id]
    assert [d.id for d in await registry.list_deployments(status="active")] == [canary.id]
    assert await registry.list_deployments(target="elsewhere") == []
    bad = DeploymentDraft(name="m", target="x", traffic=(TrafficSplit(version=9, weight=1.0),))
    await _raises(UnknownNameError, registry.record_deployment(bad), "deployment of an unknown version")
    await _raises(UnknownNameError, registry.get_deployment("nope"), "get of an unknown deployment")
    assert len(await registry.list_deployments()) == 2


REGISTRY_CHECKS: dict[str, Check] = {
    f.__name__: f
    for f in (
        registry_register_and_get,
        registry_versions_count_up,
        registry_register_is_idempotent,
        registry_unknown_names_raise,
        registry_fetch_round_trip,
        registry_add_artifacts,
        registry_external_artifacts,
        registry_stage_lifecycle,
        registry_refused_promotion_is_recorded,
        registry_lineage,
        registry_compare_and_metrics,
        registry_list_models,
        registry_deployments,
    )
}
