"""Which database serves a read: the primary, or a streaming-replication hot standby that has
replayed everything the reader must see (read-your-writes; ADR 0058).

Owns the choice and its bookkeeping:

- `ReadGraph`: the services a routed read uses (worker, statement, claims, accounts, monitoring
  releases), built twice by the composition root: once on the primary, once on the standby;
- marks (CLMTV_DATABASE_READ_AFTER=own-writes): after a write, the primary's WAL position is
  remembered under the writer's key (`principal:NAME`) and the key of each worker the write
  named (`worker:ID`), so that a worker's statement right after a channel's payment for them
  waits for that payment, as does the channel's own next read. At most READ_MARKS_MAX keys: the
  oldest are folded into a floor that every read must reach (never forgotten, only made
  coarser); once the standby is seen past every mark, they are all dropped;
- with `all_writes` (all-writes, the default) every read waits for the primary's write position
  when it began, asked beside the standby's: every process's writes are seen, for one more round
  trip to the primary per read, and no write needs a mark;
- the choice: no mark to wait for, or a mark the standby has replayed: the standby. Otherwise the
  standby's replay position is polled until it reaches the mark or `wait_s` runs out (then the
  primary). A standby that does not answer sends every read to the primary for STANDBY_RETRY_S,
  then is tried again; a read that fails on the standby half-way is run again on the primary.

Marks live in this process: with `own-writes`, several processes behind one address each know
only their own writes (ADR 0058 says when that is enough). Logs name no worker and no
principal; `clmtv_reads_total{source,reason}` counts every routed read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from ledger import metrics
from ledger.db.engine import Database
from ledger.db.replica import replayed_position, standby_unavailable, written_position
from ledger.limits import READ_MARKS_MAX, READ_POLL_S, STANDBY_RETRY_S
from ledger.services.claimables import ClaimablesService
from ledger.services.statements import StatementService
from ledger.services.stats import StatsService
from ledger.services.transfers import TransferService
from ledger.services.workers import WorkerService

LOG = logging.getLogger("clmtv.reads")
T = TypeVar("T")

PRIMARY = "primary"
STANDBY = "standby"


@dataclass(frozen=True, slots=True)
class ReadGraph:
    """The services behind the routed reads, all on one database."""

    db: Database
    workers: WorkerService
    statements: StatementService
    claimables: ClaimablesService
    transfers: TransferService
    stats: StatsService


@dataclass(frozen=True, slots=True)
class Route:
    graph: ReadGraph
    source: str  # PRIMARY or STANDBY
    reason: str  # why: a label of clmtv_reads_total


def principal_key(name: str) -> str:
    return f"principal:{name}"


def worker_key(worker_id: str) -> str:
    return f"worker:{worker_id}"


class ReadRouter:
    def __init__(self, primary: ReadGraph, standby: ReadGraph | None, wait_s: float, *,
                 all_writes: bool = False, marks_max: int = READ_MARKS_MAX,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.primary = primary
        self.standby = standby
        self.wait_s = wait_s
        # Every read waits for the primary's position when it began, not only for the marks.
        self.all_writes = all_writes
        self.marks_max = marks_max
        self.clock = clock
        self._marks: OrderedDict[str, int] = OrderedDict()
        self._floor = 0  # folded marks: every read waits for at least this
        self._highest = 0  # the newest mark: once replayed, no mark is needed any more
        self._down_until = 0.0
        self._lagging = False  # for logging the change only, not every read

    @property
    def enabled(self) -> bool:
        return self.standby is not None

    async def close(self) -> None:
        if self.standby is not None:
            await self.standby.db.dispose()

    @property
    def marks_writes(self) -> bool:
        """Whether writes must be marked: with a standby, unless every read asks the primary's
        position anyway (all-writes: that position is past every write answered before)."""
        return self.standby is not None and not self.all_writes

    async def note_write(self, keys: Iterable[str]) -> int | None:
        """After a write has committed: remember the primary's position under each key (the
        writer, the workers it named). None (and nothing asked) when marks are not needed."""
        keys = tuple(keys)
        if not self.marks_writes or not keys:
            return None
        position = await written_position(self.primary.db)
        for key in keys:
            self._marks[key] = max(position, self._marks.pop(key, 0))
        while len(self._marks) > self.marks_max:
            _, folded = self._marks.popitem(last=False)
            self._floor = max(self._floor, folded)
        self._highest = max(self._highest, position)
        return position

    def required(self, keys: Iterable[str]) -> int:
        """The position a read for `keys` must see."""
        return max([self._floor, *(self._marks.get(k, 0) for k in keys)])

    async def route(self, keys: Iterable[str]) -> Route:
        """Where a read for `keys` goes now (see the module's docstring)."""
        standby = self.standby
        if standby is None:
            return Route(self.primary, PRIMARY, "no_standby")
        if self.clock() < self._down_until:
            return Route(self.primary, PRIMARY, "down")
        needed = self.required(keys)
        if needed == 0 and not self.all_writes:
            return Route(standby, STANDBY, "no_write")
        deadline = self.clock() + self.wait_s
        waited = False
        while True:
            if self.all_writes and not waited:
                # Both positions at once: one round trip's time, not two. The primary's failure
                # is the read's (it would fail there too); the standby's sends it to the primary.
                written, answer = await asyncio.gather(
                    written_position(self.primary.db), self._replayed(standby),
                    return_exceptions=True)
                if isinstance(written, BaseException):
                    raise written
                needed = max(needed, written)
            else:
                answer = await self._replayed(standby)
            if isinstance(answer, BaseException):
                self._mark_down(answer)
                return Route(self.primary, PRIMARY, "down")
            replayed = answer
            self._seen(replayed)
            if replayed >= needed:
                self._lag_over()
                return Route(standby, STANDBY, "waited" if waited else "replayed")
            remaining = deadline - self.clock()
            if remaining <= 0:
                self._lag_begins(needed - replayed)
                return Route(self.primary, PRIMARY, "lagging")
            waited = True
            await asyncio.sleep(min(READ_POLL_S, remaining))

    async def status(self) -> dict[str, object] | None:
        """For the operator's readiness answer: does the standby answer, and how many bytes of
        WAL is it behind the primary now (None without a standby). A standby that does not
        answer leaves the hub ready: its reads go to the primary."""
        if self.standby is None:
            return None
        written = await written_position(self.primary.db)
        replayed = await self._replayed(self.standby)
        mode = "all-writes" if self.all_writes else "own-writes"
        if isinstance(replayed, BaseException):
            return {"answers": False, "reason": type(replayed).__name__, "read_after": mode}
        return {"answers": True, "behind_bytes": max(0, written - replayed), "read_after": mode}

    @staticmethod
    async def _replayed(standby: ReadGraph) -> int | BaseException:
        """The standby's replay position, or the failure that says it cannot answer."""
        try:
            return await replayed_position(standby.db)
        except Exception as error:
            if not standby_unavailable(error):
                raise
            return error

    async def read(self, keys: Iterable[str], run: Callable[[ReadGraph], Awaitable[T]]
                   ) -> tuple[T, str]:
        """`run` on the database `route` chooses; again on the primary if the standby fails
        under it. Returns the result and which database served it."""
        keys = tuple(keys)
        chosen = await self.route(keys)
        if chosen.source == STANDBY:
            try:
                found = await run(chosen.graph)
            except Exception as error:
                if not standby_unavailable(error):
                    raise
                self._mark_down(error)
                chosen = Route(self.primary, PRIMARY, "failed")
            else:
                self._count(chosen)
                return found, STANDBY
        found = await run(chosen.graph)
        self._count(chosen)
        return found, PRIMARY

    def _count(self, chosen: Route) -> None:
        if self.standby is not None:
            metrics.READS.labels(chosen.source, chosen.reason).inc()

    def _seen(self, replayed: int) -> None:
        """The standby has replayed up to `replayed`: marks at or under it are met for good."""
        if replayed >= self._highest and (self._marks or self._floor):
            self._marks.clear()
            self._floor = 0

    def _mark_down(self, error: BaseException) -> None:
        if self.clock() >= self._down_until:
            # The class of the failure only: a driver's message may quote a query's values.
            LOG.warning("the standby did not answer (%s); reads go to the primary for %.0f s",
                        type(error).__name__, STANDBY_RETRY_S)
        self._down_until = self.clock() + STANDBY_RETRY_S

    def _lag_begins(self, behind_bytes: int) -> None:
        if not self._lagging:
            self._lagging = True
            LOG.warning("the standby is %d bytes of WAL behind a recent write after %.3f s; "
                        "reads that must see a write go to the primary until it catches up",
                        behind_bytes, self.wait_s)

    def _lag_over(self) -> None:
        if self._lagging:
            self._lagging = False
            LOG.info("the standby has caught up; reads go to it again")
