"""What the server remembers: sessions, models, samplers, saved paths and pending futures.

Every training request is queued on its runtime client before the HTTP reply is
sent (the SDK sends a model's requests one at a time, in order), so the runtime's
submission-order guarantee is the server's. Each queued request becomes a future
the SDK polls through `retrieve_future`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import BackendError, ConfigError, CookbookError
from cookbook_runtime.ports import SamplingClient, ServiceClient, TrainingClient

from cookbook_adapters.server._external import DownloadGrants, directory_size
from cookbook_adapters.server._store import CheckpointRow, RunRow, Store

__all__ = ["FutureResult", "LoraTargets", "ModelRecord", "NotFound", "SamplerRecord", "ServerState"]

logger = logging.getLogger(__name__)

_KEEP_DELIVERED_S = 600.0
_KEEP_UNCLAIMED_S = 3600.0  # results no client came for (it left mid-request) are dropped after this

EXTERNAL = "external_weights"
_CHECKPOINT_TYPES = {"weights": "training", "sampler_weights": "sampler", EXTERNAL: "external"}


class NotFound(CookbookError):
    """A session, model, sampler, path or request id the server does not know."""


@dataclass(frozen=True)
class FutureResult:
    """A finished request's reply: a JSON object or protobuf bytes."""

    json: dict[str, Any] | None = None
    proto: bytes | None = None


@dataclass
class ModelRecord:
    model_id: str
    session_id: str
    base_model: str
    rank: int
    client: TrainingClient
    tokenizer_dir: str | None = None


@dataclass
class SamplerRecord:
    sampler_id: str
    session_id: str
    base_model: str
    model_path: str | None
    client: SamplingClient
    clones: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


@dataclass
class _Pending:
    task: asyncio.Task[FutureResult]
    delivered_at: float | None = None
    finished_at: float | None = None

    def finished(self, task: asyncio.Task[FutureResult]) -> None:
        self.finished_at = time.monotonic()
        if not task.cancelled():
            task.exception()  # seen here, so a result nobody retrieves is not logged as lost


@dataclass(frozen=True)
class SavedPath:
    backend_path: str
    base_model: str
    rank: int


@dataclass(frozen=True)
class LoraTargets:
    """Which parts of the model a run's LoRA adapts (known only for runs made by create_model)."""

    mlp: bool
    attn: bool
    unembed: bool


@dataclass
class RunRecord:
    """A training run as the REST API reports it; it outlives its session."""

    run_id: str
    base_model: str
    rank: int
    user_metadata: dict[str, str] | None = None
    lora_targets: LoraTargets | None = None
    last_request_time: float = field(default_factory=time.time)
    checkpoints: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        def last(kind: str) -> dict[str, Any] | None:
            found = [c for c in self.checkpoints.values() if c["checkpoint_type"] == kind]
            return found[-1] if found else None

        return {
            "training_run_id": self.run_id,
            "base_model": self.base_model,
            "model_owner": "local",
            "is_lora": self.rank > 0,
            "lora_rank": self.rank or None,
            "last_request_time": _iso(self.last_request_time),
            "last_checkpoint": last("training"),
            "last_sampler_checkpoint": last("sampler"),
            "user_metadata": self.user_metadata,
        }

    def to_row(self) -> RunRow:
        targets = self.lora_targets
        return RunRow(
            run_id=self.run_id,
            base_model=self.base_model,
            rank=self.rank,
            user_metadata=self.user_metadata,
            lora_targets=(targets.mlp, targets.attn, targets.unembed) if targets else None,
            last_request_time=self.last_request_time,
        )

    @classmethod
    def from_row(cls, row: RunRow) -> RunRecord:
        targets = row.lora_targets
        return cls(
            row.run_id,
            row.base_model,
            row.rank,
            user_metadata=row.user_metadata,
            lora_targets=LoraTargets(*targets) if targets else None,
            last_request_time=row.last_request_time,
        )

    def weights_info(self) -> dict[str, Any]:
        """What the SDK needs to rebuild a training client for this run's checkpoints."""
        targets = self.lora_targets
        return {
            "base_model": self.base_model,
            "is_lora": self.rank > 0,
            "lora_rank": self.rank or None,
            "train_mlp": targets.mlp if targets else None,
            "train_attn": targets.attn if targets else None,
            "train_unembed": targets.unembed if targets else None,
        }


_MIN_TTL_S = 3600
_MAX_TTL_S = int(10 * 365.25 * 86400)


def string_metadata(metadata: dict[str, Any] | None) -> dict[str, str] | None:
    """User metadata as the REST API returns it: string values (the SDK's types say so)."""
    if metadata is None:
        return None
    return {str(k): v if isinstance(v, str) else str(v) for k, v in metadata.items()}


