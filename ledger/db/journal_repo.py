"""The journal logs' tables and the reads the sealer and the verifier make of what they log
(ADR 0050, 0059). Nothing here is on the posting path.

Two logs, each a `Log`: `TRANSFERS` (`journal_seals` over `transfers`) and `PERIODS`
(`period_seals` over `insurance_period_events`, the period state changes the triggers of
migration 0016 record). Each read takes the log it reads; the default is the transfers'.
A period change is named by its id `worker/fund/scheme/YYYY-MM/state` (a period takes each state
once: the triggers of migration 0001 allow only active -> withdrawn or transferred).

A seal row carries the leaves it appended as one blob (`encode_leaves`): per leaf, the transfer's
seq (8 bytes, big-endian), its leaf hash (32 bytes), the length of its id (2 bytes) and the id
(UTF-8). Positions follow: a seal of tree size n with k leaves holds leaves n-k .. n-1.

The sealer appends transfers in seq order, up to a *horizon*: a seq below which no transfer can
still appear. On SQLite it is the largest seq, read inside the sealer's write transaction (one
writer at a time: nothing is in flight). On PostgreSQL seqs are handed out before commit, so a
transaction still running may hold a lower seq than one already visible: `pg_horizon` reads the
sequence's last value, then waits until every transaction that had started by then has ended;
from then on, every transfer at or below that value is committed or never will be.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.db.engine import Database
from ledger.db.tables import insurance_period_events, journal_seals, period_seals, transfers

SEALER_LOCK = 7_311_016  # pg_advisory_xact_lock key: one sealer at a time across processes
PERIOD_SEALER_LOCK = 7_311_017  # the period log's sealer: beside the transfers' one
CHUNK = 5_000
HORIZON_WAIT_S = 5.0

# (seq, id, debit, credit, amount, currency, flags, pending id, reversal of, code,
#  contribution id, created at µs): a transfer in leaf order
TransferFields = tuple[int, str, int, int, int, str, int, str | None, str | None, str,
                       str | None, int]
_FIELDS = (transfers.c.seq, transfers.c.id, transfers.c.debit_account_id,
           transfers.c.credit_account_id, transfers.c.amount_minor, transfers.c.currency,
           transfers.c.flags, transfers.c.pending_id, transfers.c.reversal_of, transfers.c.code,
           transfers.c.contribution_id, transfers.c.created_at_us)


@dataclass(frozen=True, slots=True)
class SealRow:
    tree_size: int
    root_hash: bytes
    last_seq: int
    edge: bytes
    token: str
    sealed_at_us: int
    leaves: bytes = b""


@dataclass(frozen=True, slots=True)
class LeafRow:
    position: int
    transfer_seq: int
    transfer_id: str
    leaf_hash: bytes


def _fields(row: Any) -> TransferFields:
    return (int(row[0]), row[1], int(row[2]), int(row[3]), int(row[4]), row[5], int(row[6]),
            row[7], row[8], row[9], row[10], int(row[11]))


# (seq, change id, worker, fund, scheme, month (YYYYMM), kind, state, contribution id, at µs):
# a period state change in leaf order
PeriodFields = tuple[int, str, str, str, str, int, str, str, str, int]
_PERIOD_FIELDS = (insurance_period_events.c.seq, insurance_period_events.c.worker_id,
                  insurance_period_events.c.fund, insurance_period_events.c.scheme,
                  insurance_period_events.c.month, insurance_period_events.c.kind,
                  insurance_period_events.c.state, insurance_period_events.c.contribution_id,
                  insurance_period_events.c.at_us)


def period_change_id(worker_id: str, fund: str, scheme: str, month: int, state: str) -> str:
    return f"{worker_id}/{fund}/{scheme}/{month // 100:04d}-{month % 100:02d}/{state}"


def _period_fields(row: Any) -> PeriodFields:
    month = int(row[4])
    return (int(row[0]), period_change_id(row[1], row[2], row[3], month, row[6]), row[1], row[2],
            row[3], month, row[5], row[6], row[7], int(row[8]))


def _period_where(change_id: str) -> ColumnElement[bool] | None:
    parts = change_id.split("/")
    if len(parts) != 5 or len(parts[3]) != 7 or parts[3][4] != "-":
        return None
    try:
        month = int(parts[3][:4]) * 100 + int(parts[3][5:])
    except ValueError:
        return None
    e = insurance_period_events.c
    return and_(e.worker_id == parts[0], e.fund == parts[1], e.scheme == parts[2],
                e.month == month, e.state == parts[4])


@dataclass(frozen=True, slots=True)
class Log:
    """One Merkle log: its seals' table and the rows it logs, by seq. Fields are a tuple whose
    first two items are the seq and the id (a transfer's id, a period change's id)."""

    name: str  # transfers | periods (tree heads and proof documents say which)
    noun: str  # how the audit names an entry
    seals: Table
    source: Table
    columns: tuple[Any, ...]  # the source's columns, seq first
    convert: Callable[[Any], tuple[Any, ...]]
    where_id: Callable[[str], ColumnElement[bool] | None]
    lock_key: int

    @property
    def seq(self) -> Any:
        return self.source.c.seq

    @property
    def head(self) -> list[Any]:
        """A seal without its leaves (which may run to megabytes): what listing and sealing
        read."""
        return [c for c in self.seals.c if c.name != "leaves"]


TRANSFERS = Log("transfers", "transfer", journal_seals, transfers, _FIELDS, _fields,
                lambda ident: transfers.c.id == ident, SEALER_LOCK)
PERIODS = Log("periods", "period change", period_seals, insurance_period_events,
              _PERIOD_FIELDS, _period_fields, _period_where, PERIOD_SEALER_LOCK)


def _seal(row: Any) -> SealRow:
    leaves = row._mapping.get("leaves")
    return SealRow(int(row.tree_size), bytes(row.root_hash), int(row.last_seq), bytes(row.edge),
                   row.token, int(row.sealed_at_us), b"" if leaves is None else bytes(leaves))


def encode_leaves(leaves: Sequence[LeafRow]) -> bytes:
    parts = []
    for leaf in leaves:
        ident = leaf.transfer_id.encode()
        parts.append(leaf.transfer_seq.to_bytes(8, "big", signed=True) + leaf.leaf_hash
                     + len(ident).to_bytes(2, "big") + ident)
    return b"".join(parts)


def decode_leaves(seal: SealRow) -> list[LeafRow]:
    """The leaves a seal appended, with their positions. A blob that does not parse (altered)
    yields what parses up to there: the audit then finds the positions or the root wrong."""
    out: list[tuple[int, bytes, str]] = []
    blob, at = seal.leaves, 0
    while at + 42 <= len(blob):
        seq = int.from_bytes(blob[at:at + 8], "big", signed=True)
        leaf = blob[at + 8:at + 40]
        size = int.from_bytes(blob[at + 40:at + 42], "big")
        ident = blob[at + 42:at + 42 + size].decode(errors="replace")
        out.append((seq, leaf, ident))
        at += 42 + size
    first = seal.tree_size - len(out)
    return [LeafRow(first + n, seq, ident, leaf) for n, (seq, leaf, ident) in enumerate(out)]


class SealingTx:
    """The sealer's transaction: it alone appends to the log."""

    def __init__(self, conn: AsyncConnection, log: Log = TRANSFERS) -> None:
        self.conn = conn
        self.log = log

    async def last_seal(self) -> SealRow | None:
        row = (await self.conn.execute(select(*self.log.head).order_by(
            self.log.seals.c.tree_size.desc()).limit(1))).first()
        return None if row is None else _seal(row)

    async def max_seq(self) -> int:
        return int((await self.conn.execute(select(func.coalesce(
            func.max(self.log.seq), 0)))).scalar_one())

    async def transfers_between(self, after_seq: int, upto_seq: int, limit: int
                                ) -> list[tuple[Any, ...]]:
        """The log's entries (transfers, or period changes) in (after_seq, upto_seq]."""
        rows = await self.conn.execute(select(*self.log.columns).where(
            self.log.seq > after_seq, self.log.seq <= upto_seq).order_by(
                self.log.seq).limit(limit))
        return [self.log.convert(r) for r in rows]

    async def append(self, seal: SealRow) -> None:
        """One row per seal, its leaves in it: one write, however many entries it seals."""
        await self.conn.execute(insert(self.log.seals).values(
            tree_size=seal.tree_size, root_hash=seal.root_hash, last_seq=seal.last_seq,
            edge=seal.edge, leaves=seal.leaves, token=seal.token,
            sealed_at_us=seal.sealed_at_us))


