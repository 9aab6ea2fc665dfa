"""Queries of payment channels outside the posting path: quotes, payments and their events of a
day, a payment's ledger legs, day files, obligations, and the balances of a channel's families.

Payments, their reversal or refund and the day's obligations are written by the posting engine
as side rows of the job that books their legs; this module reads them and writes the rest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.db.engine import Database
from ledger.db.ledger_store import TransferRecord, transfer_from_row
from ledger.db.tables import (
    accounts,
    channel_day_files,
    channel_obligations,
    channel_payment_events,
    channel_payments,
    channel_quotes,
    contributions,
    insurance_periods,
    transfers,
)

Row = dict[str, Any]


async def insert_quote(db: Database, row: Row) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(insert(channel_quotes).values(**row))


async def quote(db: Database, quote_id: str) -> Row | None:
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(channel_quotes).where(
            channel_quotes.c.id == quote_id))).first()
    return dict(row._mapping) if row else None


async def payment(db: Database, payment_id: str) -> Row | None:
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(channel_payments).where(
            channel_payments.c.id == payment_id))).first()
    return dict(row._mapping) if row else None


async def payments(db: Database, payment_ids: list[str]) -> dict[str, Row]:
    """Several payments' records by id, in one query (those that exist)."""
    if not payment_ids:
        return {}
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(channel_payments).where(
            channel_payments.c.id.in_(payment_ids)))).all()
    return {row.id: dict(row._mapping) for row in rows}


async def events(db: Database, payment_ids: list[str]) -> dict[str, Row]:
    """The reversal or refund of each of these payments that has one, in one query."""
    if not payment_ids:
        return {}
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(channel_payment_events).where(
            channel_payment_events.c.payment_id.in_(payment_ids)))).all()
    return {row.payment_id: dict(row._mapping) for row in rows}


async def event(db: Database, payment_id: str) -> Row | None:
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(channel_payment_events).where(
            channel_payment_events.c.payment_id == payment_id))).first()
    return dict(row._mapping) if row else None


async def payments_of_day(db: Database, channel: str, day: str) -> list[Row]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(channel_payments).where(
            channel_payments.c.channel == channel, channel_payments.c.day == day)
            .order_by(channel_payments.c.id))).all()
    return [dict(r._mapping) for r in rows]


async def events_of_day(db: Database, channel: str, day: str) -> list[Row]:
    """Reversals and refunds of the day, each with its payment's worker, fund and scheme."""
    e, p = channel_payment_events, channel_payments
    async with db.engine.connect() as conn:
        rows = (await conn.execute(
            select(e, p.c.channel_ref, p.c.worker_id, p.c.fund, p.c.scheme, p.c.wallet_currency,
                   p.c.home_currency, p.c.months, p.c.months_covered)
            .join(p, p.c.id == e.c.payment_id)
            .where(e.c.channel == channel, e.c.day == day).order_by(e.c.payment_id))).all()
    return [dict(r._mapping) for r in rows]


async def payment_legs(db: Database, payment_id: str) -> list[TransferRecord]:
    """The transfers a payment booked (not their reversals), in the order they were made."""
    prefix = f"chp/{payment_id}/"
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(transfers).where(
            transfers.c.id >= prefix, transfers.c.id < prefix[:-1] + "0",
            transfers.c.reversal_of.is_(None)).order_by(transfers.c.seq))).all()
    return [transfer_from_row(r._mapping) for r in rows]


async def withdraw_periods(db: Database, contribution_ids: Sequence[str]) -> int:
    """A reversed or refunded payment's months no longer count (one-way: active only)."""
    if not contribution_ids:
        return 0
    async with db.engine.begin() as conn:
        result = await conn.execute(update(insurance_periods).where(
            insurance_periods.c.contribution_id.in_(list(contribution_ids)),
            insurance_periods.c.state == "active").values(state="withdrawn"))
    return int(result.rowcount or 0)


async def supported_months(db: Database, worker_id: str, fund: str, scheme: str) -> int:
    """How many of the worker's contributions to a scheme the state has supported already."""
    async with db.engine.connect() as conn:
        found = (await conn.execute(select(func.count()).select_from(contributions).where(
            contributions.c.worker_id == worker_id, contributions.c.fund == fund,
            contributions.c.scheme == scheme,
            contributions.c.shares.like('%"government"%')))).scalar()
    return int(found or 0)


# -- day files and obligations -------------------------------------------------------------------