def expiry(ttl_seconds: int | None) -> str | None:
    """The ISO time a checkpoint with this TTL expires at; None for never. Bad TTLs are refused."""
    if ttl_seconds is None:
        return None
    if not _MIN_TTL_S <= ttl_seconds <= _MAX_TTL_S:
        raise ConfigError(
            f"ttl_seconds {ttl_seconds} is out of range: use {_MIN_TTL_S}..{_MAX_TTL_S} or None"
        )
    return _iso(time.time() + ttl_seconds)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat()


class ServerState:
    """All mutable server state, owned by the server's event loop.

    Sessions, runs and checkpoints are written through to `store` (default: one in
    memory) and read back from it at start, so a server on the same state directory
    lists and loads what an earlier one saved. Live models and samplers are not
    kept: clients recreate them from saved paths.
    """

    def __init__(
        self,
        backend: ServiceClient,
        tokenizer_root: Path,
        models: list[str],
        *,
        owns_backend: bool = False,
        session_timeout_s: float = 600.0,
        store: Store | None = None,
        export_root: Path | None = None,
    ) -> None:
        self.backend = backend
        self.store = store or Store()
        self.owns_backend = owns_backend
        self.session_timeout_s = session_timeout_s
        self.tokenizer_root = tokenizer_root
        # External weights exports live here (the state directory's, or a temp one).
        self.export_root = export_root or tokenizer_root / ".external-weights"
        self.downloads = DownloadGrants()
        self.supported_models = models
        self.sessions: dict[str, float] = {}
        self.models: dict[str, ModelRecord] = {}
        self.samplers: dict[str, SamplerRecord] = {}
        self.paths: dict[str, SavedPath] = {}
        self.runs: dict[str, RunRecord] = {}
        self._futures: dict[str, _Pending] = {}
        self._names = itertools.count()
        self._load()

    def _load(self) -> None:
        """Take up what the store holds: open sessions, runs and their checkpoints."""
        now = time.monotonic()
        for session_id in self.store.open_sessions():
            self.sessions[session_id] = now  # its client may still be there; the reaper decides
        for row in self.store.runs():
            self.runs[row.run_id] = RunRecord.from_row(row)
        for cp in self.store.checkpoints():
            run = self.runs.get(cp.run_id)
            if run is None:
                continue
            if cp.entry["checkpoint_type"] == "external":
                cp.entry["size_bytes"] = directory_size(Path(cp.backend_path))
            run.checkpoints[cp.entry["checkpoint_id"]] = cp.entry
            self.paths[cp.entry["tinker_path"]] = SavedPath(cp.backend_path, cp.base_model, cp.rank)
        # Unnamed checkpoints get names that never repeat one already recorded.
        self._names = itertools.count(sum(len(r.checkpoints) for r in self.runs.values()))

    # -- sessions ---------------------------------------------------------------

    def new_session(self) -> str:
        session_id = f"session-{uuid.uuid4().hex[:12]}"
        self.store.add_session(session_id)
        self.sessions[session_id] = time.monotonic()
        return session_id

    def heartbeat(self, session_id: str) -> None:
        if session_id not in self.sessions:
            raise NotFound(f"unknown session {session_id!r}: create a session first")
        self.sessions[session_id] = time.monotonic()

    async def reap_idle_sessions(self) -> list[str]:
        """Finish sessions silent for longer than the timeout (their client is gone); their ids."""
        now = time.monotonic()
        idle = [sid for sid, last in self.sessions.items() if now - last > self.session_timeout_s]
        for session_id in idle:
            logger.info(
                "session %s sent no heartbeat for %.0f s; finishing it",
                session_id,
                now - self.sessions[session_id],
            )
            await self.finish_session(session_id)
        return idle

    async def finish_session(self, session_id: str) -> None:
        """Close every model and sampler the session made, freeing their weights."""
        if self.sessions.pop(session_id, None) is not None:
            self.store.finish_session(session_id)
        for model_id in [m for m, r in self.models.items() if r.session_id == session_id]:
            record = self.models.pop(model_id)
            try:
                await record.client.close()
            except Exception:  # closing is best effort; the session is over either way
                logger.warning("closing model %s failed", model_id, exc_info=True)
        for sampler_id in [s for s, r in self.samplers.items() if r.session_id == session_id]:
            sampler = self.samplers.pop(sampler_id)
            try:
                await sampler.client.close()
            except Exception:  # best effort, as for models
                logger.warning("closing sampler %s failed", sampler_id, exc_info=True)

    # -- lookups ----------------------------------------------------------------

    def model(self, model_id: str) -> ModelRecord:
        try:
            return self.models[model_id]
        except KeyError:
            raise NotFound(
                f"unknown model {model_id!r}: create it with create_model first"
            ) from None

    def sampler(self, sampler_id: str) -> SamplerRecord:
        try:
            return self.samplers[sampler_id]
        except KeyError:
            raise NotFound(f"unknown sampling session {sampler_id!r}") from None

    def next_name(self, prefix: str) -> str:
        return f"{prefix}-{next(self._names):06d}"

    def add_model(
        self,
        record: ModelRecord,
        *,
        user_metadata: dict[str, Any] | None = None,
        lora_targets: LoraTargets | None = None,
    ) -> None:
        self.models[record.model_id] = record
        run = self.runs.setdefault(
            record.model_id, RunRecord(record.model_id, record.base_model, record.rank)
        )
        if user_metadata is not None:
            run.user_metadata = string_metadata(user_metadata)
        if lora_targets is not None:
            run.lora_targets = lora_targets
        self.store.put_run(run.to_row())

    def run(self, run_id: str) -> RunRecord:
        try:
            return self.runs[run_id]
        except KeyError:
            raise NotFound(f"unknown training run {run_id!r}") from None

    def remember_path(
        self,
        model: ModelRecord,
        kind: str,
        name: str,
        backend_path: str,
        *,
        expires_at: str | None = None,
        user_metadata: dict[str, str] | None = None,
        size_bytes: int | None = None,
    ) -> str:
        """A `tinker://` path for a saved backend path, remembered for later loads.

        Saving again under a name replaces the old entry whole, metadata included
        (the SDK documents `overwrite` that way).
        """
        path = f"tinker://{model.model_id}/{kind}/{name}"
        saved = SavedPath(backend_path, model.base_model, model.rank)
        run = self.runs.get(model.model_id)
        if run is None:
            run = RunRecord(model.model_id, model.base_model, model.rank)
            self.store.put_run(run.to_row())
            self.runs[run.run_id] = run
        checkpoint_id = f"{kind}/{name}"
        entry: dict[str, Any] = {
            "checkpoint_id": checkpoint_id,
            "checkpoint_type": _CHECKPOINT_TYPES[kind],
            "time": _iso(time.time()),
            "tinker_path": path,
            "public": False,
            "expires_at": expires_at,
            "user_metadata": user_metadata,
        }
        if size_bytes is not None:
            entry["size_bytes"] = size_bytes
        now = time.time()
        # Committed first: the checkpoint is visible only once its row is durable.
        self.store.put_checkpoint(
            CheckpointRow(run.run_id, entry, backend_path, model.base_model, model.rank),
            run_last_request_time=now,
        )
        run.last_request_time = now
        run.checkpoints.pop(checkpoint_id, None)
        run.checkpoints[checkpoint_id] = entry
        self.paths[path] = saved
        self.downloads.revoke(run.run_id, checkpoint_id)  # URLs signed for a replaced export
        return path

    def checkpoint(self, run_id: str, checkpoint_id: str) -> dict[str, Any]:
        """The listing entry of one checkpoint (mutable: publish and TTL change it in place)."""
        try:
            return self.run(run_id).checkpoints[checkpoint_id]
        except KeyError:
            raise NotFound(
                f"unknown checkpoint {checkpoint_id!r} of training run {run_id!r}"
            ) from None

    def set_public(self, run_id: str, checkpoint_id: str, public: bool) -> None:
        """Publish or unpublish a checkpoint; doing what is already done is refused, as the SDK documents."""
        entry = self.checkpoint(run_id, checkpoint_id)
        if entry["public"] == public:
            state = "public" if public else "private"
            raise ConfigError(f"checkpoint {checkpoint_id!r} of {run_id!r} is already {state}")
        self.store.update_checkpoint(
            run_id, checkpoint_id, public=public, expires_at=entry["expires_at"]
        )
        entry["public"] = public

    def set_ttl(self, run_id: str, checkpoint_id: str, ttl_seconds: int | None) -> None:
        entry = self.checkpoint(run_id, checkpoint_id)
        expires_at = expiry(ttl_seconds)
        self.store.update_checkpoint(
            run_id, checkpoint_id, public=entry["public"], expires_at=expires_at
        )
        entry["expires_at"] = expires_at

    def user_checkpoints(self) -> list[dict[str, Any]]:
        """Every checkpoint of every run, newest first."""
        found = [c for run in self.runs.values() for c in run.checkpoints.values()]
        return sorted(found, key=lambda c: c["time"], reverse=True)

    def run_of_path(self, path: str) -> RunRecord:
        """The training run that saved a known `tinker://` path."""
        if path not in self.paths:
            raise NotFound(f"unknown checkpoint path {path!r}: save it on this server first")
        return self.run(path.removeprefix("tinker://").split("/", 1)[0])

    def forget_checkpoint(self, run_id: str, checkpoint_id: str) -> None:
        """Drop a checkpoint from the run's listing and path table.

        A backend's files stay until a server with a state directory next starts and
        sweeps them; an external weights export is the server's own, removed now, and
        its download URLs stop working.
        """
        run = self.run(run_id)
        if checkpoint_id not in run.checkpoints:
            raise NotFound(f"unknown checkpoint {checkpoint_id!r} of training run {run_id!r}")
        self.store.delete_checkpoint(run_id, checkpoint_id)
        entry = run.checkpoints.pop(checkpoint_id)
        saved = self.paths.pop(f"tinker://{run_id}/{checkpoint_id}", None)
        if entry["checkpoint_type"] == "external":
            self.downloads.revoke(run_id, checkpoint_id)
            if saved is not None:
                shutil.rmtree(saved.backend_path, ignore_errors=True)

    def external_export(self, run_id: str, checkpoint_id: str) -> Path:
        """The directory of one complete external weights export."""
        entry = self.checkpoint(run_id, checkpoint_id)
        if entry["checkpoint_type"] != "external":
            raise ConfigError(
                f"checkpoint {checkpoint_id!r} of {run_id!r} is not external weights; "
                "export it with save_weights_external first"
            )
        return Path(self.paths[entry["tinker_path"]].backend_path)

    def resolve_path(self, path: str) -> SavedPath:
        """The backend path behind a `tinker://` path; other paths go to the backend as they are."""
        if not path.startswith("tinker://"):
            return SavedPath(path, "", 0)
        if f"/{EXTERNAL}/" in path:
            raise ConfigError(
                f"{path!r} is external weights, for downloading; load the run's weights/ checkpoint instead"
            )
        try:
            return self.paths[path]
        except KeyError:
            raise NotFound(
                f"unknown checkpoint path {path!r}: save it on this server first"
            ) from None

    # -- futures ----------------------------------------------------------------

    def submit(self, work: Callable[[], Awaitable[FutureResult]]) -> str:
        """Run `work` in the background; the returned request id retrieves its result."""
        self._prune()
        request_id = f"req-{uuid.uuid4().hex}"

        async def run() -> FutureResult:
            return await work()

        pending = _Pending(asyncio.get_running_loop().create_task(run()))
        pending.task.add_done_callback(pending.finished)
        self._futures[request_id] = pending
        return request_id

    def in_flight(self) -> int:
        """How many queued requests are still running."""
        return sum(1 for p in self._futures.values() if not p.task.done())

    def fail(self, error: BaseException) -> str:
        """A request id whose future already failed with `error` (an error found while queueing)."""

        async def raise_it() -> FutureResult:
            raise error

        return self.submit(raise_it)

    async def retrieve(self, request_id: str, wait_s: float) -> FutureResult | None:
        """The result, None when still running after `wait_s`, or the request's error raised."""
        pending = self._futures.get(request_id)
        if pending is None:
            raise NotFound(f"unknown request id {request_id!r}")
        done, _ = await asyncio.wait({pending.task}, timeout=wait_s)
        if not done:
            return None
        pending.delivered_at = pending.delivered_at or time.monotonic()
        return pending.task.result()

    def _prune(self) -> None:
        now = time.monotonic()
        stale = [
            rid
            for rid, p in self._futures.items()
            if (p.delivered_at is not None and now - p.delivered_at > _KEEP_DELIVERED_S)
            or (p.finished_at is not None and now - p.finished_at > _KEEP_UNCLAIMED_S)
        ]
        for rid in stale:
            del self._futures[rid]

    async def close(self) -> None:
        for pending in self._futures.values():
            pending.task.cancel()
        for session_id in list(self.sessions):
            await self.finish_session(session_id)
        for record in list(self.models.values()):
            await record.client.close()
        self.models.clear()
        for sampler in list(self.samplers.values()):
            await sampler.client.close()
        self.samplers.clear()
        if self.owns_backend:
            await self.backend.close()
        self.store.close()


def error_category(error: BaseException) -> str:
    """`user` for errors the caller can fix, `server` for the rest (the SDK's categories)."""
    if isinstance(error, (ConfigError, NotFound, ValueError)):
        return "user"
    if isinstance(error, BackendError):
        return "server"
    return "server"
