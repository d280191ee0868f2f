"""The server's durable record: sessions, training runs and checkpoints, in SQLite.

One database file (`server.db` in the state directory) in WAL mode; every change
is one transaction, so a server killed at any moment leaves the record as it was
before the change or after it. A checkpoint becomes visible (listed, loadable by
its `tinker://` path) only when its row is committed, and the row is written only
after the backend has renamed the finished files into place; files a killed save
left behind are unrecorded and removed at the next start (`sweep_unrecorded`).

Without a path the store lives in memory, so a server without a state directory
behaves the same, and forgets everything when it stops.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import ConfigError

__all__ = ["SCHEMA_VERSION", "CheckpointRow", "RunRow", "Store", "sweep_unrecorded"]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    finished_at REAL
);
CREATE TABLE IF NOT EXISTS training_runs (
    run_id TEXT PRIMARY KEY,
    base_model TEXT NOT NULL,
    lora_rank INTEGER NOT NULL,
    user_metadata TEXT,
    train_mlp INTEGER,
    train_attn INTEGER,
    train_unembed INTEGER,
    created_at REAL NOT NULL,
    last_request_time REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES training_runs(run_id),
    checkpoint_id TEXT NOT NULL,
    checkpoint_type TEXT NOT NULL,
    tinker_path TEXT NOT NULL UNIQUE,
    backend_path TEXT NOT NULL,
    base_model TEXT NOT NULL,
    lora_rank INTEGER NOT NULL,
    time TEXT NOT NULL,
    public INTEGER NOT NULL DEFAULT 0,
    expires_at TEXT,
    user_metadata TEXT,
    UNIQUE (run_id, checkpoint_id)
);
"""


@dataclass(frozen=True)
class RunRow:
    """A training run as stored."""

    run_id: str
    base_model: str
    rank: int
    user_metadata: dict[str, str] | None
    lora_targets: tuple[bool, bool, bool] | None  # (mlp, attn, unembed)
    last_request_time: float


@dataclass(frozen=True)
class CheckpointRow:
    """A checkpoint as stored: its listing entry and where its files are."""

    run_id: str
    entry: dict[str, Any]
    backend_path: str
    base_model: str
    rank: int


