"""Concurrent lookups of the same kind merged into one query (single flight, natural batching).

Many requests in flight at once each need to know which of a few keys exist (a payment's
worker and fund, say). One query each costs a pooled connection and a round trip apiece, and
when the requests outnumber the pool, new connections (measured: issue 15, where a quarter of a
single payment's CPU went there). Here the first caller starts a drain task; while its query
runs, later callers queue their keys; the task then runs one query for everything queued, and
so on until the queue is empty. No delay is ever added: a lone caller's query runs at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class CoalescingLookup(Generic[K]):
    """`find(keys)` answers which keys `fetch` finds; calls made while a fetch runs share the
    next one. An error in a fetch reaches every caller whose keys it carried."""

    def __init__(self, fetch: Callable[[list[K]], Awaitable[Iterable[K]]]) -> None:
        self._fetch = fetch
        self._queue: list[tuple[list[K], asyncio.Future[set[K]]]] = []
        self._task: asyncio.Task[None] | None = None
        self.fetches = 0  # how many queries ran (tests read it)

    async def find(self, keys: Iterable[K]) -> set[K]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return set()
        future: asyncio.Future[set[K]] = asyncio.get_running_loop().create_future()
        self._queue.append((wanted, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            keys = list(dict.fromkeys(k for wanted, _ in batch for k in wanted))
            try:
                self.fetches += 1
                found = set(await self._fetch(keys))
            except Exception as exc:  # every waiter of this query learns why
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for wanted, future in batch:
                if not future.done():  # the caller may have gone (cancelled)
                    future.set_result({k for k in wanted if k in found})
