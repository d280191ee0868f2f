"""`SQLiteFeedbackStore`: the feedback port in one SQLite file (stdlib `sqlite3`, WAL).

Each record is kept whole as JSON beside the columns queries filter and order on
(time in integer microseconds since the epoch, UTC). Writes run in `BEGIN IMMEDIATE`
transactions, so several processes (an endpoint's workers, a pipeline) can share the
file; WAL lets readers proceed while one writes. The schema version is the file's
`PRAGMA user_version`; a file from a newer version is refused rather than misread.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from cookbook_runtime.errors import FeedbackEventNotFound, StorageError
from cookbook_runtime.ports import FeedbackSignal, InferenceEvent, SignalKind, TriggerRecord

from cookbook_adapters._data_dir import cookbook_data_dir

__all__ = ["SCHEMA_VERSION", "SQLiteFeedbackStore", "default_feedback_path"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    time_us INTEGER NOT NULL,
    model TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events (time_us, seq);
CREATE TABLE IF NOT EXISTS signals (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    event_id TEXT NOT NULL REFERENCES events (id),
    kind TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS signals_time ON signals (time_us, seq);
CREATE INDEX IF NOT EXISTS signals_event ON signals (event_id);
CREATE TABLE IF NOT EXISTS triggers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    fired INTEGER NOT NULL,
    time_us INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS triggers_name_time ON triggers (name, time_us, seq);
"""

R = TypeVar("R", InferenceEvent, FeedbackSignal, TriggerRecord)
T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def default_feedback_path() -> Path:
    """`$COOKBOOK_DATA_DIR/feedback.db`, else `$XDG_DATA_HOME/cookbook/feedback.db`, else under `~/.local/share`."""
    return cookbook_data_dir() / "feedback.db"


