"""A separate process writing to one registry (run by the concurrency and crash tests).

    python registry_worker.py register DB BLOBS WORKER COUNT   # COUNT distinct versions + 1 shared one
    python registry_worker.py hang DB BLOBS MARKER             # register, stall mid-transaction, await SIGKILL
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from cookbook_adapters.files import FileBlobStore
from cookbook_adapters.sqlite import SqliteModelRegistry
from cookbook_runtime.ports import ArtifactSource, Registration


def _registration(tmp: Path, tag: str) -> Registration:
    weights = tmp / f"weights-{tag}.bin"
    weights.write_bytes(f"weights of {tag}".encode() * 64)
    return Registration(
        name="shared",
        base_model="base",
        config={"tag": tag},
        metrics={"test/nll": 1.0},
        artifacts=(ArtifactSource(name="weights", kind="sampler", path=str(weights)),),
    )


async def register(db: str, blobs: str, worker: str, count: int) -> None:
    registry = SqliteModelRegistry(db, blobs=FileBlobStore(blobs))
    tmp = Path(blobs).parent / f"src-{worker}"
    tmp.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        await registry.register(_registration(tmp, f"{worker}-{i}"))
        await registry.register(_registration(tmp, "same-for-all"))
    await registry.close()


async def hang(db: str, blobs: str, marker: str) -> None:
    registry = SqliteModelRegistry(db, blobs=FileBlobStore(blobs))
    await registry.list()  # opens the connection
    assert registry._conn is not None

    def stall_on_artifact_insert(statement: str) -> None:
        if statement.startswith("INSERT INTO artifacts"):
            Path(marker).write_text("inside the transaction")
            time.sleep(600)  # the test SIGKILLs us here, between the version row and its artifacts

    registry._conn.set_trace_callback(stall_on_artifact_insert)
    tmp = Path(blobs).parent / "src-hang"
    tmp.mkdir(parents=True, exist_ok=True)
    await registry.register(_registration(tmp, "killed"))


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "register":
        asyncio.run(register(args[0], args[1], args[2], int(args[3])))
    else:
        asyncio.run(hang(args[0], args[1], args[2]))
