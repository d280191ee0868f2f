"""Download a `tinker://` checkpoint's weights to this machine, through the SDK's external weights.

An `external_weights/` path is fetched file by file from the URLs the service
signs for it. A training state (`weights/`) is first loaded into a new training
client and exported with `save_weights_external` (a temporary export, deleted
after the download). Sampler weights have no download route on Tinker; their
run's training state of the same step holds the same weights.

What lands in `dest` is the external format: a PEFT adapter directory for a
LoRA run, a whole model directory for a full fine-tune. The directory appears
whole or not at all.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import tinker
from cookbook_runtime.errors import BackendError, ConfigError

from cookbook_adapters.tinker._errors import to_backend_error

__all__ = ["DownloadedCheckpoint", "download_checkpoint"]

logger = logging.getLogger(__name__)

_EXPORT_TTL_S = 3600
_FETCH_TIMEOUT_S = 300


@dataclass(frozen=True)
class DownloadedCheckpoint:
    """A downloaded checkpoint: where its files are and what they are."""

    path: Path
    base_model: str
    lora_rank: int  # 0: a full fine-tune's whole model directory


def _parse(tinker_path: str) -> tinker.ParsedCheckpointTinkerPath:
    try:
        parsed = tinker.ParsedCheckpointTinkerPath.from_tinker_path(tinker_path)
    except ValueError:
        raise ConfigError(
            f"{tinker_path!r} is not a Tinker checkpoint path (tinker://<run>/weights/<name>)"
        ) from None
    if parsed.checkpoint_type == "sampler":
        raise ConfigError(
            f"{tinker_path!r} is Tinker sampler weights, which cannot be downloaded; pass the run's "
            "training state of the same step (tinker://<run>/weights/<name>)"
        )
    return parsed


def _fetch_all(rest: tinker.RestClient, external_path: str, dest: Path) -> Path:
    """Every file of `external_path` in a sibling temp dir of `dest`, renamed to `dest` when all arrived."""
    try:
        signed = rest.get_external_weights_urls(external_path).result()
    except Exception as exc:
        raise to_backend_error(exc, f"get_external_weights_urls({external_path})") from exc
    if not signed.urls:
        raise BackendError(f"tinker external weights {external_path!r} hold no files")

    def fill(tmp: Path) -> None:
        base = tmp.resolve()
        for rel, url in sorted(signed.urls.items()):
            target = (tmp / rel).resolve()
            if not target.is_relative_to(base) or target == base:
                raise BackendError(
                    f"tinker external weights {external_path!r} name an unsafe file {rel!r}"
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with (
                    urllib.request.urlopen(url, timeout=_FETCH_TIMEOUT_S) as response,
                    target.open("wb") as out,
                ):
                    shutil.copyfileobj(response, out)
            except (urllib.error.URLError, OSError) as exc:
                raise BackendError(
                    f"downloading {rel!r} of {external_path!r} failed: {exc}"
                ) from exc

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        fill(tmp)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest.resolve()


def download_checkpoint(
    tinker_path: str, dest: Path, *, base_url: str | None = None
) -> DownloadedCheckpoint:
    """The weights of `tinker_path` as a directory at `dest` (blocking; call it off the event loop).

    `base_url` defaults to `TINKER_BASE_URL` (or the Tinker service), as for the SDK.
    """
    parsed = _parse(tinker_path)
    # Resolved here: the SDK shares one REST connection pool per base_url *argument*, so a
    # None would reuse a pool made for whatever TINKER_BASE_URL was when it was first used.
    base_url = base_url or os.environ.get("TINKER_BASE_URL") or None
    rest = tinker.RestClient(base_url=base_url)
    try:
        info = rest.get_weights_info_by_tinker_path(tinker_path).result()
    except Exception as exc:
        raise to_backend_error(exc, f"weights_info({tinker_path})") from exc
    rank = int(info.lora_rank or 0) if info.is_lora else 0
    if parsed.checkpoint_type == "external":
        return DownloadedCheckpoint(_fetch_all(rest, tinker_path, dest), info.base_model, rank)
    try:
        service = tinker.ServiceClient(base_url=base_url)
    except Exception as exc:
        raise to_backend_error(exc, "connect") from exc
    status: Literal["success", "errored"] = "errored"
    try:
        try:
            training = service.create_training_client_from_state(
                tinker_path, user_metadata={"created_by": "cookbook export"}
            ).result()
            export = (
                training.save_weights_external(
                    f"cookbook-export-{uuid.uuid4().hex[:12]}", ttl_seconds=_EXPORT_TTL_S
                )
                .result()
                .path
            )
        except Exception as exc:
            raise to_backend_error(exc, f"exporting {tinker_path} as external weights") from exc
        try:
            found = _fetch_all(rest, export, dest)
        finally:
            try:
                rest.delete_checkpoint_from_tinker_path(export).result()
            except Exception:  # it expires by itself within the hour
                logger.warning("could not delete the temporary export %s", export, exc_info=True)
        status = "success"
        return DownloadedCheckpoint(found, info.base_model, rank)
    finally:
        try:
            service.close(status).result()
        except Exception:  # the download's outcome stands either way
            logger.warning("closing the Tinker session failed", exc_info=True)
