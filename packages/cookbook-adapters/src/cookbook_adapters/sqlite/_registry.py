"""`SqliteModelRegistry`: the `ModelRegistry` port on one SQLite file plus a `BlobStore`.

Every write is one `BEGIN IMMEDIATE` transaction, so concurrent writers (threads or
processes) are serialised by SQLite's write lock and a writer killed half-way leaves
nothing behind: the version numbers it would have taken stay free. Registration copies
artifacts into the blob store *before* its transaction (content-addressed keys, so a
retry rewrites nothing) and re-checks for an identical version inside it, which keeps
concurrent identical registrations idempotent. The database runs in WAL mode, so
readers never wait for a writer.

Calls run on a worker thread (`asyncio.to_thread`), one at a time per registry
object, so a busy database never stalls the event loop of a server using it.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from cookbook_runtime.errors import ConfigError, StorageError, UnknownNameError
from cookbook_runtime.ports import (
    Artifact,
    ArtifactSource,
    BlobStore,
    Deployment,
    DeploymentDraft,
    DeploymentStatus,
    HealthCheck,
    Lineage,
    LineageEdge,
    ModelStage,
    ModelVersion,
    Registration,
    StageChange,
    TrafficSplit,
    VersionComparison,
    VersionRef,
    VersionSelector,
    check_stage_move,
    compare_versions,
    fetch_artifact_files,
    hash_artifacts,
    new_artifacts,
    store_artifacts,
    unknown_version,
    updated_deployment,
    weights_digest,
)

from cookbook_adapters._data_dir import cookbook_data_dir
from cookbook_adapters.sqlite._schema import migrate

__all__ = ["SqliteModelRegistry", "default_registry_path"]

T = TypeVar("T")

_BUSY_TIMEOUT_S = 60.0


def default_registry_path() -> Path:
    """`$COOKBOOK_DATA_DIR/registry.db`, else `$XDG_DATA_HOME/cookbook/registry.db`, else under `~/.local/share`."""
    return cookbook_data_dir() / "registry.db"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class SqliteModelRegistry:
    """Model versions, lineage, stages and deployments in SQLite; artifacts in `blobs`.

    `path`: the database file (default `default_registry_path()`); `blobs`: where
    artifact files go (the manifest's `blobs` port; default a `FileBlobStore` in the
    user data dir).
    """

    def __init__(self, path: str | Path | None = None, *, blobs: BlobStore | None = None) -> None:
        self.path = Path(path).expanduser() if path else default_registry_path()
        if blobs is None:
            from cookbook_adapters.files import FileBlobStore

            blobs = FileBlobStore()
        self.blobs = blobs
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    # -- plumbing -----------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StorageError(f"model registry {str(self.path)!r} is closed")
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
                )
            except (OSError, sqlite3.Error) as exc:
                raise StorageError(f"cannot open model registry {str(self.path)!r}: {exc}") from None
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA foreign_keys = ON")
                migrate(conn, where=f"model registry {str(self.path)!r}")
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise StorageError(f"model registry {str(self.path)!r} is not a usable SQLite database: {exc}") from None
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    async def _call(self, fn: Callable[[sqlite3.Connection], T], *, write: bool = False) -> T:
        """Run `fn` on the connection; a read of a registry that does not exist yet creates nothing."""

        def locked() -> T:
            with self._lock:
                if not write and self._conn is None and not self._closed and not self.path.exists():
                    empty = sqlite3.connect(":memory:", isolation_level=None)
                    try:
                        migrate(empty)
                        return fn(empty)
                    finally:
                        empty.close()
                conn = self._connection()
                try:
                    return fn(conn)
                except sqlite3.Error as exc:
                    raise StorageError(f"model registry {str(self.path)!r}: {exc}") from None

        return await asyncio.to_thread(locked)

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` inside one `BEGIN IMMEDIATE` transaction: all of it is committed, or none."""

        def transaction(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._call(transaction, write=True)

    # -- reading rows ---------------------------------------------------------------

    def _row_version(self, conn: sqlite3.Connection, row: sqlite3.Row | tuple[Any, ...]) -> ModelVersion:
        (name, version, stage, base_model, renderer, recipe, config, chash, wsha, metrics,
         parent_name, parent_version, lineage, source_run, description, created_at) = row  # fmt: skip
        artifacts = [
            Artifact.model_validate_json(body)
            for (body,) in conn.execute(
                "SELECT body FROM artifacts WHERE name = ? AND version = ? ORDER BY rowid", (name, version)
            )
        ]
        history = [
            StageChange(from_stage=f, to_stage=t, at=datetime.fromisoformat(at), accepted=bool(ok), reason=reason)
            for f, t, at, ok, reason in conn.execute(
                "SELECT from_stage, to_stage, at, accepted, reason FROM stage_changes"
                " WHERE name = ? AND version = ? ORDER BY id",
                (name, version),
            )
        ]
        parent = VersionRef(name=parent_name, version=parent_version) if parent_name is not None else None
        return ModelVersion(
            name=name,
            version=version,
            stage=stage,
            base_model=base_model,
            renderer=renderer,
            recipe=recipe,
            config=json.loads(config),
            config_hash=chash,
            weights_sha256=wsha,
            metrics=json.loads(metrics),
            parent=parent,
            lineage=lineage,
            artifacts=tuple(artifacts),
            source_run=source_run,
            description=description,
            created_at=datetime.fromisoformat(created_at),
            history=tuple(history),
        )

    _COLUMNS = (
        "name, version, stage, base_model, renderer, recipe, config, config_hash, weights_sha256, metrics,"
        " parent_name, parent_version, lineage, source_run, description, created_at"
    )

    def _find(self, conn: sqlite3.Connection, name: str, version: int) -> ModelVersion:
        row = conn.execute(
            f"SELECT {self._COLUMNS} FROM versions WHERE name = ? AND version = ?", (name, version)
        ).fetchone()
        if row is None:
            count = conn.execute("SELECT count(*) FROM versions WHERE name = ?", (name,)).fetchone()[0]
            if not count:
                raise self._unknown_model(conn, name)
            raise unknown_version(name, version, count)
        return self._row_version(conn, row)

    def _unknown_model(self, conn: sqlite3.Connection, name: str) -> UnknownNameError:
        known = [n for (n,) in conn.execute("SELECT DISTINCT name FROM versions ORDER BY name LIMIT 50")]
        return UnknownNameError("model", name, known)

    def _same(self, conn: sqlite3.Connection, name: str, chash: str, wsha: str) -> ModelVersion | None:
        row = conn.execute(
            f"SELECT {self._COLUMNS} FROM versions WHERE name = ? AND config_hash = ? AND weights_sha256 = ?",
            (name, chash, wsha),
        ).fetchone()
        return self._row_version(conn, row) if row is not None else None

    # -- versions -----------------------------------------------------------------------

    async def register(self, registration: Registration) -> ModelVersion:
        r = registration
        if r.parent is not None:
            parent = r.parent
            await self._call(lambda conn: self._find(conn, parent.name, parent.version))
        artifacts = await hash_artifacts(r.name, r.artifacts)
        chash, wsha = r.resolved_config_hash(), weights_digest(artifacts)
        existing = await self._call(lambda conn: self._same(conn, r.name, chash, wsha))
        if existing is not None:
            return existing
        await store_artifacts(self.blobs, r.artifacts, artifacts)

        def insert(conn: sqlite3.Connection) -> ModelVersion:
            again = self._same(conn, r.name, chash, wsha)  # a concurrent writer may have won
            if again is not None:
                return again
            if r.parent is not None:
                self._find(conn, r.parent.name, r.parent.version)
            number = conn.execute("SELECT coalesce(max(version), 0) + 1 FROM versions WHERE name = ?", (r.name,))
            version = int(number.fetchone()[0])
            conn.execute(
                f"INSERT INTO versions ({self._COLUMNS}) VALUES (?, ?, 'experiment', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    r.name, version, r.base_model, r.renderer, r.recipe, _json(r.config), chash, wsha,
                    _json(r.metrics), r.parent.name if r.parent else None, r.parent.version if r.parent else None,
                    r.lineage, r.source_run, r.description, _now(),
                ),
            )  # fmt: skip
            for artifact in artifacts:
                conn.execute(
                    "INSERT INTO artifacts (name, version, artifact, body) VALUES (?, ?, ?, ?)",
                    (r.name, version, artifact.name, artifact.model_dump_json()),
                )
            return self._find(conn, r.name, version)

        return await self._write(insert)

    async def get(self, name: str, version: VersionSelector = None) -> ModelVersion:
        def read(conn: sqlite3.Connection) -> ModelVersion:
            if isinstance(version, int):
                return self._find(conn, name, version)
            if version is None:
                row = conn.execute("SELECT max(version) FROM versions WHERE name = ?", (name,)).fetchone()
            else:
                row = conn.execute(
                    "SELECT max(version) FROM versions WHERE name = ? AND stage = ?", (name, version)
                ).fetchone()
            if row[0] is None:
                if not conn.execute("SELECT 1 FROM versions WHERE name = ?", (name,)).fetchone():
                    raise self._unknown_model(conn, name)
                raise ConfigError(f"model {name!r} has no version in stage {version!r}")
            return self._find(conn, name, int(row[0]))

        return await self._call(read)

    async def list(self, name: str | None = None, *, stage: ModelStage | None = None) -> builtins.list[ModelVersion]:
        def read(conn: sqlite3.Connection) -> builtins.list[ModelVersion]:
            where, args = [], []
            if name is not None:
                if not conn.execute("SELECT 1 FROM versions WHERE name = ?", (name,)).fetchone():
                    raise self._unknown_model(conn, name)
                where.append("name = ?")
                args.append(name)
            if stage is not None:
                where.append("stage = ?")
                args.append(stage)
            clause = f" WHERE {' AND '.join(where)}" if where else ""
            rows = conn.execute(f"SELECT {self._COLUMNS} FROM versions{clause} ORDER BY name, version", args)
            return [self._row_version(conn, row) for row in rows.fetchall()]

        return await self._call(read)

    def _record_change(
        self, conn: sqlite3.Connection, mv: ModelVersion, to: ModelStage, *, accepted: bool, reason: str
    ) -> None:
        conn.execute(
            "INSERT INTO stage_changes (name, version, from_stage, to_stage, at, accepted, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (mv.name, mv.version, mv.stage, to, _now(), int(accepted), reason),
        )
        if accepted:
            conn.execute("UPDATE versions SET stage = ? WHERE name = ? AND version = ?", (to, mv.name, mv.version))

    async def promote(self, name: str, version: int, to: ModelStage, *, reason: str = "") -> ModelVersion:
        def move(conn: sqlite3.Connection) -> ModelVersion:
            mv = self._find(conn, name, version)
            check_stage_move(str(mv.ref), mv.stage, to)
            if to == "production":
                rows = conn.execute(
                    "SELECT version FROM versions WHERE name = ? AND stage = 'production' AND version != ?",
                    (name, version),
                ).fetchall()
                for (other,) in rows:
                    old = self._find(conn, name, other)
                    self._record_change(conn, old, "archived", accepted=True, reason=f"replaced by {mv.ref}")
            self._record_change(conn, mv, to, accepted=True, reason=reason)
            return self._find(conn, name, version)

        return await self._write(move)

    async def refuse_promotion(self, name: str, version: int, to: ModelStage, *, reason: str) -> ModelVersion:
        def record(conn: sqlite3.Connection) -> ModelVersion:
            self._record_change(conn, self._find(conn, name, version), to, accepted=False, reason=reason)
            return self._find(conn, name, version)

        return await self._write(record)

    async def set_metrics(self, name: str, version: int, metrics: Mapping[str, float]) -> ModelVersion:
        def merge(conn: sqlite3.Connection) -> ModelVersion:
            mv = self._find(conn, name, version)
            merged = ModelVersion.model_validate({**mv.model_dump(), "metrics": {**mv.metrics, **metrics}})
            conn.execute(
                "UPDATE versions SET metrics = ? WHERE name = ? AND version = ?", (_json(merged.metrics), name, version)
            )
            return self._find(conn, name, version)

        return await self._write(merge)

    async def compare(self, a: VersionRef, b: VersionRef) -> VersionComparison:
        def read(conn: sqlite3.Connection) -> VersionComparison:
            return compare_versions(self._find(conn, a.name, a.version), self._find(conn, b.name, b.version))

        return await self._call(read)

    async def lineage(self, name: str, version: int) -> Lineage:
        def read(conn: sqlite3.Connection) -> Lineage:
            start = self._find(conn, name, version)
            ancestors: builtins.list[LineageEdge] = []
            node = start
            while node.parent is not None and node.lineage is not None:
                ancestors.append(LineageEdge(child=node.ref, parent=node.parent, kind=node.lineage))
                node = self._find(conn, node.parent.name, node.parent.version)
            descendants: builtins.list[LineageEdge] = []
            frontier = [start.ref]
            while frontier:
                nxt: builtins.list[VersionRef] = []
                for ref in frontier:
                    rows = conn.execute(
                        "SELECT name, version, lineage FROM versions WHERE parent_name = ? AND parent_version = ?"
                        " ORDER BY created_at, name, version",
                        (ref.name, ref.version),
                    )
                    for child_name, child_version, kind in rows.fetchall():
                        child = VersionRef(name=child_name, version=child_version)
                        descendants.append(LineageEdge(child=child, parent=ref, kind=kind))
                        nxt.append(child)
                frontier = nxt
            return Lineage(version=start.ref, ancestors=tuple(ancestors), descendants=tuple(descendants))

        return await self._call(read)

    async def add_artifacts(self, name: str, version: int, artifacts: Sequence[ArtifactSource]) -> ModelVersion:
        current = await self._call(lambda conn: self._find(conn, name, version))
        hashed = await hash_artifacts(name, artifacts)
        if not new_artifacts(current, hashed):
            return current
        await store_artifacts(self.blobs, artifacts, new_artifacts(current, hashed))

        def insert(conn: sqlite3.Connection) -> ModelVersion:
            mv = self._find(conn, name, version)
            for artifact in new_artifacts(mv, hashed):  # again: a concurrent writer may have added some
                conn.execute(
                    "INSERT INTO artifacts (name, version, artifact, body) VALUES (?, ?, ?, ?)",
                    (name, version, artifact.name, artifact.model_dump_json()),
                )
            return self._find(conn, name, version)

        return await self._write(insert)

    async def fetch_artifact(self, name: str, version: int, artifact: str, dest: Path) -> Path:
        mv = await self._call(lambda conn: self._find(conn, name, version))
        return await fetch_artifact_files(self.blobs, mv.artifact(artifact), dest, what=str(mv.ref))

    # -- deployments ----------------------------------------------------------------------

    _DEPLOYMENT_COLUMNS = "id, name, target, strategy, traffic, status, endpoint, health, detail, created_at, updated_at"

    @staticmethod
    def _row_deployment(row: tuple[Any, ...]) -> Deployment:
        (did, name, target, strategy, traffic, status, endpoint, health, detail, created, updated) = row
        return Deployment(
            id=did,
            name=name,
            target=target,
            strategy=strategy,
            traffic=tuple(TrafficSplit.model_validate(t) for t in json.loads(traffic)),
            status=status,
            endpoint=endpoint,
            health=HealthCheck.model_validate_json(health) if health else None,
            detail=detail,
            created_at=datetime.fromisoformat(created),
            updated_at=datetime.fromisoformat(updated),
        )

    def _find_deployment(self, conn: sqlite3.Connection, deployment_id: str) -> Deployment:
        row = conn.execute(
            f"SELECT {self._DEPLOYMENT_COLUMNS} FROM deployments WHERE id = ?", (deployment_id,)
        ).fetchone()
        if row is None:
            known = [i for (i,) in conn.execute("SELECT id FROM deployments ORDER BY created_at DESC LIMIT 20")]
            raise UnknownNameError("deployment", deployment_id, known)
        return self._row_deployment(row)

    def _save_deployment(self, conn: sqlite3.Connection, d: Deployment) -> None:
        conn.execute(
            f"INSERT OR REPLACE INTO deployments ({self._DEPLOYMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                d.id, d.name, d.target, d.strategy, _json([t.model_dump() for t in d.traffic]), d.status,
                d.endpoint, d.health.model_dump_json() if d.health else None, d.detail,
                d.created_at.isoformat(), d.updated_at.isoformat(),
            ),
        )  # fmt: skip
        if d.status == "active":
            conn.execute(
                "UPDATE deployments SET status = 'terminated', updated_at = ?"
                " WHERE target = ? AND status = 'active' AND id != ?",
                (_now(), d.target, d.id),
            )

    async def record_deployment(self, draft: DeploymentDraft) -> Deployment:
        def insert(conn: sqlite3.Connection) -> Deployment:
            for split in draft.traffic:
                self._find(conn, draft.name, split.version)
            at = datetime.now(UTC)
            deployment = Deployment(id=uuid.uuid4().hex[:12], created_at=at, updated_at=at, **draft.model_dump())
            self._save_deployment(conn, deployment)
            return deployment

        return await self._write(insert)

    async def get_deployment(self, deployment_id: str) -> Deployment:
        return await self._call(lambda conn: self._find_deployment(conn, deployment_id))

    async def list_deployments(
        self, name: str | None = None, *, target: str | None = None, status: DeploymentStatus | None = None
    ) -> builtins.list[Deployment]:
        def read(conn: sqlite3.Connection) -> builtins.list[Deployment]:
            where, args = [], []
            for column, value in (("name", name), ("target", target), ("status", status)):
                if value is not None:
                    where.append(f"{column} = ?")
                    args.append(value)
            clause = f" WHERE {' AND '.join(where)}" if where else ""
            rows = conn.execute(
                f"SELECT {self._DEPLOYMENT_COLUMNS} FROM deployments{clause} ORDER BY created_at, rowid", args
            )
            return [self._row_deployment(row) for row in rows.fetchall()]

        return await self._call(read)

    async def update_deployment(
        self,
        deployment_id: str,
        *,
        status: DeploymentStatus | None = None,
        health: HealthCheck | None = None,
        traffic: Sequence[TrafficSplit] | None = None,
        endpoint: str | None = None,
        detail: str | None = None,
    ) -> Deployment:
        def update(conn: sqlite3.Connection) -> Deployment:
            current = self._find_deployment(conn, deployment_id)
            changes: dict[str, Any] = {"updated_at": datetime.now(UTC)}
            if status is not None:
                changes["status"] = status
            if health is not None:
                changes["health"] = health.model_dump()
            if traffic is not None:
                for split in traffic:
                    self._find(conn, current.name, split.version)
                changes["traffic"] = [t.model_dump() for t in traffic]
            if endpoint is not None:
                changes["endpoint"] = endpoint
            if detail is not None:
                changes["detail"] = detail
            updated = updated_deployment(current, changes)
            self._save_deployment(conn, updated)
            return updated

        return await self._write(update)

    async def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None
