"""REST routes: training runs, checkpoint listings, weights info, publishing and TTLs.

These are what the SDK's `RestClient` (and tinker-cookbook's checkpoint utilities)
call. Listings answer with the SDK's pagination cursor; publishing and TTLs are
recorded on the checkpoint's listing entry, since a local server has no other
users to share with and no store to expire from.
"""

from __future__ import annotations

from typing import Any

from cookbook_runtime.errors import ConfigError
from fastapi import APIRouter, Request
from fastapi.responses import Response

from cookbook_adapters.server._http import read_json
from cookbook_adapters.server._state import ServerState

__all__ = ["rest_router"]

_NULL = b"null"


def _page(
    items: list[dict[str, Any]], limit: int, offset: int
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    if limit < 0 or offset < 0:
        raise ConfigError(f"limit {limit} and offset {offset} must be non-negative")
    return items[offset : offset + limit], {
        "offset": offset,
        "limit": limit,
        "total_count": len(items),
    }


def _null() -> Response:
    return Response(content=_NULL, media_type="application/json")


def rest_router(state: ServerState) -> APIRouter:
    """Routes that read and annotate training runs and their checkpoints."""
    router = APIRouter()

    @router.get("/api/v1/training_runs")
    async def list_training_runs(limit: int = 20, offset: int = 0) -> dict[str, Any]:
        runs = sorted(state.runs.values(), key=lambda r: r.last_request_time, reverse=True)
        page, cursor = _page([r.to_json() for r in runs], limit, offset)
        return {"training_runs": page, "cursor": cursor}

    @router.get("/api/v1/training_runs/{run_id}")
    async def get_training_run(run_id: str) -> dict[str, Any]:
        return state.run(run_id).to_json()

    @router.get("/api/v1/checkpoints")
    async def list_user_checkpoints(limit: int = 100, offset: int = 0) -> dict[str, Any]:
        page, cursor = _page(state.user_checkpoints(), limit, offset)
        return {"checkpoints": page, "cursor": cursor}

    @router.get("/api/v1/training_runs/{run_id}/checkpoints")
    async def list_checkpoints(run_id: str) -> dict[str, Any]:
        return {"checkpoints": list(state.run(run_id).checkpoints.values())}

    @router.post("/api/v1/weights_info")
    async def weights_info(request: Request) -> dict[str, Any]:
        body = await read_json(request)
        path = body.get("tinker_path")
        if not isinstance(path, str):
            raise ConfigError("weights_info needs a string 'tinker_path'")
        return state.run_of_path(path).weights_info()

    @router.post("/api/v1/training_runs/{run_id}/checkpoints/{kind}/{name}/publish")
    async def publish_checkpoint(run_id: str, kind: str, name: str) -> Response:
        state.set_public(run_id, f"{kind}/{name}", True)
        return _null()

    @router.delete("/api/v1/training_runs/{run_id}/checkpoints/{kind}/{name}/publish")
    async def unpublish_checkpoint(run_id: str, kind: str, name: str) -> Response:
        state.set_public(run_id, f"{kind}/{name}", False)
        return _null()

    @router.put("/api/v1/training_runs/{run_id}/checkpoints/{kind}/{name}/ttl")
    async def set_checkpoint_ttl(request: Request, run_id: str, kind: str, name: str) -> Response:
        ttl = (await read_json(request)).get("ttl_seconds")
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int)):
            raise ConfigError(f"ttl_seconds must be an integer or null, not {ttl!r}")
        state.set_ttl(run_id, f"{kind}/{name}", ttl)
        return _null()

    @router.delete("/api/v1/training_runs/{run_id}/checkpoints/{kind}/{name}")
    async def delete_checkpoint(run_id: str, kind: str, name: str) -> Response:
        state.forget_checkpoint(run_id, f"{kind}/{name}")
        return _null()

    return router
