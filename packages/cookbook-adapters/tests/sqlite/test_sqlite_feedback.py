"""The SQLite feedback store: the port contract, persistence, schema versions, several processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from cookbook_adapters.sqlite import FEEDBACK_SCHEMA_VERSION as SCHEMA_VERSION
from cookbook_adapters.sqlite import SQLiteFeedbackStore, default_feedback_path
from cookbook_runtime.errors import StorageError
from cookbook_runtime.ports import FeedbackSignal, InferenceEvent, create_adapter, load_manifest
from cookbook_runtime.testing import FEEDBACK_STORE_CHECKS


@pytest.mark.parametrize("check", FEEDBACK_STORE_CHECKS.values(), ids=list(FEEDBACK_STORE_CHECKS))
async def test_sqlite_feedback_contract(check: Any, tmp_path: Path) -> None:
    store = SQLiteFeedbackStore(tmp_path / "fb.db")
    try:
        await check(store)
    finally:
        await store.close()


def _event(i: int, model: str = "m") -> InferenceEvent:
    return InferenceEvent(id=f"e{i}", model=model, messages=[{"role": "user", "content": f"q{i}"}], completion=f"a{i}")


async def test_records_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "fb.db"
    store = SQLiteFeedbackStore(path)
    await store.log_event(_event(1))
    await store.add_signal(FeedbackSignal(event_id="e1", kind="edit", completion="better"))
    await store.close()
    again = SQLiteFeedbackStore(path)
    assert [e.id for e in await again.events()] == ["e1"]
    assert [(s.kind, s.completion) for s in await again.signals()] == [("edit", "better")]
    assert await again.schema_version() == SCHEMA_VERSION
    await again.close()


async def test_wal_mode(tmp_path: Path) -> None:
    store = SQLiteFeedbackStore(tmp_path / "fb.db")
    await store.log_event(_event(1))
    await store.close()
    with sqlite3.connect(tmp_path / "fb.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fb.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store = SQLiteFeedbackStore(path)
    with pytest.raises(StorageError, match="newer than this cookbook"):
        await store.count()


async def test_not_a_database_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "fb.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="not a usable SQLite file"):
        await SQLiteFeedbackStore(path).count()


async def test_closed_store_refuses_use(tmp_path: Path) -> None:
    store = SQLiteFeedbackStore(tmp_path / "fb.db")
    await store.close()
    with pytest.raises(StorageError, match="closed"):
        await store.count()


def _write_many(path: str, worker: int, n: int) -> None:
    async def go() -> None:
        store = SQLiteFeedbackStore(path)
        for i in range(n):
            event = InferenceEvent(
                id=f"w{worker}-{i}", model="m", messages=[{"role": "user", "content": "q"}], completion="a"
            )
            await store.log_event(event)
            await store.add_signal(FeedbackSignal(event_id=event.id, kind="thumbs_up"))
        await store.close()

    asyncio.run(go())


async def test_concurrent_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "fb.db"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(str(path), w, 25)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    store = SQLiteFeedbackStore(path)
    assert await store.count() == 100
    assert await store.count("signals") == 100
    assert len({e.id for e in await store.events()}) == 100
    await store.close()


def test_default_path_follows_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOKBOOK_DATA_DIR", str(tmp_path))
    assert default_feedback_path() == tmp_path / "feedback.db"


async def test_registry_and_local_manifest_wire_sqlite(tmp_path: Path) -> None:
    assert load_manifest("local").ports["feedback"].adapter == "sqlite"
    store = create_adapter("sqlite", "feedback", {"path": str(tmp_path / "x.db")})
    assert isinstance(store, SQLiteFeedbackStore)
    await store.log_event(_event(1))
    assert await store.count() == 1
    await store.close()