@asynccontextmanager
async def sealing(db: Database, log: Log = TRANSFERS) -> AsyncIterator[SealingTx | None]:
    """A write transaction for the sealer, or None when another sealer holds the lock."""
    async with db.engine.begin() as conn:
        if db.is_postgres:
            got = (await conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                                      {"k": log.lock_key})).scalar_one()
            if not got:
                yield None
                return
        yield SealingTx(conn, log)


async def pg_horizon(db: Database, wait_s: float = HORIZON_WAIT_S, log: Log = TRANSFERS
                     ) -> int | None:
    """The largest seq handed out so far, once every transaction that was running when it was
    read has ended (None when one is still running after `wait_s`: try again later)."""
    async with db.engine.connect() as conn:
        last = (await conn.execute(text(
            "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence(:t, "
            "'seq')::regclass), 0)"), {"t": log.source.name})).scalar_one()
        # Read after the sequence: any transaction holding a seq <= last started before this.
        mark = (await conn.execute(text(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"))).scalar_one()
        await conn.rollback()
        deadline = time.monotonic() + wait_s
        while True:
            await conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            running = (await conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                "AND backend_type = 'client backend' AND datname = current_database() "
                "AND xact_start IS NOT NULL "
                "AND (extract(epoch FROM xact_start) * 1000000)::bigint <= :mark"),
                {"mark": mark})).scalar_one()
            await conn.rollback()
            if running == 0:
                return int(last)
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.01)


