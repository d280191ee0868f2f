"""The SQLite registry: the port contract, persistence, schema migrations, concurrency and crashes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cookbook_adapters.files import FileBlobStore
from cookbook_adapters.sqlite import REGISTRY_SCHEMA_VERSION as SCHEMA_VERSION
from cookbook_adapters.sqlite import SqliteModelRegistry, migrate
from cookbook_runtime.errors import StorageError, UnknownNameError
from cookbook_runtime.ports import (
    ArtifactSource,
    Ports,
    Registration,
    load_manifest,
    resolve_bindings,
)
from cookbook_runtime.testing import REGISTRY_CHECKS

WORKER = Path(__file__).with_name("registry_worker.py")


def _registry(tmp_path: Path) -> tuple[SqliteModelRegistry, FileBlobStore]:
    blobs = FileBlobStore(tmp_path / "blobs")
    return SqliteModelRegistry(tmp_path / "registry.db", blobs=blobs), blobs


@pytest.mark.parametrize("check", REGISTRY_CHECKS.values(), ids=list(REGISTRY_CHECKS))
async def test_registry_contract(check: Any, tmp_path: Path) -> None:
    registry, blobs = _registry(tmp_path)
    try:
        await check((registry, blobs))
    finally:
        await registry.close()


def _reg(tmp_path: Path, tag: str, **fields: Any) -> Registration:
    path = tmp_path / f"w-{tag}.bin"
    path.write_bytes(tag.encode() * 10)
    return Registration.model_validate(
        {
            "name": "m",
            "base_model": "b",
            "config": {"tag": tag},
            "artifacts": [ArtifactSource(name="weights", kind="sampler", path=str(path))],
            **fields,
        }
    )


async def test_versions_survive_reopening_in_wal_mode(tmp_path: Path) -> None:
    registry, _ = _registry(tmp_path)
    first = await registry.register(_reg(tmp_path, "a"))
    await registry.promote("m", 1, "staging")
    await registry.close()
    reopened, _ = _registry(tmp_path)
    got = await reopened.get("m", 1)
    assert got.stage == "staging" and got.artifacts == first.artifacts and got.created_at == first.created_at
    await reopened.close()
    conn = sqlite3.connect(tmp_path / "registry.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


async def test_reading_a_registry_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    registry, _ = _registry(tmp_path)
    assert await registry.list() == [] and await registry.list_deployments() == []
    with pytest.raises(UnknownNameError, match="unknown model 'm'; known: none registered"):
        await registry.get("m")
    assert not (tmp_path / "registry.db").exists()
    assert (await registry.register(_reg(tmp_path, "a"))).version == 1
    assert (tmp_path / "registry.db").exists() and [str(v.ref) for v in await registry.list()] == ["m:1"]
    await registry.close()


async def test_an_older_schema_is_migrated_keeping_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    conn = sqlite3.connect(db, isolation_level=None)
    migrate(conn, target=1)
    conn.execute(
        "INSERT INTO versions VALUES ('old', 1, 'production', 'b', NULL, NULL, '{}', 'h', 'w', '{\"acc\": 0.5}',"
        " NULL, NULL, NULL, NULL, '', '2026-01-01T00:00:00+00:00')"
    )
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
    registry, _ = _registry(tmp_path)
    old = await registry.get("old", "production")
    assert old.metrics == {"acc": 0.5}, old
    assert await registry.list_deployments() == []  # the table version 2 added
    await registry.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


async def test_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "registry.db"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    registry, _ = _registry(tmp_path)
    with pytest.raises(StorageError, match="newer than this cookbook"):
        await registry.list()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    conn.close()


async def test_a_file_that_is_not_a_database_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "registry.db").write_bytes(b"this is not sqlite" * 100)
    registry, _ = _registry(tmp_path)
    with pytest.raises(StorageError, match="not a usable SQLite database") as info:
        await registry.list()
    assert "\n" not in str(info.value)


async def test_local_manifest_wires_sqlite_over_the_file_blob_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COOKBOOK_DATA_DIR", str(tmp_path / "data"))
    ports = Ports(resolve_bindings(load_manifest("local")))
    registry = ports.registry
    assert isinstance(registry, SqliteModelRegistry) and registry.blobs is ports.blobs
    mv = await registry.register(_reg(tmp_path, "a"))
    assert registry.path == tmp_path / "data" / "registry.db"
    assert await ports.blobs.list() == [f"{mv.artifacts[0].key}/w-a.bin"]
    assert (tmp_path / "data" / "blobs" / mv.artifacts[0].key / "w-a.bin").read_bytes() == b"a" * 10
    await ports.aclose()


async def test_eight_processes_registering_at_once_lose_nothing(tmp_path: Path) -> None:
    per_worker = 5
    db, blobs = tmp_path / "registry.db", tmp_path / "blobs"
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "register", str(db), str(blobs), f"w{i}", str(per_worker)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(8)
    ]
    errors = [(p.communicate(timeout=300)[1], p.returncode) for p in procs]
    print(f"8 processes x {per_worker} registrations: {time.perf_counter() - started:.1f}s")
    assert all(rc == 0 for _, rc in errors), [err for err, rc in errors if rc]
    registry, _ = _registry(tmp_path)
    versions = await registry.list("shared")
    await registry.close()
    assert [v.version for v in versions] == list(range(1, 8 * per_worker + 2)), "version numbers not 1..N"
    tags = sorted(v.config["tag"] for v in versions)
    expected = sorted([f"w{i}-{j}" for i in range(8) for j in range(per_worker)] + ["same-for-all"])
    assert tags == expected, f"lost or duplicated registrations: {sorted(set(expected) ^ set(tags))}"


async def test_a_write_killed_mid_transaction_leaves_the_database_consistent(tmp_path: Path) -> None:
    registry, _ = _registry(tmp_path)
    await registry.register(_reg(tmp_path, "before"))
    await registry.close()
    marker = tmp_path / "inside.txt"
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), "hang", str(tmp_path / "registry.db"), str(tmp_path / "blobs"), str(marker)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"worker exited before stalling: {proc.communicate()[1]}")
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, proc.returncode
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    conn = sqlite3.connect(tmp_path / "registry.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("SELECT count(*) FROM versions WHERE name = 'shared'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM artifacts WHERE name = 'shared'").fetchone()[0] == 0
    conn.close()
    reopened, _ = _registry(tmp_path)
    assert [str(v.ref) for v in await reopened.list()] == ["m:1"]
    after = await reopened.register(_reg(tmp_path, "after"))
    assert after.version == 2, after.ref
    await reopened.close()
