"""Moving a version's artifacts into and out of a `BlobStore`, with SHA-256 and size.

Artifacts are content-addressed: a folder or file goes under
`models/<name>/<artifact sha256>/<path>`, so storing the same files twice writes
nothing new and a store interrupted half-way is completed by the next attempt (each
blob write is atomic, so a key that exists holds a whole file).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from cookbook_runtime.atomic import atomic_writer
from cookbook_runtime.errors import ConfigError, StorageError
from cookbook_runtime.ports._model_types import Artifact, ArtifactFile, ArtifactSource
from cookbook_runtime.ports._protocols import BlobStore

__all__ = ["fetch_artifact_files", "hash_artifacts", "store_artifacts"]

_CHUNK = 1 << 20


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _folder_files(root: Path) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in filenames:
            if name.startswith(".") and name.endswith(".tmp"):
                continue  # an in-flight atomic write
            path = Path(dirpath, name)
            found.append((path.relative_to(root).as_posix(), path))
    return sorted(found)


def _hash_one(source: ArtifactSource, prefix: str) -> Artifact:
    if source.uri is not None:
        return Artifact(
            name=source.name,
            kind=source.kind,
            storage="external",
            uri=source.uri,
            sha256=hashlib.sha256(source.uri.encode()).hexdigest(),
            size_bytes=0,
        )
    path = Path(source.path or "").expanduser()
    if path.is_file():
        files = [ArtifactFile(path=path.name, sha256=_file_sha256(path), size_bytes=path.stat().st_size)]
        sha = files[0].sha256
        directory = False
    elif path.is_dir():
        files = [
            ArtifactFile(path=rel, sha256=_file_sha256(p), size_bytes=p.stat().st_size) for rel, p in _folder_files(path)
        ]
        lines = "".join(f"{f.path}\t{f.sha256}\t{f.size_bytes}\n" for f in files)
        sha = hashlib.sha256(lines.encode()).hexdigest()
        directory = True
    else:
        raise ConfigError(f"artifact {source.name!r}: {str(path)!r} is neither a file nor a folder")
    return Artifact(
        name=source.name,
        kind=source.kind,
        storage="blobs",
        key=f"{prefix}/{sha}",
        directory=directory,
        files=tuple(files),
        sha256=sha,
        size_bytes=sum(f.size_bytes for f in files),
    )


async def hash_artifacts(model: str, sources: Sequence[ArtifactSource]) -> tuple[Artifact, ...]:
    """The artifacts `sources` would be stored as (checksums, sizes, keys), reading but writing nothing."""
    prefix = f"models/{model}"
    return tuple([await asyncio.to_thread(_hash_one, s, prefix) for s in sources])


async def store_artifacts(
    blobs: BlobStore, sources: Sequence[ArtifactSource], artifacts: Sequence[Artifact]
) -> None:
    """Copy the files of `artifacts` (from `hash_artifacts(sources)`) into `blobs`, skipping keys already there.

    A file that changed since it was hashed is refused (`StorageError`), so a stored
    artifact always matches its recorded checksum.
    """
    by_name = {s.name: s for s in sources}
    for artifact in artifacts:
        if artifact.storage != "blobs" or artifact.key is None:
            continue
        base = Path(by_name[artifact.name].path or "").expanduser()
        for f in artifact.files:
            key = f"{artifact.key}/{f.path}"
            if await blobs.exists(key):
                continue
            local = base / f.path if artifact.directory else base
            if await asyncio.to_thread(_file_sha256, local) != f.sha256:
                raise StorageError(f"artifact {artifact.name!r}: {str(local)!r} changed while being registered")
            await blobs.write_file(key, local)


async def fetch_artifact_files(blobs: BlobStore, artifact: Artifact, dest: Path, *, what: str) -> Path:
    """Write a stored artifact's files under `dest`, checking each SHA-256; the folder or file written."""
    if artifact.storage != "blobs" or artifact.key is None:
        raise ConfigError(
            f"artifact {artifact.name!r} of {what} is an external reference ({artifact.uri}); "
            "load it through the service that made it"
        )
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for f in artifact.files:
        target = dest / f.path
        digest = hashlib.sha256()
        with atomic_writer(target) as out:
            async for chunk in blobs.read_stream(f"{artifact.key}/{f.path}"):
                digest.update(chunk)
                out.write(chunk)
            if digest.hexdigest() != f.sha256:
                raise StorageError(
                    f"artifact {artifact.name!r} of {what}: stored file {f.path!r} does not match its "
                    "checksum (the blob store was altered); re-register the version"
                )
    return dest if artifact.directory else dest / artifact.files[0].path
