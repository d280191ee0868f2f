"""A run's artifacts mirrored to `s3://bucket/prefix` and restored on a fresh machine."""

from __future__ import annotations

import os
from pathlib import Path

from cookbook_adapters.s3 import S3BlobStore
from cookbook_runtime.framework._artifacts import ArtifactMirror
from cookbook_runtime.ir import PortBinding
from s3_server import MotoServer


async def test_mirror_to_s3_and_restore_elsewhere(moto_server: MotoServer, bucket: str, tmp_path: Path) -> None:
    binding = PortBinding(adapter="s3", options={"url": f"s3://{bucket}/runs/r1", "endpoint_url": moto_server.url})
    first = tmp_path / "machine-a"
    (first / "ckpt").mkdir(parents=True)
    (first / "metrics.jsonl").write_text('{"step": 1}\n')
    (first / "ckpt" / "state.bin").write_bytes(os.urandom(200_000))

    mirror = ArtifactMirror.from_binding(binding)
    assert isinstance(mirror.store, S3BlobStore)
    assert sorted((await mirror.sync(first)).transferred) == ["ckpt/state.bin", "metrics.jsonl"]
    assert (await mirror.sync(first)).transferred == ()

    second = tmp_path / "machine-b"
    restored = await ArtifactMirror.from_binding(binding).restore(second)
    assert sorted(restored.transferred) == ["ckpt/state.bin", "metrics.jsonl"]
    assert (second / "ckpt" / "state.bin").read_bytes() == (first / "ckpt" / "state.bin").read_bytes()
