"""`HubClient` over `huggingface_hub`: one file, a whole repo, or its file list.

Offline (`offline=True` or `HF_HUB_OFFLINE=1`) only the local hub cache is read.
Online, a hub that cannot be reached falls back to the cache too. Either way a repo
that is neither reachable nor cached is a one-line `StorageError` naming it.
Tokens come from the usual places (`HF_TOKEN`, `hf auth login`), never options.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from cookbook_runtime.errors import AdapterUnavailable, StorageError

from cookbook_adapters.hf._common import brief, endpoint, env_offline, hub_cache_dir, hub_reachable

try:
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
except ModuleNotFoundError as exc:  # pragma: no cover - only without the extra
    raise AdapterUnavailable("hf", exc.name or "huggingface-hub", "hf") from exc

__all__ = ["HFHubClient"]


class HFHubClient:
    """Downloads from the Hugging Face hub (or a mirror at `endpoint`) into the hub cache.

    Options: `cache_dir` (the hub cache; default `HF_HUB_CACHE`), `offline` (None
    follows `HF_HUB_OFFLINE`), `endpoint` (default `HF_ENDPOINT` or huggingface.co).
    """

    def __init__(self, *, cache_dir: str | None = None, offline: bool | None = None, endpoint: str | None = None) -> None:
        self.cache_dir = cache_dir
        self.offline = offline
        self.endpoint = endpoint

    def _is_offline(self) -> bool:
        return env_offline() if self.offline is None else self.offline

    def _where(self) -> str:
        return endpoint(self.endpoint)

    def _local_only(self) -> bool:
        """Read only the cache: offline mode, or a hub that refuses connections right now."""
        return self._is_offline() or not hub_reachable(self._where())

    @staticmethod
    def _repo(repo_id: str, repo_type: str, revision: str | None) -> str:
        rev = f" at revision {revision!r}" if revision else ""
        return f"{repo_type} repo {repo_id!r}{rev}"

    def _unavailable(self, what: str, offline: bool) -> StorageError:
        cache = hub_cache_dir(self.cache_dir)
        if offline:
            return StorageError(
                f"{what} is not in the local HF cache {cache!r} and the hub is offline (HF_HUB_OFFLINE=1): "
                "fetch it where the hub is reachable, or unset HF_HUB_OFFLINE"
            )
        return StorageError(
            f"{what} cannot be reached at {self._where()} and is not in the local HF cache {cache!r}: "
            "check the network and HF_ENDPOINT"
        )

    def _translate(self, exc: Exception, what: str, offline: bool) -> StorageError:
        if isinstance(exc, LocalEntryNotFoundError):
            return self._unavailable(what, offline)
        if isinstance(exc, RepositoryNotFoundError):
            return StorageError(
                f"{what} was not found on {self._where()}: check the id, or set HF_TOKEN if it is private or gated"
            )
        if isinstance(exc, RevisionNotFoundError):
            return StorageError(f"{what} does not exist on {self._where()}: check the revision")
        if isinstance(exc, EntryNotFoundError):
            return StorageError(f"{what} does not exist on {self._where()}")
        return StorageError(f"{what}: hub request failed ({brief(exc)})")

    # -- blocking work ------------------------------------------------------------
    def _download(self, repo_id: str, filename: str, repo_type: str, revision: str | None) -> Path:
        offline = self._local_only()
        try:
            path = hf_hub_download(
                repo_id,
                filename,
                repo_type=repo_type,
                revision=revision,
                cache_dir=hub_cache_dir(self.cache_dir),
                local_files_only=offline,
                endpoint=self._where(),
            )
        except Exception as exc:
            what = f"file {filename!r} of {self._repo(repo_id, repo_type, revision)}"
            raise self._translate(exc, what, self._is_offline()) from None
        return Path(str(path))

    def _snapshot(self, repo_id: str, repo_type: str, revision: str | None, *, local_only: bool) -> Path:
        offline = local_only or self._local_only()
        try:
            path = snapshot_download(
                repo_id,
                repo_type=repo_type,
                revision=revision,
                cache_dir=hub_cache_dir(self.cache_dir),
                local_files_only=offline,
                endpoint=self._where(),
            )
        except Exception as exc:
            raise self._translate(exc, self._repo(repo_id, repo_type, revision), self._is_offline()) from None
        return Path(str(path))

    def _list(self, repo_id: str, repo_type: str, revision: str | None) -> list[str]:
        if not self._local_only():
            try:
                api = HfApi(endpoint=self._where())
                return sorted(api.list_repo_files(repo_id, revision=revision, repo_type=repo_type))
            except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
                raise self._translate(exc, self._repo(repo_id, repo_type, revision), False) from None
            except Exception:  # unreachable hub: the cache may still know the repo
                pass
        root = self._snapshot(repo_id, repo_type, revision, local_only=True)
        return sorted(
            (Path(dirpath) / name).relative_to(root).as_posix()
            for dirpath, _dirs, names in os.walk(root)
            for name in names
        )

    # -- HubClient ----------------------------------------------------------------
    async def download(
        self, repo_id: str, filename: str, *, repo_type: str = "model", revision: str | None = None
    ) -> Path:
        """Local path of one file (from the cache when it is there and the revision is pinned)."""
        return await asyncio.to_thread(self._download, repo_id, filename, repo_type, revision)

    async def snapshot(self, repo_id: str, *, repo_type: str = "model", revision: str | None = None) -> Path:
        """Local directory holding the whole repo."""
        return await asyncio.to_thread(self._snapshot, repo_id, repo_type, revision, local_only=False)

    async def list_files(self, repo_id: str, *, repo_type: str = "model", revision: str | None = None) -> list[str]:
        """Paths of the repo's files (offline: the files of its cached snapshot)."""
        return await asyncio.to_thread(self._list, repo_id, repo_type, revision)