async def insert_day_file(db: Database, row: Row) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(insert(channel_day_files).values(**row))


async def day_files(db: Database, channel: str, day: str) -> list[Row]:
    """Every file received for a day, newest first."""
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(channel_day_files).where(
            channel_day_files.c.channel == channel, channel_day_files.c.day == day)
            .order_by(channel_day_files.c.id.desc()))).all()
    return [dict(r._mapping) for r in rows]


async def obligations_of_day(db: Database, channel: str, day: str) -> list[Row]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(channel_obligations).where(
            channel_obligations.c.channel == channel, channel_obligations.c.day == day)
            .order_by(channel_obligations.c.fund))).all()
    return [dict(r._mapping) for r in rows]


def _obligation(row: Any) -> tuple[str, str, str, int]:
    """(id, payer, payee, positive amount) in a window's terms: the channel owes the fund, or
    (a day of more refunds than payments) the fund owes the channel back."""
    participant = channel_participant(str(row.channel))
    amount = int(row.settlement_minor)
    if amount > 0:
        return (str(row.id), participant, str(row.fund), amount)
    return (str(row.id), str(row.fund), participant, -amount)


def channel_participant(channel: str) -> str:
    """A channel's name among a window's participants (funds keep their codes)."""
    return f"channel:{channel}"


async def window_obligations(db: Database, window_id: str) -> list[tuple[str, str, str, int]]:
    async with db.engine.connect() as conn:
        return await window_obligations_on(conn, window_id)


async def window_obligations_on(conn: AsyncConnection, window_id: str
                                ) -> list[tuple[str, str, str, int]]:
    """A window's channel obligations, read on a connection already open (the window's close
    takes them under its lock)."""
    rows = (await conn.execute(select(channel_obligations).where(
        channel_obligations.c.window_id == window_id).order_by(channel_obligations.c.id))).all()
    return [_obligation(r) for r in rows]


async def unassigned_obligations(db: Database, currency: str) -> int:
    async with db.engine.connect() as conn:
        found = (await conn.execute(select(func.count()).select_from(channel_obligations).where(
            channel_obligations.c.window_id.is_(None),
            channel_obligations.c.settlement_currency == currency))).scalar()
    return int(found or 0)


async def ledger_obligations(db: Database, window_id: str) -> list[tuple[str, str, int]]:
    """The ledger's record of a window's channel obligations: each one's posted transfer, as
    (participant debited, participant credited, amount) read from the position accounts."""
    debit, credit = accounts.alias("debit"), accounts.alias("credit")
    async with db.engine.connect() as conn:
        rows = (await conn.execute(
            select(transfers.c.amount_minor, debit.c.key, debit.c.fund, credit.c.key,
                   credit.c.fund)
            .join(channel_obligations, channel_obligations.c.id == transfers.c.id)
            .join(debit, debit.c.id == transfers.c.debit_account_id)
            .join(credit, credit.c.id == transfers.c.credit_account_id)
            .where(channel_obligations.c.window_id == window_id))).all()
    return [(_participant(str(r[1]), r[2]), _participant(str(r[3]), r[4]), int(r[0]))
            for r in rows]


def _participant(key: str, fund: str | None) -> str:
    if key.startswith("channel/"):
        return channel_participant(key.split("/")[1])
    return str(fund)


async def window_channel_views(db: Database, window_id: str) -> dict[str, int]:
    """Per channel participant, its position from its reconciled days' obligations (what its
    day files led to): received - paid, like a fund's."""
    out: dict[str, int] = {}
    for _, payer, payee, amount in await window_obligations(db, window_id):
        out[payer] = out.get(payer, 0) - amount
        out[payee] = out.get(payee, 0) + amount
    return {k: v for k, v in out.items() if k.startswith("channel:")}


# -- balances ------------------------------------------------------------------------------------


async def family_balances(db: Database, channel: str) -> list[Row]:
    """Every account of a channel (its families' sub-accounts), to be summed per family."""
    prefix = f"channel/{channel}/"
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(
            accounts.c.key, accounts.c.currency, accounts.c.fund, accounts.c.debits_posted,
            accounts.c.credits_posted, accounts.c.debits_pending, accounts.c.credits_pending)
            .where(and_(accounts.c.key >= prefix, accounts.c.key < prefix[:-1] + "0"))
            .order_by(accounts.c.key))).all()
    return [dict(r._mapping) for r in rows]


def months_of(text: str) -> list[str]:
    value: list[str] = json.loads(text)
    return value

