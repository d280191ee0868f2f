"""The handle a queued SDK request returns, and a way to block on the SDK from async code."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from cookbook_adapters.tinker._errors import to_backend_error

__all__ = ["TinkerPending", "in_thread"]

T = TypeVar("T")


class TinkerPending(Generic[T]):
    """An SDK future; `await result()` gives its output as runtime types."""

    def __init__(self, future: Awaitable[Any], convert: Callable[[Any], T], action: str) -> None:
        self._future = future
        self._convert = convert
        self._action = action
        self._value: list[T] = []

    async def result(self) -> T:
        if self._value:
            return self._value[0]
        try:
            raw = await self._future
        except Exception as exc:
            raise to_backend_error(exc, self._action) from exc
        self._value.append(self._convert(raw))
        return self._value[0]


def in_thread(fn: Callable[[], T]) -> T:
    """Run a blocking SDK call on a plain thread: the SDK refuses blocking calls inside an event loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()
