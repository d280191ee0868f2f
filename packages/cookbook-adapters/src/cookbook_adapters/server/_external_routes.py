"""External weights routes: `save_weights_external`, its download URLs, and the files behind them.

`save_weights_external` queues a sampler save on the model (so it exports the
weights as of its place in the model's queue), turns that into the external format
with the project's `LocalWeightsExporter`, encrypts it when asked, and records it
as an `external_weights` checkpoint once it is complete. `external_weights_urls`
answers one URL per file on this server, built from the host the client reached
it by; the URLs expire (see `_external`).
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ports import ExportFormat
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from tinker import types as tt

from cookbook_adapters.server._external import (
    directory_size,
    export_files,
    parse_recipients,
    write_export,
)
from cookbook_adapters.server._http import future, parse, read_json
from cookbook_adapters.server._state import (
    EXTERNAL,
    FutureResult,
    ModelRecord,
    NotFound,
    ServerState,
    expiry,
)

__all__ = ["external_router"]

_FILES_ROUTE = "/api/v1/external_weights"
_STAGING = ".staging"


def _export_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or name in (".", "..") or name.startswith("."):
        raise ConfigError(
            f"external weights name {name!r} must be non-empty, contain no '/' and not start with '.'"
        )
    return name


async def _export(
    state: ServerState, record: ModelRecord, sampler_path: str, dest: Path, recipients: list[Any]
) -> Path:
    """The sampler weights at `sampler_path` in the external format, put at `dest` whole."""
    from cookbook_adapters.local import LocalServiceClient
    from cookbook_adapters.local._export import LocalWeightsExporter

    backend = state.backend
    base_model: str | None = None
    exporter = LocalWeightsExporter()
    if isinstance(
        backend, LocalServiceClient
    ):  # its model names (aliases included) and model cache
        base_model = backend.models.get(record.base_model, record.base_model)
        exporter = LocalWeightsExporter(cache_dir=backend.cache_dir)
    formats: tuple[ExportFormat, ...] = ("peft_adapter",) if record.rank > 0 else ("merged",)
    staging = state.export_root / _STAGING / uuid.uuid4().hex / "export"
    try:
        exported = await exporter.export(
            sampler_path, staging, formats=formats, base_model=base_model
        )
        produced = Path(exported.peft_adapter_dir or exported.merged_dir or staging)
        return await asyncio.to_thread(write_export, produced, dest, recipients)
    finally:
        shutil.rmtree(staging.parent, ignore_errors=True)


def external_router(state: ServerState) -> APIRouter:
    """Routes that export a model's weights and serve the exported files."""
    router = APIRouter()

    @router.post("/api/v1/save_weights_external")
    async def save_weights_external(request: Request) -> dict[str, Any]:
        body = parse(tt.SaveWeightsExternalRequest, await read_json(request))
        record = state.model(body.model_id)
        name = _export_name(body.path)
        expires_at = expiry(body.ttl_seconds)
        recipients = parse_recipients(body.age_encryption_recipients)
        # A sampler save only this export uses, queued in the model's order.
        handle = await record.client.save_weights_for_sampler(f"external-{uuid.uuid4().hex}")

        async def work() -> FutureResult:
            sampler_path: str = await handle.result()
            try:
                dest = state.export_root / EXTERNAL / record.model_id / name
                final = await _export(state, record, sampler_path, dest, recipients)
            finally:
                if Path(sampler_path).is_dir():
                    shutil.rmtree(sampler_path, ignore_errors=True)
            size = directory_size(final)
            path = state.remember_path(
                record, EXTERNAL, name, str(final), expires_at=expires_at, size_bytes=size
            )
            return FutureResult(
                json={"path": path, "size_bytes": size, "type": "save_weights_external"}
            )

        return future(state.submit(work), model_id=record.model_id)

    @router.get("/api/v1/training_runs/{run_id}/checkpoints/{kind}/{name}/external_weights_urls")
    async def external_weights_urls(
        request: Request, run_id: str, kind: str, name: str
    ) -> dict[str, Any]:
        checkpoint_id = f"{kind}/{name}"
        directory = state.external_export(run_id, checkpoint_id)
        token, grant = state.downloads.sign(run_id, checkpoint_id, directory)
        base = f"{str(request.base_url).rstrip('/')}{_FILES_ROUTE}/{token}"
        return {
            "urls": {rel: f"{base}/{quote(rel)}" for rel in export_files(directory)},
            "expires": datetime.fromtimestamp(grant.expires_at, tz=UTC).isoformat(),
        }

    @router.get(_FILES_ROUTE + "/{token}/{file_path:path}")
    async def external_weights_file(token: str, file_path: str) -> FileResponse:
        grant = state.downloads.lookup(token)
        if grant is None:
            raise NotFound(
                "this download URL is unknown or expired; ask for new ones with get_external_weights_urls"
            )
        state.checkpoint(grant.run_id, grant.checkpoint_id)  # deleted since signing: NotFound
        found = export_files(grant.directory).get(file_path)
        if found is None or not found.resolve().is_relative_to(grant.directory.resolve()):
            raise NotFound(
                f"external weights {grant.checkpoint_id!r} of {grant.run_id!r} have no file {file_path!r}"
            )
        return FileResponse(found, media_type="application/octet-stream", filename=found.name)

    return router
