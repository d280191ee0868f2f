"""One worker thread per client: requests run in submission order, off the event loop.

A loop can queue the next `forward_backward` while torch is still computing the
previous one, and spend that time preparing its next batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from cookbook_runtime.errors import BackendError

__all__ = ["LocalPending", "Worker"]

T = TypeVar("T")


class LocalPending(Generic[T]):
    """A queued request; `await h.result()` (or `await h`) gives its output or raises its error."""

    def __init__(self, future: Future[T]) -> None:
        self._future = future

    async def result(self) -> T:
        return await asyncio.shield(asyncio.wrap_future(self._future))

    def __await__(self) -> Generator[Any, None, T]:
        return self.result().__await__()

    def done(self) -> bool:
        return self._future.done()


class Worker:
    """A single-thread executor with a name, closed once."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._closed = False

    def submit(self, fn: Callable[[], T]) -> LocalPending[T]:
        if self._closed:
            raise BackendError("this local client is closed; create a new one")
        return LocalPending(self._executor.submit(fn))

    async def run(self, fn: Callable[[], T]) -> T:
        """Submit `fn` and wait for it."""
        return await self.submit(fn).result()

    def close(self) -> None:
        """Finish queued work in the background and refuse new work."""
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