async def seals(db: Database, after_size: int, limit: int, with_leaves: bool = False,
                log: Log = TRANSFERS) -> list[SealRow]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(select(*(log.seals.c if with_leaves else log.head)).where(
            log.seals.c.tree_size > after_size).order_by(log.seals.c.tree_size).limit(limit))
        return [_seal(r) for r in rows]


async def seal_of_size(db: Database, tree_size: int, log: Log = TRANSFERS) -> SealRow | None:
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(*log.head).where(
            log.seals.c.tree_size == tree_size))).first()
        return None if row is None else _seal(row)


async def latest_seal(db: Database, log: Log = TRANSFERS) -> SealRow | None:
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(*log.head).order_by(
            log.seals.c.tree_size.desc()).limit(1))).first()
        return None if row is None else _seal(row)


async def leaf_hashes(db: Database, count: int, log: Log = TRANSFERS) -> list[bytes]:
    """The first `count` leaf hashes, in log order (what a proof is computed from)."""
    out: list[bytes] = []
    async for leaf in iter_leaves(db, log):
        if len(out) >= count:
            break
        out.append(leaf.leaf_hash)
    return out


async def leaf_of_transfer(db: Database, transfer_id: str, log: Log = TRANSFERS
                           ) -> LeafRow | None:
    """The leaf of the entry stored under `transfer_id` (None: not sealed yet, or none)."""
    seq = await seq_of_transfer(db, transfer_id, log)
    if seq is None:
        return None
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(log.seals).where(
            log.seals.c.last_seq >= seq).order_by(log.seals.c.tree_size).limit(1))).first()
    if row is None:
        return None
    return next((leaf for leaf in decode_leaves(_seal(row))
                 if leaf.transfer_seq == seq and leaf.transfer_id == transfer_id), None)


async def transfer_at(db: Database, seq: int, log: Log = TRANSFERS) -> tuple[Any, ...] | None:
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(*log.columns).where(log.seq == seq))).first()
    return None if row is None else log.convert(row)


async def every_seal(db: Database, log: Log = TRANSFERS) -> list[SealRow]:
    return await seals(db, -1, 10**9, log=log)


async def iter_leaves(db: Database, log: Log = TRANSFERS) -> AsyncIterator[LeafRow]:
    """Every leaf, in log order, seal after seal."""
    after = -1
    while True:
        batch = await seals(db, after, 100, with_leaves=True, log=log)
        for seal in batch:
            for leaf in decode_leaves(seal):
                yield leaf
        if len(batch) < 100:
            return
        after = batch[-1].tree_size


async def iter_transfers(db: Database, upto_seq: int, log: Log = TRANSFERS
                         ) -> AsyncIterator[tuple[Any, ...]]:
    """Every entry at or below `upto_seq`, in seq order (including any seq <= 0)."""
    async with db.engine.connect() as conn:
        after: int | None = None
        while True:
            query = select(*log.columns).where(log.seq <= upto_seq)
            if after is not None:
                query = query.where(log.seq > after)
            rows = (await conn.execute(query.order_by(log.seq).limit(CHUNK))).all()
            for r in rows:
                yield log.convert(r)
            if len(rows) < CHUNK:
                return
            after = int(rows[-1][0])


async def seq_of_transfer(db: Database, transfer_id: str, log: Log = TRANSFERS) -> int | None:
    """The seq of the entry named `transfer_id` (the first, should a forged one repeat it)."""
    where = log.where_id(transfer_id)
    if where is None:
        return None
    async with db.engine.connect() as conn:
        found = (await conn.execute(select(log.seq).where(where).order_by(log.seq).limit(
            1))).scalar_one_or_none()
    return None if found is None else int(found)


# (worker, fund, scheme, month, kind, state, contribution id, created at µs): a period as stored
PeriodRow = tuple[str, str, str, int, str, str, str, int]


async def every_period(db: Database) -> list[PeriodRow]:
    """Every insurance period as it is now (what the period log's audit compares)."""
    async with db.engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT worker_id, fund, scheme, month, kind, state, contribution_id, "
            "created_at_us FROM insurance_periods"))
        return [(r[0], r[1], r[2], int(r[3]), r[4], r[5], r[6], int(r[7])) for r in rows]
