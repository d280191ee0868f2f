"""The registry's schema, versioned with `PRAGMA user_version` and upgraded by ordered migrations.

Each migration runs in one `BEGIN IMMEDIATE` transaction together with the bump of
`user_version`, so a database is always at exactly one schema version, and two
processes opening a fresh database never both migrate it. A database written by a
newer cookbook (a higher version than this code knows) is refused, never altered.
"""

from __future__ import annotations

import sqlite3

from cookbook_runtime.errors import StorageError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

_V1 = (
    """CREATE TABLE versions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        stage TEXT NOT NULL CHECK (stage IN ('experiment', 'staging', 'production', 'archived')),
        base_model TEXT NOT NULL,
        renderer TEXT,
        recipe TEXT,
        config TEXT NOT NULL,
        config_hash TEXT NOT NULL,
        weights_sha256 TEXT NOT NULL,
        metrics TEXT NOT NULL,
        parent_name TEXT,
        parent_version INTEGER,
        lineage TEXT,
        source_run TEXT,
        description TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (name, version),
        UNIQUE (name, config_hash, weights_sha256),
        FOREIGN KEY (parent_name, parent_version) REFERENCES versions (name, version)
    )""",
    "CREATE INDEX versions_by_parent ON versions (parent_name, parent_version)",
    """CREATE TABLE artifacts (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        artifact TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (name, version, artifact),
        FOREIGN KEY (name, version) REFERENCES versions (name, version)
    )""",
    """CREATE TABLE stage_changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        from_stage TEXT NOT NULL,
        to_stage TEXT NOT NULL,
        at TEXT NOT NULL,
        accepted INTEGER NOT NULL,
        reason TEXT NOT NULL,
        FOREIGN KEY (name, version) REFERENCES versions (name, version)
    )""",
)

_V2 = (
    """CREATE TABLE deployments (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        target TEXT NOT NULL,
        strategy TEXT NOT NULL CHECK (strategy IN ('replace', 'canary')),
        traffic TEXT NOT NULL,
        status TEXT NOT NULL,
        endpoint TEXT,
        health TEXT,
        detail TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX deployments_by_target ON deployments (target, status)",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2)
"""`MIGRATIONS[i]` takes a database from schema version i to i + 1."""

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, *, target: int = SCHEMA_VERSION, where: str = "registry") -> int:
    """Bring `conn`'s database up to schema `target`; returns the version it was at.

    `conn` must be in autocommit mode (`isolation_level=None`): transactions are explicit.
    """
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise StorageError(
            f"{where} has schema version {found}, newer than this cookbook's {SCHEMA_VERSION}: upgrade cookbook"
        )
    if found >= target:
        return found
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = int(conn.execute("PRAGMA user_version").fetchone()[0])  # another process may have migrated
        for index in range(current, target):
            for statement in MIGRATIONS[index]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {index + 1}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found
