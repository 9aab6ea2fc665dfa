"""Group commit: one writer task per process turns concurrent requests into shared transactions.

Requests queue their units and wait. The writer takes everything queued (up to `max_units`),
posts it through the engine in one transaction and wakes the waiters. While a transaction runs,
new requests queue up, so batches grow with load and no fixed delay is ever added ("natural
batching"). A request is answered only after its transaction has committed.

Idempotency keys in flight in this process are tracked here: a second request with a key whose
first request has not finished gets 409 at once. Across processes PostgreSQL advisory locks do it.

Before its first batch the writer claims a committer slot (`ledger/db/slots.py`): the sub-account
of each hot account family this process books to, so that processes do not queue on one row.
"""

from __future__ import annotations

import asyncio
import logging

from ledger import metrics
from ledger.db.ledger_store import IdemKey
from ledger.db.slots import SlotClaim, claim_slot
from ledger.domain.accounts import HOT_ACCOUNT_SHARDS
from ledger.domain.errors import DomainError, ErrorCode
from ledger.services.posting import Job, PostingEngine, Status, UnitResult

log = logging.getLogger(__name__)


class GroupCommitter:
    def __init__(self, engine: PostingEngine, max_units: int = 512) -> None:
        self.engine = engine
        self.max_units = max_units
        self._queue: list[tuple[Job, asyncio.Future[list[UnitResult]]]] = []
        self._wakeup = asyncio.Event()
        self._in_flight: set[IdemKey] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._slot: SlotClaim | None = None
        self.batches = 0
        self.jobs = 0

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="clmtv-group-commit")

    async def stop(self) -> None:
        """Finish what is queued, then stop: nothing acknowledged or queued is dropped."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wakeup.set()
        await task

    async def submit(self, job: Job) -> list[UnitResult]:
        """Queue a job and wait until the transaction that carries it has committed."""
        if self._task is None:
            self.start()
        claim = job.claim.ident if job.claim else None
        if claim is not None:
            if claim in self._in_flight:
                return [_in_flight()] * len(job.units)
            self._in_flight.add(claim)
        future: asyncio.Future[list[UnitResult]] = asyncio.get_running_loop().create_future()
        self._queue.append((job, future))
        self._wakeup.set()
        try:
            return await future
        finally:
            if claim is not None:
                self._in_flight.discard(claim)

    async def submit_all(self, jobs: list[Job]) -> list[list[UnitResult]]:
        """Queue several jobs at once (no idempotency claims: each job's own ids make it
        idempotent) so that they share a transaction, and wait until all have committed."""
        if any(job.claim is not None for job in jobs):
            raise ValueError("submit_all takes jobs without idempotency claims")
        if self._task is None:
            self.start()
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[list[UnitResult]]] = []
        for job in jobs:
            future: asyncio.Future[list[UnitResult]] = loop.create_future()
            self._queue.append((job, future))
            futures.append(future)
        self._wakeup.set()
        return list(await asyncio.gather(*futures))

    async def _run(self) -> None:
        await self._claim_slot()
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue:
                    await self._post(self._take())
                if self._stopping:
                    return
        finally:
            slot, self._slot = self._slot, None
            if slot is not None:
                await slot.release()

    async def _claim_slot(self) -> None:
        try:
            self._slot = await claim_slot(self.engine.db, HOT_ACCOUNT_SHARDS)
        except Exception:  # a slot only spreads row locks: without one, book on slot 0
            log.exception("could not claim a committer slot; using slot 0")
            return
        self.engine.slot = self._slot.slot

    def _take(self) -> list[tuple[Job, asyncio.Future[list[UnitResult]]]]:
        """As many queued jobs as fit in `max_units` (always at least one)."""
        taken, units = 0, 0
        for job, _ in self._queue:
            if taken and units + len(job.units) > self.max_units:
                break
            taken += 1
            units += len(job.units)
        batch = self._queue[:taken]
        del self._queue[:taken]
        return batch

    async def _post(self, batch: list[tuple[Job, asyncio.Future[list[UnitResult]]]]) -> None:
        try:
            results = await self.engine.post_jobs([job for job, _ in batch])
        except Exception as exc:  # the transaction rolled back: every waiter learns why
            log.exception("group commit of %d jobs failed", len(batch))
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches += 1
        self.jobs += len(batch)
        _count(results)
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # the waiter may have been cancelled (client went away)
                future.set_result(result)


def _count(results: list[list[UnitResult]]) -> None:
    """The batch in the metrics: one counter increment and one observation per transaction,
    whatever its size, and no look at each unit (ADR 0046: measured there)."""
    units = sum(map(len, results))
    metrics.POSTED_UNITS.inc(units)
    metrics.BATCH_UNITS.observe(units)


def _in_flight() -> UnitResult:
    return UnitResult(
        Status.FAILED,
        error=DomainError(
            ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT,
            "a request with this Idempotency-Key is still being processed",
        ),
    )
