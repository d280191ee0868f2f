"""Mirror a run directory to a blob store, so a run can resume on another machine.

`sync` uploads files that are new or changed since the last sync; `restore`
downloads what the store holds and the local directory lacks. The mirror keeps a
small state file in the run directory recording, for each mirrored file, its size,
modification time and SHA-256: a sync whose files were not touched only stats them,
and a file touched but unchanged in content is not uploaded again.

Keys in the store are the files' paths relative to the run directory (under an
optional prefix); the store's own options (bucket, prefix, root) choose where
those keys land.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cookbook_runtime.atomic import atomic_write, atomic_writer
from cookbook_runtime.errors import StorageError
from cookbook_runtime.ir import PortBinding
from cookbook_runtime.ports import BlobStore, create_adapter
from cookbook_runtime.storage_keys import validate_key

__all__ = ["STATE_FILE", "ArtifactMirror", "SyncReport"]

logger = logging.getLogger(__name__)

STATE_FILE = ".artifact-mirror.json"
"""Name of the mirror's state file inside the run directory (never mirrored itself)."""

_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class SyncReport:
    """What one `sync` or `restore` moved."""

    transferred: tuple[str, ...]
    """Relative paths uploaded (sync) or downloaded (restore)."""
    unchanged: int
    """Files already in place."""


@dataclass(frozen=True)
class _FileState:
    size: int
    mtime_ns: int
    sha256: str


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _is_mirrored(rel: str) -> bool:
    """Skip the state file and in-flight atomic-write temporaries (`.name.xxx.tmp`)."""
    name = rel.rsplit("/", 1)[-1]
    return rel != STATE_FILE and not (name.startswith(".") and name.endswith(".tmp"))


def _local_files(run_dir: Path) -> dict[str, Path]:
    """Regular files under `run_dir` by '/'-joined relative path; symlinks are not followed."""
    found: dict[str, Path] = {}
    for dirpath, _dirnames, filenames in os.walk(run_dir):
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(run_dir).as_posix()
            if _is_mirrored(rel):
                found[rel] = path
    return found


class ArtifactMirror:
    """Keeps a blob store in step with a run directory.

    Build one from a spec's `outputs.artifacts` binding with `from_binding`. The
    runner calls `sync` after every stage; a training loop may call it after each
    checkpoint too, since an untouched directory costs only a `stat` per file.
    """

    def __init__(self, store: BlobStore, *, prefix: str = "", concurrency: int = 4) -> None:
        if prefix:
            validate_key(prefix.strip("/"))
        self.store = store
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._limit = asyncio.Semaphore(max(1, concurrency))
        self._lock = asyncio.Lock()

    @classmethod
    def from_binding(cls, binding: PortBinding) -> ArtifactMirror:
        """A mirror over the blob store `binding` names (e.g. adapter 'files' or 's3')."""
        store = create_adapter(binding.adapter, "blobs", binding.options)
        return cls(store)

    # -- keys and state -------------------------------------------------------------
    def _key(self, rel: str) -> str:
        return validate_key(self.prefix + rel)

    def _rel(self, key: str) -> str:
        return key[len(self.prefix) :]

    @staticmethod
    def _read_state(run_dir: Path) -> dict[str, _FileState]:
        try:
            raw: Any = json.loads((run_dir / STATE_FILE).read_text(encoding="utf-8"))
            return {rel: _FileState(**entry) for rel, entry in raw.items()}
        except FileNotFoundError:
            return {}
        except (ValueError, TypeError, AttributeError):
            logger.warning("artifact mirror state in %s is unreadable; re-checking every file", run_dir)
            return {}

    @staticmethod
    def _write_state(run_dir: Path, state: dict[str, _FileState]) -> None:
        data = {rel: s.__dict__ for rel, s in sorted(state.items())}
        atomic_write(run_dir / STATE_FILE, json.dumps(data))

    @staticmethod
    def _stat(path: Path, sha256: str | None = None) -> _FileState:
        st = path.stat()
        return _FileState(st.st_size, st.st_mtime_ns, sha256 if sha256 is not None else _sha256(path))

    # -- sync -----------------------------------------------------------------------
    async def sync(self, run_dir: Path) -> SyncReport:
        """Upload files of `run_dir` that are new or changed since the last sync."""
        run_dir = Path(run_dir)
        if not run_dir.is_dir():
            return SyncReport((), 0)
        async with self._lock:
            state = self._read_state(run_dir)
            files = _local_files(run_dir)
            pending: list[tuple[str, Path]] = []
            unchanged = 0
            for rel, path in sorted(files.items()):
                st = path.stat()
                known = state.get(rel)
                if known is not None and (known.size, known.mtime_ns) == (st.st_size, st.st_mtime_ns):
                    unchanged += 1
                    continue
                pending.append((rel, path))

            async def upload(rel: str, path: Path) -> str | None:
                digest = await asyncio.to_thread(_sha256, path)
                known = state.get(rel)
                if known is not None and known.sha256 == digest:
                    state[rel] = self._stat(path, digest)  # touched, same content
                    return None
                async with self._limit:
                    await self.store.write_file(self._key(rel), path)
                state[rel] = self._stat(path, digest)
                logger.debug("mirrored %s", rel)
                return rel

            results = await asyncio.gather(*(upload(rel, path) for rel, path in pending))
            sent = tuple(r for r in results if r is not None)
            if pending:
                self._write_state(run_dir, state)
        if sent:
            logger.info("artifact mirror uploaded %d file(s) from %s", len(sent), run_dir)
        return SyncReport(sent, unchanged + len(pending) - len(sent))

    # -- restore --------------------------------------------------------------------
    async def _download(self, key: str, dest: Path) -> str:
        digest = hashlib.sha256()
        with atomic_writer(dest) as f:
            async with self._limit:
                async for chunk in self.store.read_stream(key):
                    digest.update(chunk)
                    await asyncio.to_thread(f.write, chunk)
        return digest.hexdigest()

    async def restore(self, run_dir: Path) -> SyncReport:
        """Download objects the store holds that `run_dir` lacks; local files always win."""
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        async with self._lock:
            keys = await self.store.list(self.prefix)
            state = self._read_state(run_dir)
            wanted: list[tuple[str, Path]] = []
            present = 0
            root = run_dir.resolve()
            for key in keys:
                rel = self._rel(key)
                if not rel or not _is_mirrored(rel):
                    continue
                dest = run_dir / rel
                if not dest.resolve().is_relative_to(root):
                    raise StorageError(f"artifact key {key!r} would restore outside {str(run_dir)!r}")
                if dest.exists():
                    present += 1
                    continue
                wanted.append((rel, dest))

            async def fetch(rel: str, dest: Path) -> str:
                digest = await self._download(self._key(rel), dest)
                state[rel] = self._stat(dest, digest)
                return rel

            got = tuple(await asyncio.gather(*(fetch(rel, dest) for rel, dest in wanted)))
            if got:
                self._write_state(run_dir, state)
        if got:
            logger.info("artifact mirror restored %d file(s) into %s", len(got), run_dir)
        return SyncReport(got, present)
