"""Small helpers every route module shares: body parsing, future replies, tokenizer publishing."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pydantic
from cookbook_runtime.errors import CookbookError
from cookbook_runtime.train.tokenizer import Tokenizer
from fastapi import Request

from cookbook_adapters.server import _wire as wire
from cookbook_adapters.server._hf_cache import publish_tokenizer
from cookbook_adapters.server._tokenizer_dir import export_tokenizer

__all__ = ["PROTO", "future", "parse", "publish", "read_json"]

logger = logging.getLogger(__name__)

PROTO = "application/x-protobuf"


def future(request_id: str, **extra: Any) -> dict[str, Any]:
    """The reply to a request that queued work: the id `retrieve_future` takes."""
    return {"request_id": request_id, **extra}


async def read_json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise wire.WireError(f"{request.url.path}: body is not JSON") from exc
    if not isinstance(body, dict):
        raise wire.WireError(f"{request.url.path}: body must be a JSON object")
    return body


def parse(model: type[pydantic.BaseModel], body: dict[str, Any]) -> Any:
    """`body` validated as the SDK's own request type; the first problem becomes a `WireError`."""
    try:
        return model.model_validate(body)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise wire.WireError(f"{model.__name__}: {where}: {first['msg']}") from None


def publish(tokenizer: Tokenizer, root: Path, base_model: str) -> str | None:
    """Export `tokenizer` for SDK clients and publish it under `base_model`; its directory, or None.

    Best effort: a model whose tokenizer cannot be exported still trains and samples
    (the SDK then loads the tokenizer by model name).
    """
    try:
        directory = export_tokenizer(tokenizer, root, base_model)
        publish_tokenizer(base_model, directory)
    except (CookbookError, OSError):
        logger.warning("could not export the tokenizer of %s", base_model, exc_info=True)
        return None
    return directory
