"""Artifact mirroring: a run directory kept in step with a blob store, and read back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cookbook_runtime.errors import StorageError
from cookbook_runtime.framework import RunDir, run
from cookbook_runtime.framework._artifacts import STATE_FILE, ArtifactMirror
from cookbook_runtime.ir import Experiment, PortBinding, StageSpec
from cookbook_runtime.ports import Ports
from cookbook_runtime.testing import FakeBlobStore


class CountingStore(FakeBlobStore):
    """A fake blob store that counts uploads."""

    def __init__(self) -> None:
        super().__init__()
        self.uploads: list[str] = []

    async def write_file(self, key: str, path: Path) -> None:
        self.uploads.append(key)
        await super().write_file(key, path)


def _populate(run_dir: Path) -> None:
    (run_dir / "ckpt" / "000010").mkdir(parents=True)
    (run_dir / "metrics.jsonl").write_text('{"step": 1}\n')
    (run_dir / "ckpt" / "000010" / "weights.bin").write_bytes(os.urandom(3000))


async def test_sync_uploads_every_file_under_relative_keys(tmp_path: Path) -> None:
    _populate(tmp_path)
    store = FakeBlobStore()
    report = await ArtifactMirror(store).sync(tmp_path)
    assert sorted(report.transferred) == ["ckpt/000010/weights.bin", "metrics.jsonl"]
    assert sorted(store.objects) == ["ckpt/000010/weights.bin", "metrics.jsonl"]
    assert store.objects["metrics.jsonl"] == b'{"step": 1}\n'


async def test_sync_with_nothing_changed_uploads_nothing(tmp_path: Path) -> None:
    _populate(tmp_path)
    store = CountingStore()
    mirror = ArtifactMirror(store)
    await mirror.sync(tmp_path)
    store.uploads.clear()
    report = await mirror.sync(tmp_path)
    assert store.uploads == []
    assert report.transferred == () and report.unchanged == 2


async def test_touched_but_identical_file_is_not_uploaded_again(tmp_path: Path) -> None:
    _populate(tmp_path)
    store = CountingStore()
    mirror = ArtifactMirror(store)
    await mirror.sync(tmp_path)
    store.uploads.clear()
    path = tmp_path / "metrics.jsonl"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    await mirror.sync(tmp_path)
    assert store.uploads == []


async def test_changed_and_new_files_are_uploaded(tmp_path: Path) -> None:
    _populate(tmp_path)
    store = CountingStore()
    mirror = ArtifactMirror(store)
    await mirror.sync(tmp_path)
    store.uploads.clear()
    with (tmp_path / "metrics.jsonl").open("a") as f:
        f.write('{"step": 2}\n')
    (tmp_path / "checkpoints.jsonl").write_text('{"name": "000010"}\n')
    await mirror.sync(tmp_path)
    assert sorted(store.uploads) == ["checkpoints.jsonl", "metrics.jsonl"]
    assert store.objects["metrics.jsonl"].endswith(b'{"step": 2}\n')


async def test_state_file_and_atomic_temporaries_are_not_mirrored(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text("{}")
    (tmp_path / ".run.json.abc123.tmp").write_text("partial")
    store = FakeBlobStore()
    mirror = ArtifactMirror(store)
    await mirror.sync(tmp_path)
    await mirror.sync(tmp_path)
    assert (tmp_path / STATE_FILE).exists()
    assert sorted(store.objects) == ["run.json"]


async def test_restore_downloads_only_what_the_directory_lacks(tmp_path: Path) -> None:
    src, dst = tmp_path / "machine-a", tmp_path / "machine-b"
    src.mkdir()
    _populate(src)
    store = FakeBlobStore()
    await ArtifactMirror(store).sync(src)
    dst.mkdir()
    (dst / "metrics.jsonl").write_text("local wins\n")
    report = await ArtifactMirror(store).restore(dst)
    assert report.transferred == ("ckpt/000010/weights.bin",)
    assert (dst / "metrics.jsonl").read_text() == "local wins\n"
    weights = "ckpt/000010/weights.bin"
    assert (dst / weights).read_bytes() == (src / weights).read_bytes()


async def test_restored_files_are_not_uploaded_back(tmp_path: Path) -> None:
    src, dst = tmp_path / "a", tmp_path / "b"
    src.mkdir()
    _populate(src)
    store = CountingStore()
    await ArtifactMirror(store).sync(src)
    store.uploads.clear()
    mirror = ArtifactMirror(store)
    await mirror.restore(dst)
    await mirror.sync(dst)
    assert store.uploads == []


async def test_prefix_keeps_runs_apart(tmp_path: Path) -> None:
    _populate(tmp_path)
    store = FakeBlobStore()
    store.objects["other-run/metrics.jsonl"] = b"not mine"
    await ArtifactMirror(store, prefix="runs/r1").sync(tmp_path)
    assert "runs/r1/metrics.jsonl" in store.objects
    fresh = tmp_path / "fresh"
    await ArtifactMirror(store, prefix="runs/r1/").restore(fresh)
    assert sorted(p.name for p in fresh.rglob("*") if p.is_file() and p.name != STATE_FILE) == [
        "metrics.jsonl",
        "weights.bin",
    ]


async def test_restore_rejects_a_key_escaping_the_run_dir(tmp_path: Path) -> None:
    class EvilStore(FakeBlobStore):
        async def list(self, prefix: str = "") -> list[str]:
            return ["runs/r1/../../evil"]

    with pytest.raises(StorageError):
        await ArtifactMirror(EvilStore(), prefix="runs/r1").restore(tmp_path / "run")
    assert not (tmp_path / "evil").exists()


def test_from_binding_builds_the_named_blob_store() -> None:
    mirror = ArtifactMirror.from_binding(PortBinding(adapter="fake"))
    assert isinstance(mirror.store, FakeBlobStore)


async def test_a_run_resumes_on_a_new_machine_from_mirrored_artifacts(
    tmp_path: Path, calls: list[str]
) -> None:
    spec = Experiment(
        id="t", pipeline=[StageSpec(name="record", id=x, options={"label": x}) for x in ("a", "b")]
    )
    store = FakeBlobStore()
    await run(spec, Ports(), tmp_path / "first", artifacts=ArtifactMirror(store))
    assert {"events.jsonl", "run.json", "experiment.json"} <= set(store.objects)
    calls.clear()

    second = tmp_path / "second"
    mirror = ArtifactMirror(store)
    await mirror.restore(second)
    await run(spec, Ports(), second, artifacts=mirror)
    assert calls == [], "finished stages ran again after restore"
    skipped = [e["stage"] for e in RunDir(second).events() if e["event"] == "stage_skipped"]
    assert skipped == ["a", "b"]


async def test_runtime_mirrors_a_spec_whose_outputs_name_a_blob_store(
    tmp_path: Path, calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cookbook_runtime.framework import _artifacts
    from cookbook_runtime.ir import OutputsSpec
    from cookbook_runtime.runtime import Runtime

    store = FakeBlobStore()
    made: list[tuple[str, str]] = []

    def fake_create(adapter: str, port: str, options: object) -> FakeBlobStore:
        made.append((adapter, port))
        return store

    monkeypatch.setattr(_artifacts, "create_adapter", fake_create)
    spec = Experiment(
        id="t",
        pipeline=[StageSpec(name="record", id="a", options={"label": "a"})],
        outputs=OutputsSpec(artifacts=PortBinding(adapter="fake")),
    )
    await Runtime("test", run_dir=tmp_path / "one").arun_spec(spec)
    assert made == [("fake", "blobs")]
    assert {"events.jsonl", "run.json", "experiment.json"} <= set(store.objects)

    calls.clear()
    await Runtime("test", run_dir=tmp_path / "two").arun_spec(spec)
    assert calls == [], "the second machine re-ran a stage the mirror says finished"
