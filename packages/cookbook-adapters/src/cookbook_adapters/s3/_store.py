"""`BlobStore` over S3 and S3-compatible servers (MinIO, R2, moto, ...).

Every boto3 call blocks, so each runs on a worker thread (`asyncio.to_thread`).
Writes are atomic because S3 makes an object visible only once a PUT, or the
final `CompleteMultipartUpload`, succeeds; objects above `multipart_threshold`
go through boto3's transfer manager in parallel parts, each carrying a SHA-256
checksum the server verifies, and a failed multipart upload is aborted.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import urlsplit

from cookbook_runtime.errors import ConfigError, StorageError
from cookbook_runtime.storage_keys import validate_key

from cookbook_adapters.s3._errors import error_code, translate

try:
    import boto3
    from boto3.s3.transfer import TransferConfig, create_transfer_manager
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
except ModuleNotFoundError as exc:  # pragma: no cover - only without the extra
    from cookbook_runtime.errors import AdapterUnavailable

    raise AdapterUnavailable("s3", "boto3", "s3") from exc

__all__ = ["S3BlobStore", "parse_s3_url"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
_MiB = 1 << 20


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> `("bucket", "some/prefix")`."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigError(f"S3 url {url!r} is not of the form s3://bucket/prefix")
    return parts.netloc, parts.path.strip("/")


class S3BlobStore:
    """Keys map to `s3://bucket/prefix/key`.

    Options (all keyword): `bucket` and `prefix`, or `url='s3://bucket/prefix'`;
    `endpoint_url` for S3-compatible servers; `region`; `profile` (a named AWS
    profile); `multipart_threshold`, `multipart_chunksize` and `max_concurrency`
    for the transfer manager; `max_attempts` for botocore's retries.
    """

    def __init__(
        self,
        *,
        bucket: str | None = None,
        prefix: str = "",
        url: str | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        multipart_threshold: int = 64 * _MiB,
        multipart_chunksize: int = 16 * _MiB,
        max_concurrency: int = 8,
        max_attempts: int = 3,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
    ) -> None:
        if url is not None:
            url_bucket, url_prefix = parse_s3_url(url)
            if bucket is not None and bucket != url_bucket:
                raise ConfigError(f"S3 options disagree: bucket {bucket!r} but url {url!r}")
            bucket = url_bucket
            prefix = "/".join(p for p in (url_prefix, prefix.strip("/")) if p)
        if not bucket:
            raise ConfigError("the 's3' adapter needs a bucket: set option 'bucket' or 'url=s3://bucket/prefix'")
        prefix = prefix.strip("/")
        if prefix:
            validate_key(prefix)
        self.bucket = bucket
        self.prefix = prefix + "/" if prefix else ""
        self.endpoint_url = endpoint_url
        self.region = region
        self.profile = profile
        self._transfer_config = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_chunksize,
            max_concurrency=max_concurrency,
            use_threads=True,
        )
        self._botocore_config = Config(
            retries={"max_attempts": max_attempts, "mode": "standard"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max(10, max_concurrency * 2),
        )
        self._client: Any = None
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint_url={self.endpoint_url!r})"

    # -- plumbing -------------------------------------------------------------------
    def _s3(self) -> Any:
        """The boto3 client, made on first use (boto3 clients are thread-safe, sessions not)."""
        with self._client_lock:
            if self._client is None:
                session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
                self._client = session.client("s3", endpoint_url=self.endpoint_url, config=self._botocore_config)
            return self._client

    def _object_key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    async def _call(self, op: str, key: str | None, fn: Callable[[], T]) -> T:
        def guarded() -> T:
            try:
                return fn()
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, op=op, bucket=self.bucket, key=key, endpoint=self.endpoint_url) from None

        return await asyncio.to_thread(guarded)

    def _upload(self, fileobj: BinaryIO, object_key: str) -> None:
        extra = {"ChecksumAlgorithm": "SHA256"}
        with create_transfer_manager(self._s3(), self._transfer_config) as manager:
            manager.upload(fileobj, self.bucket, object_key, extra_args=extra).result()

    # -- BlobStore --------------------------------------------------------------------
    async def read(self, key: str) -> bytes:
        """The whole object; `StorageError` if absent."""
        object_key = self._object_key(key)

        def get() -> bytes:
            body = self._s3().get_object(Bucket=self.bucket, Key=object_key)["Body"]
            try:
                data: bytes = body.read()
            finally:
                body.close()
            return data

        return await self._call("read", object_key, get)

    async def read_stream(self, key: str, *, chunk_size: int = _MiB) -> AsyncIterator[bytes]:
        """The object in chunks of up to `chunk_size` bytes, each read on a worker thread."""
        object_key = self._object_key(key)
        response = await self._call(
            "read", object_key, lambda: self._s3().get_object(Bucket=self.bucket, Key=object_key)
        )
        body = response["Body"]
        try:
            while True:
                chunk: bytes = await self._call("read", object_key, lambda: body.read(chunk_size))
                if not chunk:
                    break
                yield chunk
        finally:
            body.close()

    async def write(self, key: str, data: bytes) -> None:
        """Write atomically (a single PUT, or a multipart upload above the threshold)."""
        object_key = self._object_key(key)
        payload = bytes(data)
        await self._call("write", object_key, lambda: self._upload(io.BytesIO(payload), object_key))
        logger.debug("wrote %d bytes to s3://%s/%s", len(payload), self.bucket, object_key)

    async def write_file(self, key: str, path: Path) -> None:
        """Upload a local file atomically, in parallel parts when it is large."""
        object_key = self._object_key(key)
        path = Path(path)
        if not path.is_file():
            raise StorageError(f"cannot upload {str(path)!r} to s3://{self.bucket}/{object_key}: not a file")

        def upload() -> None:
            with path.open("rb") as f:
                self._upload(f, object_key)

        await self._call("write", object_key, upload)
        logger.debug("uploaded %s to s3://%s/%s", path, self.bucket, object_key)

    async def exists(self, key: str) -> bool:
        """Whether `key` holds an object."""
        object_key = self._object_key(key)

        def head() -> bool:
            try:
                self._s3().head_object(Bucket=self.bucket, Key=object_key)
            except ClientError as exc:
                if error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                    return False
                raise
            return True

        return await self._call("exists", object_key, head)

    async def list(self, prefix: str = "") -> list[str]:
        """Keys under `prefix` (relative to the store's prefix), sorted."""
        if prefix:
            validate_key(prefix.rstrip("/") or "x")
        full = self.prefix + prefix

        def listing() -> list[str]:
            keys: list[str] = []
            pages = self._s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full)
            for page in pages:
                keys.extend(obj["Key"][len(self.prefix) :] for obj in page.get("Contents", []))
            return sorted(keys)

        return await self._call("list", full or None, listing)

    async def delete(self, key: str) -> None:
        """Remove `key`; S3 treats deleting an absent key as success."""
        object_key = self._object_key(key)
        await self._call(
            "delete", object_key, lambda: self._s3().delete_object(Bucket=self.bucket, Key=object_key)
        )