def _dumps(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def _loads(text: str | None) -> dict[str, Any] | None:
    return None if text is None else dict(json.loads(text))


class Store:
    """Sessions, runs and checkpoints in one SQLite database (in memory when `path` is None).

    Used from the server's event loop only; each method is one transaction.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        target = ":memory:"
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            target = str(path)
        try:
            # The loop thread uses the connection; it is made on the thread that builds the state.
            self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = 5000")
            if path is not None:
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                f"server state database {target!r} is unreadable ({exc}); "
                "pass another --state-dir or move the damaged one away"
            ) from None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _migrate(self) -> None:
        self._db.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")  # idempotent
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif int(row[0]) != SCHEMA_VERSION:
                raise ConfigError(
                    f"server state {self.path} has schema version {row[0]}, this server "
                    f"reads version {SCHEMA_VERSION}; use a matching cookbook or another --state-dir"
                )

    def close(self) -> None:
        self._db.close()

    # -- sessions ---------------------------------------------------------------

    def add_session(self, session_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO sessions (session_id, created_at) VALUES (?, ?)",
                (session_id, time.time()),
            )

    def finish_session(self, session_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE sessions SET finished_at = ? WHERE session_id = ? AND finished_at IS NULL",
                (time.time(), session_id),
            )

    def open_sessions(self) -> list[str]:
        rows = self._db.execute(
            "SELECT session_id FROM sessions WHERE finished_at IS NULL ORDER BY created_at"
        )
        return [str(r[0]) for r in rows]

    # -- runs -------------------------------------------------------------------

    def put_run(self, run: RunRow) -> None:
        targets = run.lora_targets or (None, None, None)
        with self._tx() as db:
            db.execute(
                "INSERT INTO training_runs (run_id, base_model, lora_rank, user_metadata, "
                "train_mlp, train_attn, train_unembed, created_at, last_request_time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET "
                "user_metadata = excluded.user_metadata, train_mlp = excluded.train_mlp, "
                "train_attn = excluded.train_attn, train_unembed = excluded.train_unembed, "
                "last_request_time = excluded.last_request_time",
                (
                    run.run_id,
                    run.base_model,
                    run.rank,
                    _dumps(run.user_metadata),
                    *targets,
                    time.time(),
                    run.last_request_time,
                ),
            )

    def runs(self) -> list[RunRow]:
        rows = self._db.execute(
            "SELECT run_id, base_model, lora_rank, user_metadata, train_mlp, train_attn, "
            "train_unembed, last_request_time FROM training_runs ORDER BY created_at"
        )
        return [
            RunRow(
                run_id=str(r[0]),
                base_model=str(r[1]),
                rank=int(r[2]),
                user_metadata=_loads(r[3]),
                lora_targets=None if r[4] is None else (bool(r[4]), bool(r[5]), bool(r[6])),
                last_request_time=float(r[7]),
            )
            for r in rows
        ]

    # -- checkpoints ------------------------------------------------------------

    def put_checkpoint(self, row: CheckpointRow, *, run_last_request_time: float) -> None:
        """Record a finished checkpoint (replacing one of the same name) and touch its run."""
        e = row.entry
        with self._tx() as db:
            db.execute(
                "DELETE FROM checkpoints WHERE run_id = ? AND checkpoint_id = ?",
                (row.run_id, e["checkpoint_id"]),
            )
            db.execute(
                "INSERT INTO checkpoints (run_id, checkpoint_id, checkpoint_type, tinker_path, "
                "backend_path, base_model, lora_rank, time, public, expires_at, user_metadata) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.run_id,
                    e["checkpoint_id"],
                    e["checkpoint_type"],
                    e["tinker_path"],
                    row.backend_path,
                    row.base_model,
                    row.rank,
                    e["time"],
                    int(bool(e["public"])),
                    e["expires_at"],
                    _dumps(e["user_metadata"]),
                ),
            )
            db.execute(
                "UPDATE training_runs SET last_request_time = ? WHERE run_id = ?",
                (run_last_request_time, row.run_id),
            )

    def update_checkpoint(
        self, run_id: str, checkpoint_id: str, *, public: bool, expires_at: str | None
    ) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE checkpoints SET public = ?, expires_at = ? "
                "WHERE run_id = ? AND checkpoint_id = ?",
                (int(public), expires_at, run_id, checkpoint_id),
            )

    def delete_checkpoint(self, run_id: str, checkpoint_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "DELETE FROM checkpoints WHERE run_id = ? AND checkpoint_id = ?",
                (run_id, checkpoint_id),
            )

    def checkpoints(self) -> list[CheckpointRow]:
        """Every checkpoint, oldest first."""
        rows = self._db.execute(
            "SELECT run_id, checkpoint_id, checkpoint_type, tinker_path, backend_path, base_model, "
            "lora_rank, time, public, expires_at, user_metadata FROM checkpoints ORDER BY seq"
        )
        return [
            CheckpointRow(
                run_id=str(r[0]),
                entry={
                    "checkpoint_id": r[1],
                    "checkpoint_type": r[2],
                    "time": r[7],
                    "tinker_path": r[3],
                    "public": bool(r[8]),
                    "expires_at": r[9],
                    "user_metadata": _loads(r[10]),
                },
                backend_path=str(r[4]),
                base_model=str(r[5]),
                rank=int(r[6]),
            )
            for r in rows
        ]


def sweep_unrecorded(root: Path, recorded: Iterable[str]) -> list[Path]:
    """Remove checkpoint directories under `root` that no committed row names; the removed paths.

    `root` is the backend's checkpoint root as the server laid it out
    (`<kind>/<model>/<name>`). What is left there unrecorded is a save a killed
    server never committed: a temp directory, or a finished one whose row was never
    written. Either way no client was ever given its path.
    """
    keep = {Path(p).resolve() for p in recorded}
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for kind in root.iterdir():
        if not kind.is_dir():
            continue
        for model in kind.iterdir():
            if not model.is_dir():
                continue
            for entry in model.iterdir():
                if entry.resolve() not in keep:
                    if entry.is_dir():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink(missing_ok=True)
                    removed.append(entry)
            if not any(model.iterdir()):
                model.rmdir()
    if removed:
        logger.info("removed %d unrecorded checkpoint files under %s", len(removed), root)
    return removed
