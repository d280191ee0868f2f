"""Fixtures: one moto server for the session, a fresh bucket per test, and credentials
from the environment (boto3's standard chain), isolated from the user's ~/.aws."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cookbook_adapters.s3 import S3BlobStore
from s3_server import CREDS, MotoServer, make_bucket


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials through the standard chain (environment), isolated from ~/.aws."""
    for name, value in CREDS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))


@pytest.fixture
def bucket(moto_server: MotoServer) -> str:
    return make_bucket(moto_server.url)


@pytest.fixture
def store_factory(moto_server: MotoServer, bucket: str) -> Callable[..., S3BlobStore]:
    def make(**options: object) -> S3BlobStore:
        merged: dict[str, object] = {"bucket": bucket, "endpoint_url": moto_server.url, "region": "us-east-1"}
        merged.update(options)
        return S3BlobStore(**merged)  # type: ignore[arg-type]

    return make