def _us(time: datetime) -> int:
    delta = time.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class SQLiteFeedbackStore:
    """Feedback in the SQLite file `path` (default: `default_feedback_path()`), created on first use."""

    def __init__(self, path: str | Path | None = None, *, timeout_s: float = 30.0) -> None:
        self.path = Path(path).expanduser() if path else default_feedback_path()
        self.timeout_s = timeout_s
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._closed = False

    # -- connection -----------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._closed:
            raise StorageError(f"feedback store {str(self.path)!r} is closed")
        if self._conn is not None:
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open feedback store {str(self.path)!r}: {exc}") from None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("BEGIN IMMEDIATE")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                conn.execute("ROLLBACK")
                conn.close()
                raise StorageError(
                    f"feedback store {str(self.path)!r} has schema version {version}, newer than this cookbook's "
                    f"{SCHEMA_VERSION}; upgrade cookbook-adapters or point the 'feedback' port at another file"
                )
            if version < SCHEMA_VERSION:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.close()
            raise StorageError(f"feedback store {str(self.path)!r} is not a usable SQLite file: {exc}") from None
        self._conn = conn
        return conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            with self._lock:
                conn = self._connect()
                try:
                    return fn(conn)
                except sqlite3.Error as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise StorageError(f"feedback store {str(self.path)!r}: {exc}") from None

        return await asyncio.to_thread(call)

    # -- writes ---------------------------------------------------------------

    @staticmethod
    def _insert(
        conn: sqlite3.Connection, table: str, record: R, columns: dict[str, Any], what: str
    ) -> None:
        """Insert inside the caller's transaction; an equal record already stored is a no-op."""
        row = conn.execute(f"SELECT body FROM {table} WHERE id = ?", (record.id,)).fetchone()
        if row is not None:
            if type(record).model_validate_json(row[0]) != record:
                raise StorageError(f"{what} {record.id!r} is already stored with different content; use a new id")
            return
        names = ["id", "time_us", "body", *columns]
        values = [record.id, _us(record.time), record.model_dump_json(), *columns.values()]
        marks = ", ".join("?" for _ in names)
        conn.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", values)

    async def log_event(self, event: InferenceEvent) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._insert(conn, "events", event, {"model": event.model}, "inference event")
            except StorageError:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await self._run(write)

    async def add_signal(self, signal: FeedbackSignal) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute("SELECT 1 FROM events WHERE id = ?", (signal.event_id,)).fetchone() is None:
                    raise FeedbackEventNotFound(signal.event_id)
                columns = {"event_id": signal.event_id, "kind": signal.kind}
                self._insert(conn, "signals", signal, columns, "feedback signal")
            except StorageError:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await self._run(write)

    async def add_trigger(self, record: TriggerRecord) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                columns = {"name": record.name, "fired": int(record.fired)}
                self._insert(conn, "triggers", record, columns, "trigger record")
            except StorageError:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        await self._run(write)

    # -- reads ----------------------------------------------------------------

    async def _select(
        self,
        table: str,
        model: type[R],
        where: list[tuple[str, Sequence[Any]]],
        limit: int | None,
        newest_first: bool,
    ) -> list[R]:
        if limit is not None and limit < 0:
            raise StorageError(f"limit must be >= 0, got {limit}")
        clauses = " AND ".join(c for c, _ in where) or "1"
        params: list[Any] = [p for _, ps in where for p in ps]
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT body FROM {table} WHERE {clauses} ORDER BY time_us {order}, seq {order}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)

        def read(conn: sqlite3.Connection) -> list[str]:
            return [row[0] for row in conn.execute(sql, params)]

        return [model.model_validate_json(body) for body in await self._run(read)]

    async def get_event(self, event_id: str) -> InferenceEvent | None:
        found = await self._select("events", InferenceEvent, [("id = ?", [event_id])], 1, False)
        return found[0] if found else None

    async def events(
        self,
        *,
        since: datetime | None = None,
        model: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[InferenceEvent]:
        where: list[tuple[str, Sequence[Any]]] = []
        if since is not None:
            where.append(("time_us > ?", [_us(since)]))
        if model is not None:
            where.append(("model = ?", [model]))
        return await self._select("events", InferenceEvent, where, limit, newest_first)

    async def signals(
        self,
        *,
        since: datetime | None = None,
        event_id: str | None = None,
        kinds: Sequence[SignalKind] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[FeedbackSignal]:
        where: list[tuple[str, Sequence[Any]]] = []
        if since is not None:
            where.append(("time_us > ?", [_us(since)]))
        if event_id is not None:
            where.append(("event_id = ?", [event_id]))
        if kinds is not None:
            kinds = list(kinds)
            if not kinds:
                return []
            where.append((f"kind IN ({', '.join('?' for _ in kinds)})", kinds))
        return await self._select("signals", FeedbackSignal, where, limit, newest_first)

    async def count(self, what: Literal["events", "signals"] = "events", *, since: datetime | None = None) -> int:
        if what not in ("events", "signals"):
            raise StorageError(f"count() counts 'events' or 'signals', not {what!r}")
        sql = f"SELECT COUNT(*) FROM {what}"
        params: list[Any] = []
        if since is not None:
            sql += " WHERE time_us > ?"
            params.append(_us(since))

        def read(conn: sqlite3.Connection) -> int:
            return int(conn.execute(sql, params).fetchone()[0])

        return await self._run(read)

    async def triggers(
        self,
        *,
        name: str | None = None,
        fired: bool | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[TriggerRecord]:
        where: list[tuple[str, Sequence[Any]]] = []
        if name is not None:
            where.append(("name = ?", [name]))
        if fired is not None:
            where.append(("fired = ?", [int(fired)]))
        return await self._select("triggers", TriggerRecord, where, limit, newest_first)

    async def schema_version(self) -> int:
        """The file's schema version (`PRAGMA user_version`)."""
        return await self._run(lambda conn: int(conn.execute("PRAGMA user_version").fetchone()[0]))

    async def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._closed = True
