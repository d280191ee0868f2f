"""The S3 adapter against a real S3-compatible server (moto, in its own process)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from cookbook_adapters.s3 import S3BlobStore, parse_s3_url
from cookbook_runtime.errors import ConfigError, StorageError
from cookbook_runtime.ports import create_adapter
from cookbook_runtime.testing import BLOB_STORE_CHECKS
from s3_server import MotoServer, Relay, free_port, make_bucket

MiB = 1 << 20
StoreFactory = Callable[..., S3BlobStore]


def _raw(server: MotoServer) -> Any:
    return boto3.client("s3", endpoint_url=server.url, region_name="us-east-1")


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text, f"multi-line error: {text!r}"
    return text


@pytest.mark.parametrize("check", BLOB_STORE_CHECKS.values(), ids=list(BLOB_STORE_CHECKS))
async def test_blob_contract(check: Any, store_factory: StoreFactory) -> None:
    await check(store_factory())


@pytest.mark.parametrize("check", BLOB_STORE_CHECKS.values(), ids=list(BLOB_STORE_CHECKS))
async def test_blob_contract_under_a_prefix(check: Any, store_factory: StoreFactory) -> None:
    await check(store_factory(prefix="runs/r1"))


async def test_prefix_maps_keys_into_the_bucket(
    store_factory: StoreFactory, moto_server: MotoServer, bucket: str
) -> None:
    store = store_factory(prefix="/runs/r1/")
    await store.write("metrics.jsonl", b"{}")
    raw_keys = [o["Key"] for o in _raw(moto_server).list_objects_v2(Bucket=bucket)["Contents"]]
    assert raw_keys == ["runs/r1/metrics.jsonl"]
    assert await store.list() == ["metrics.jsonl"]


async def test_registry_builds_the_store_from_an_s3_url(moto_server: MotoServer, bucket: str) -> None:
    store = create_adapter("s3", "blobs", {"url": f"s3://{bucket}/artifacts", "endpoint_url": moto_server.url})
    assert isinstance(store, S3BlobStore)
    await store.write("a.txt", b"via registry")
    body = _raw(moto_server).get_object(Bucket=bucket, Key="artifacts/a.txt")["Body"].read()
    assert body == b"via registry"


def test_parse_s3_url() -> None:
    assert parse_s3_url("s3://bucket/some/prefix/") == ("bucket", "some/prefix")
    assert parse_s3_url("s3://bucket") == ("bucket", "")
    with pytest.raises(ConfigError, match="s3://bucket/prefix"):
        parse_s3_url("https://bucket/x")


def test_a_bucket_is_required() -> None:
    with pytest.raises(ConfigError, match="needs a bucket"):
        S3BlobStore()


async def test_large_write_goes_multipart_and_reads_back(
    store_factory: StoreFactory, moto_server: MotoServer, bucket: str
) -> None:
    store = store_factory(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    payload = os.urandom(12 * MiB)
    await store.write("big.bin", payload)
    head = _raw(moto_server).head_object(Bucket=bucket, Key="big.bin")
    assert head["ETag"].strip('"').endswith("-3"), f"not a 3-part upload: ETag {head['ETag']}"
    assert await store.read("big.bin") == payload


async def test_concurrent_writers_to_different_keys(store_factory: StoreFactory) -> None:
    store = store_factory()
    payloads = {f"concurrent/{i:02d}.bin": os.urandom(1000 + i) for i in range(16)}
    await asyncio.gather(*(store.write(k, v) for k, v in payloads.items()))
    assert await store.list("concurrent/") == sorted(payloads)
    for key, value in payloads.items():
        assert await store.read(key) == value, f"{key} was corrupted by a concurrent write"


async def test_reads_do_not_block_the_event_loop(store_factory: StoreFactory) -> None:
    store = store_factory()
    await store.write("x.bin", os.urandom(4 * MiB))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    task = asyncio.create_task(ticker())
    await asyncio.gather(*(store.read("x.bin") for _ in range(4)))
    task.cancel()
    assert ticks > 0, "the event loop never ran while S3 calls were in flight"


async def test_100_mb_object_round_trip(store_factory: StoreFactory, tmp_path: Path) -> None:
    store = store_factory()
    path = tmp_path / "100mb.bin"
    digest = hashlib.sha256()
    with path.open("wb") as f:
        for _ in range(100):
            block = os.urandom(MiB)
            digest.update(block)
            f.write(block)
    await store.write_file("big/100mb.bin", path)
    got = hashlib.sha256()
    size = 0
    async for chunk in store.read_stream("big/100mb.bin", chunk_size=8 * MiB):
        got.update(chunk)
        size += len(chunk)
    assert size == 100 * MiB
    assert got.hexdigest() == digest.hexdigest()


async def test_server_gone_mid_upload_leaves_no_partial_object(
    moto_server: MotoServer, bucket: str, tmp_path: Path
) -> None:
    relay = Relay(moto_server.port, cut_after=8 * MiB)
    store = S3BlobStore(
        bucket=bucket,
        endpoint_url=relay.url,
        multipart_threshold=5 * MiB,
        multipart_chunksize=5 * MiB,
        max_concurrency=2,
        max_attempts=1,
        connect_timeout=2,
        read_timeout=5,
    )
    path = tmp_path / "upload.bin"
    path.write_bytes(os.urandom(20 * MiB))
    with pytest.raises(StorageError) as info:
        await store.write_file("partial/upload.bin", path)
    assert relay.cut_event.is_set(), "the relay was never cut: upload finished before the server went away"
    assert "partial/upload.bin" in _one_line(info.value)
    direct = S3BlobStore(bucket=bucket, endpoint_url=moto_server.url)
    assert not await direct.exists("partial/upload.bin")
    assert await direct.list("partial/") == []


async def test_missing_bucket_error_names_it(moto_server: MotoServer) -> None:
    store = S3BlobStore(bucket="no-such-bucket-here", endpoint_url=moto_server.url)
    with pytest.raises(StorageError) as info:
        await store.write("a.txt", b"x")
    assert "bucket 'no-such-bucket-here' does not exist" in _one_line(info.value)


async def test_unreachable_endpoint_error_names_it() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    store = S3BlobStore(bucket="b", endpoint_url=endpoint, max_attempts=1, connect_timeout=1)
    with pytest.raises(StorageError) as info:
        await store.read("a.txt")
    assert f"cannot connect to endpoint {endpoint}" in _one_line(info.value)


async def test_endpoint_userinfo_is_not_echoed() -> None:
    port = free_port()
    store = S3BlobStore(bucket="b", endpoint_url=f"http://user:hunter2@127.0.0.1:{port}", max_attempts=1)
    with pytest.raises(StorageError) as info:
        await store.exists("a.txt")
    assert "hunter2" not in str(info.value)


async def test_unknown_profile_error_names_the_option() -> None:
    store = S3BlobStore(bucket="b", profile="no-such-profile")
    with pytest.raises(StorageError) as info:
        await store.read("a.txt")
    assert "profile" in _one_line(info.value)


async def test_missing_key_read_names_the_key(store_factory: StoreFactory) -> None:
    with pytest.raises(StorageError) as info:
        await store_factory().read("nothing/here.txt")
    assert "nothing/here.txt" in _one_line(info.value)


async def test_rejected_credentials_give_one_line_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server = MotoServer(tmp_path, {"INITIAL_NO_AUTH_ACTION_COUNT": "1"})
    try:
        name = make_bucket(server.url)  # the one request moto serves without checking keys
        secret = "wJalrXUtnFEMI-very-secret-value"
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIANOTAREALKEY00000")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        store = S3BlobStore(bucket=name, endpoint_url=server.url, max_attempts=1)
        with caplog.at_level(logging.DEBUG, logger="cookbook_adapters"), pytest.raises(StorageError) as info:
            await store.write("a.txt", b"x")
        text = _one_line(info.value)
        assert "rejected the credentials" in text
        assert secret not in text and "AKIANOTAREALKEY00000" not in text
        assert secret not in caplog.text
    finally:
        server.stop()


@pytest.mark.parametrize("size", [1000, 12 * MiB], ids=["single-put", "multipart"])
async def test_uploads_carry_a_sha256_checksum(
    size: int, store_factory: StoreFactory, moto_server: MotoServer, bucket: str
) -> None:
    store = store_factory(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    await store.write("sum.bin", os.urandom(size))
    head = _raw(moto_server).head_object(Bucket=bucket, Key="sum.bin", ChecksumMode="ENABLED")
    assert head.get("ChecksumSHA256"), f"no SHA-256 checksum stored: {sorted(head)}"
