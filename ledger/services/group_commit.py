"""Group commit: one writer task per process turns concurrent requests into shared transactions.

Requests queue their units and wait. The writer takes everything queued (up to `max_units`),
posts it through the engine in one transaction and wakes the waiters. While a transaction runs,
new requests queue up, so batches grow with load and no fixed delay is ever added ("natural
batching"). A request is answered only after its transaction has committed.

Idempotency keys in flight in this process are tracked here: a second request with a key whose
first request has not finished gets 409 at once. Across processes PostgreSQL advisory locks do it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from ledger.db.ledger_store import IdemKey
from ledger.domain.errors import DomainError, ErrorCode
from ledger.services.posting import PostingEngine, Status, Unit, UnitResult

log = logging.getLogger(__name__)


class GroupCommitter:
    def __init__(self, engine: PostingEngine, max_units: int = 512) -> None:
        self.engine = engine
        self.max_units = max_units
        self._queue: list[tuple[Unit, asyncio.Future[UnitResult]]] = []
        self._wakeup = asyncio.Event()
        self._in_flight: set[IdemKey] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.batches = 0
        self.units = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="clmtv-group-commit")

    async def stop(self) -> None:
        """Finish what is queued, then stop: nothing acknowledged or queued is dropped."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wakeup.set()
        await task

    async def submit(self, unit: Unit) -> UnitResult:
        return (await self.submit_many([unit]))[0]

    async def submit_many(self, units: Sequence[Unit]) -> list[UnitResult]:
        if self._task is None:
            self.start()
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[UnitResult]] = []
        claimed: list[IdemKey] = []
        for unit in units:
            future: asyncio.Future[UnitResult] = loop.create_future()
            futures.append(future)
            if unit.claim is not None:
                if unit.claim.ident in self._in_flight:
                    future.set_result(_in_flight())
                    continue
                self._in_flight.add(unit.claim.ident)
                claimed.append(unit.claim.ident)
            self._queue.append((unit, future))
        self._wakeup.set()
        try:
            return list(await asyncio.gather(*futures))
        finally:
            self._in_flight.difference_update(claimed)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch = self._queue[: self.max_units]
                del self._queue[: self.max_units]
                await self._post(batch)
            if self._stopping:
                return

    async def _post(self, batch: list[tuple[Unit, asyncio.Future[UnitResult]]]) -> None:
        try:
            results = await self.engine.post([unit for unit, _ in batch])
        except Exception as exc:  # the transaction rolled back: every waiter learns why
            log.exception("group commit of %d units failed", len(batch))
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches += 1
        self.units += len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # the waiter may have been cancelled (client went away)
                future.set_result(result)


def _in_flight() -> UnitResult:
    return UnitResult(
        Status.FAILED,
        error=DomainError(
            ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT,
            "a request with this Idempotency-Key is still being processed",
        ),
    )
